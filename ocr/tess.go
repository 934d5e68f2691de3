package ocr

// Recognition through Tesseract's C API, as osd.go does for orientation.
// gosseract v2.4.1 leaks every word string Tesseract returns and the result
// iterator of every page (issue #124), keeps the last page's results and
// image until the next page, and takes images only as encoded bytes that
// leptonica decodes again. Here the grey pixels go to Tesseract as they
// are (TessBaseAPISetImage copies them once), every string and iterator is
// freed, and the page's data is cleared as soon as its words are read.

// #cgo LDFLAGS: -ltesseract -lleptonica
// #include <stdlib.h>
// #include <malloc.h>
// #include <tesseract/capi.h>
//
// // One arena per two cores at most: Tesseract allocates and frees tens
// // of megabytes per page, from whichever OS thread cgo runs on, and with
// // glibc's default of 8 arenas per core the freed memory stays spread
// // over many arenas instead of being reused.
// static void paperchart_limit_arenas(void) { mallopt(M_ARENA_MAX, 2); }
import "C"

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"unsafe"
)

func init() { C.paperchart_limit_arenas() }

// tessAPI is one TessBaseAPI initialised for recognition. Like Engine, it
// is used by one goroutine at a time.
type tessAPI struct {
	api *C.TessBaseAPI
}

// newTessAPI initialises Tesseract for langs (joined with "+") with vars
// set at initialisation (so that debug output is silenced from the start).
func newTessAPI(tessdataPrefix, langs string, vars map[string]string) (*tessAPI, error) {
	api := C.TessBaseAPICreate()
	if api == nil {
		return nil, errors.New("ocr: create Tesseract instance")
	}
	var prefix *C.char
	if tessdataPrefix != "" {
		prefix = C.CString(tessdataPrefix)
		defer C.free(unsafe.Pointer(prefix))
	}
	lang := C.CString(langs)
	defer C.free(unsafe.Pointer(lang))
	n := len(vars)
	names := (**C.char)(C.malloc(C.size_t(max(n, 1)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	values := (**C.char)(C.malloc(C.size_t(max(n, 1)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(names))
	defer C.free(unsafe.Pointer(values))
	ns := unsafe.Slice(names, max(n, 1))
	vs := unsafe.Slice(values, max(n, 1))
	i := 0
	for k, v := range vars {
		ns[i], vs[i] = C.CString(k), C.CString(v)
		defer C.free(unsafe.Pointer(ns[i]))
		defer C.free(unsafe.Pointer(vs[i]))
		i++
	}
	if rc := C.TessBaseAPIInit4(api, prefix, lang, C.OEM_DEFAULT, nil, 0, names, values, C.size_t(n), C.FALSE); rc != 0 {
		C.TessBaseAPIDelete(api)
		return nil, fmt.Errorf("ocr: initialise Tesseract with languages %s (is its traineddata installed?): Tesseract code %d", langs, int(rc))
	}
	// Fully automatic segmentation, as the tesseract command line does
	// (the API's default is a single block).
	C.TessBaseAPISetPageSegMode(api, C.PSM_AUTO)
	return &tessAPI{api: api}, nil
}

// recognize runs one recognition of g scanned at dpi and returns its words
// in reading order. Tesseract's copy of the page and its results are
// cleared before it returns.
func (t *tessAPI) recognize(g *image.Gray, dpi int) ([]Word, error) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w == 0 || h == 0 {
		return nil, errors.New("ocr: recognise an empty image")
	}
	C.TessBaseAPISetImage(t.api, (*C.uchar)(unsafe.Pointer(&g.Pix[0])), C.int(w), C.int(h), 1, C.int(g.Stride))
	defer C.TessBaseAPIClear(t.api)
	C.TessBaseAPISetSourceResolution(t.api, C.int(dpi))
	if C.TessBaseAPIRecognize(t.api, nil) != 0 {
		return nil, errors.New("ocr: Tesseract could not recognise the page")
	}
	rit := C.TessBaseAPIGetIterator(t.api)
	if rit == nil {
		return []Word{}, nil // nothing found on the page
	}
	defer C.TessResultIteratorDelete(rit)
	pit := C.TessResultIteratorGetPageIterator(rit) // a view of rit, not to be freed
	words := make([]Word, 0, 256)
	block, par, line := 0, 0, 0
	for ok := true; ok; ok = C.TessResultIteratorNext(rit, C.RIL_WORD) != 0 {
		if C.TessPageIteratorIsAtBeginningOf(pit, C.RIL_BLOCK) != 0 {
			block, par, line = block+1, 0, 0
		}
		if C.TessPageIteratorIsAtBeginningOf(pit, C.RIL_PARA) != 0 {
			par, line = par+1, 0
		}
		if C.TessPageIteratorIsAtBeginningOf(pit, C.RIL_TEXTLINE) != 0 {
			line++
		}
		ctext := C.TessResultIteratorGetUTF8Text(rit, C.RIL_WORD)
		if ctext == nil {
			continue
		}
		text := C.GoString(ctext)
		C.TessDeleteText(ctext)
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		var x0, y0, x1, y1 C.int
		C.TessPageIteratorBoundingBox(pit, C.RIL_WORD, &x0, &y0, &x1, &y1)
		words = append(words, Word{
			Text: text, Confidence: float64(C.TessResultIteratorConfidence(rit, C.RIL_WORD)),
			X0: int(x0), Y0: int(y0), X1: int(x1), Y1: int(y1),
			Block: block, Par: max(par, 1), Line: max(line, 1),
		})
	}
	return words, nil
}

func (t *tessAPI) close() {
	if t.api != nil {
		C.TessBaseAPIEnd(t.api)
		C.TessBaseAPIDelete(t.api)
		t.api = nil
	}
}

// trimMemory hands memory malloc holds free back to the system: a page's
// images and Tesseract's page data are tens of megabytes, freed at once,
// and glibc otherwise keeps them in its arenas between pages.
func trimMemory() { C.malloc_trim(0) }
