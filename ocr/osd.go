package ocr

// Orientation detection through Tesseract's C API. gosseract v2.4.1 has no
// binding for TessBaseAPI::DetectOrientationScript (and no way to read the
// result of page segmentation mode 0), so this file keeps its own small
// TessBaseAPI loaded with osd.traineddata, fed raw grey pixels (no
// encoding).

// #cgo LDFLAGS: -ltesseract -lleptonica
// #include <stdlib.h>
// #include <leptonica/allheaders.h>
// #include <tesseract/capi.h>
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// errNoOrientation: orientation detection found too little text to judge.
var errNoOrientation = errors.New("ocr: orientation detection found too little text")

// osdDetector is one TessBaseAPI initialised for orientation and script
// detection. Like Engine, it is used by one goroutine at a time.
type osdDetector struct {
	api *C.TessBaseAPI
}

func newOSDDetector(tessdataPrefix string) (*osdDetector, error) {
	api := C.TessBaseAPICreate()
	if api == nil {
		return nil, errors.New("ocr: create Tesseract instance for orientation detection")
	}
	var prefix *C.char
	if tessdataPrefix != "" {
		prefix = C.CString(tessdataPrefix)
		defer C.free(unsafe.Pointer(prefix))
	}
	lang := C.CString("osd")
	defer C.free(unsafe.Pointer(lang))
	if rc := C.TessBaseAPIInit2(api, prefix, lang, C.OEM_TESSERACT_ONLY); rc != 0 {
		C.TessBaseAPIDelete(api)
		return nil, fmt.Errorf("ocr: initialise orientation detection (is osd.traineddata installed?): Tesseract code %d", int(rc))
	}
	return &osdDetector{api: api}, nil
}

// detect returns the clockwise rotation, in degrees (0, 90, 180 or 270),
// that turns g upright, and Tesseract's confidence in it (about 0..20+; below
// ~1 is a guess). buf is scratch space for the encoded page, returned for
// reuse.
func (d *osdDetector) detect(g *image.Gray, dpi int, buf []byte) (rotate int, conf float64, _ []byte, err error) {
	if g.Rect.Empty() {
		return 0, 0, buf, errors.New("ocr: orientation detection on an empty image")
	}
	// Orientation detection takes the resolution from the image itself, not
	// from SetSourceResolution (it would assume 70 dpi and scale its line
	// and picture finding wrongly), so build a leptonica image that carries
	// it. Leptonica reads BMP from memory in a few ms.
	buf = encodeBMP(buf, g, dpi)
	pix := C.pixReadMemBmp((*C.l_uint8)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if pix == nil {
		return 0, 0, buf, errors.New("ocr: orientation detection: leptonica could not read the page")
	}
	defer C.pixDestroy(&pix)
	C.pixSetResolution(pix, C.l_int32(dpi), C.l_int32(dpi))
	// Tesseract takes its own reference to pix.
	C.TessBaseAPISetImage2(d.api, pix)
	defer C.TessBaseAPIClear(d.api)
	var deg C.int
	var oconf C.float
	// A nil script name pointer is allowed and avoids any question of who
	// owns the string.
	if C.TessBaseAPIDetectOrientationScript(d.api, &deg, &oconf, nil, nil) == 0 {
		return 0, 0, buf, errNoOrientation
	}
	// Tesseract reports how far the page was turned clockwise (measured:
	// a page turned by 90 degrees clockwise gives 90); undoing it is the
	// rest of the full turn.
	return (360 - int(deg)%360) % 360, float64(oconf), buf, nil
}

func (d *osdDetector) close() {
	if d.api != nil {
		C.TessBaseAPIEnd(d.api)
		C.TessBaseAPIDelete(d.api)
		d.api = nil
	}
}
