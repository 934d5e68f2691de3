// Package fastjpeg encodes and decodes greyscale JPEG with libjpeg-turbo,
// through leptonica (which the OCR engine links anyway). For a 300-dpi
// Letter page it is several times faster than image/jpeg, and every page
// of every batch goes through both: see the benchmarks.
package fastjpeg

// #cgo LDFLAGS: -lleptonica
// #include <stdlib.h>
// #include <leptonica/allheaders.h>
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// maxPixels bounds what Decode allocates; callers check dimensions first
// (image.DecodeConfig) against their own, lower, limits.
const maxPixels = 400_000_000

// Encode writes g as a baseline JPEG of the given quality (1..100) with
// its resolution set to dpi.
func Encode(g *image.Gray, quality, dpi int) ([]byte, error) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w <= 0 || h <= 0 {
		return nil, errors.New("fastjpeg: empty image")
	}
	pix := C.pixCreateNoInit(C.l_int32(w), C.l_int32(h), 8)
	if pix == nil {
		return nil, fmt.Errorf("fastjpeg: allocate %dx%d image", w, h)
	}
	defer C.pixDestroy(&pix)
	data := C.pixGetData(pix)
	wpl := int(C.pixGetWpl(pix))
	dst := unsafe.Slice((*byte)(unsafe.Pointer(data)), wpl*4*h)
	for y := 0; y < h; y++ {
		row := g.Pix[(y)*g.Stride : y*g.Stride+w]
		copy(dst[y*wpl*4:], row)
	}
	// Leptonica keeps pixels in 32-bit words, most significant byte first:
	// turn the natural byte order just copied into its own.
	C.pixEndianByteSwap(pix)
	if dpi > 0 {
		C.pixSetResolution(pix, C.l_int32(dpi), C.l_int32(dpi))
	}
	var out *C.l_uint8
	var size C.size_t
	if C.pixWriteMemJpeg(&out, &size, pix, C.l_int32(quality), 0) != 0 || out == nil {
		return nil, errors.New("fastjpeg: encode failed")
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(size)), nil
}

// Decode reads a JPEG into a grey image (colour is converted to luminance)
// and returns its resolution in dots per inch, 0 when the file has none.
func Decode(b []byte) (*image.Gray, int, error) {
	if len(b) == 0 {
		return nil, 0, errors.New("fastjpeg: no data")
	}
	var warnings C.l_int32
	pix := C.pixReadMemJpeg((*C.l_uint8)(unsafe.Pointer(&b[0])), C.size_t(len(b)), 0, 1, &warnings, 0)
	if pix == nil {
		return nil, 0, errors.New("fastjpeg: not a readable JPEG")
	}
	defer C.pixDestroy(&pix)
	if warnings != 0 {
		// libjpeg fills a truncated or damaged stream with grey and warns:
		// for medical records that is a broken file, not an image.
		return nil, 0, errors.New("fastjpeg: damaged or truncated JPEG data")
	}
	switch C.pixGetDepth(pix) {
	case 8:
	case 32:
		g := C.pixConvertRGBToLuminance(pix)
		if g == nil {
			return nil, 0, errors.New("fastjpeg: convert colour to grey")
		}
		C.pixDestroy(&pix)
		pix = g
	default:
		return nil, 0, fmt.Errorf("fastjpeg: unexpected depth %d", C.pixGetDepth(pix))
	}
	w, h := int(C.pixGetWidth(pix)), int(C.pixGetHeight(pix))
	if int64(w)*int64(h) > maxPixels {
		return nil, 0, fmt.Errorf("fastjpeg: %dx%d image too large", w, h)
	}
	C.pixEndianByteSwap(pix)
	wpl := int(C.pixGetWpl(pix))
	src := unsafe.Slice((*byte)(unsafe.Pointer(C.pixGetData(pix))), wpl*4*h)
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		copy(g.Pix[y*g.Stride:y*g.Stride+w], src[y*wpl*4:])
	}
	return g, int(C.pixGetXRes(pix)), nil
}
