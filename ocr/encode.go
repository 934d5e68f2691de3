package ocr

import (
	"encoding/binary"
	"image"
	"strconv"
)

// gosseract hands images to Tesseract only as encoded bytes, which
// leptonica decodes (pixReadMem). Measured on a 300-dpi Letter page
// (BenchmarkEncode, BenchmarkHandOff: encode plus leptonica's decode):
// PNG 93-157 ms to encode, 146-239 ms in all; binary PGM 0.7 ms to encode
// but 132 ms in all (leptonica reads PNM from memory a byte at a time);
// 8-bit BMP 1.5 ms to encode, 5.5 ms in all, and it carries the
// resolution. So pages go to Tesseract as BMP.

// encodePGM appends g as binary PGM to buf[:0] and returns it, reusing
// buf's storage when large enough.
func encodePGM(buf []byte, g *image.Gray) []byte {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	buf = buf[:0]
	buf = append(buf, "P5\n"...)
	buf = strconv.AppendInt(buf, int64(w), 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(h), 10)
	buf = append(buf, "\n255\n"...)
	if g.Stride == w {
		return append(buf, g.Pix[:w*h]...)
	}
	for y := 0; y < h; y++ {
		buf = append(buf, g.Pix[y*g.Stride:y*g.Stride+w]...)
	}
	return buf
}

// encodeBMP appends g as an 8-bit greyscale-palette BMP with its
// resolution to buf[:0] and returns it.
func encodeBMP(buf []byte, g *image.Gray, dpi int) []byte {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	rowLen := (w + 3) &^ 3
	const headers = 14 + 40 + 256*4
	size := headers + rowLen*h
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	le := binary.LittleEndian
	copy(buf, "BM")
	le.PutUint32(buf[2:], uint32(size))
	le.PutUint32(buf[6:], 0)
	le.PutUint32(buf[10:], headers)
	le.PutUint32(buf[14:], 40)
	le.PutUint32(buf[18:], uint32(w))
	le.PutUint32(buf[22:], uint32(h)) // positive: rows stored bottom up
	le.PutUint16(buf[26:], 1)
	le.PutUint16(buf[28:], 8)
	le.PutUint32(buf[30:], 0) // BI_RGB
	le.PutUint32(buf[34:], uint32(rowLen*h))
	ppm := uint32(float64(dpi)/0.0254 + 0.5)
	le.PutUint32(buf[38:], ppm)
	le.PutUint32(buf[42:], ppm)
	le.PutUint32(buf[46:], 256)
	le.PutUint32(buf[50:], 0)
	for i := range 256 {
		o := 54 + 4*i
		buf[o], buf[o+1], buf[o+2], buf[o+3] = byte(i), byte(i), byte(i), 0
	}
	for y := 0; y < h; y++ {
		d := buf[headers+(h-1-y)*rowLen:]
		n := copy(d[:w], g.Pix[y*g.Stride:y*g.Stride+w])
		clear(d[n:rowLen])
	}
	return buf
}
