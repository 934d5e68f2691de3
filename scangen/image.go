package scangen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image/jpeg"
	"image/png"
	"io"
)

// This file owns the single-page JPEG and PNG writers. Both record the DPI:
// a JFIF APP0 segment in JPEG, a pHYs chunk in PNG (Go's encoders write
// neither).

type singleImageWriter struct {
	w       io.Writer
	format  Format
	quality int
	written bool
}

func (s *singleImageWriter) encode(pg *pageImage) (any, error) {
	var buf bytes.Buffer
	if s.format == FormatJPEG {
		if err := jpeg.Encode(&buf, pg.img, &jpeg.Options{Quality: s.quality}); err != nil {
			return nil, err
		}
		return withJFIF(buf.Bytes(), pg.dpi), nil
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, pg.img); err != nil {
		return nil, err
	}
	return withPHYs(buf.Bytes(), pg.dpi), nil
}

func (s *singleImageWriter) write(enc any) error {
	if s.written {
		return errors.New("scangen: a " + string(s.format) + " file holds one page")
	}
	s.written = true
	_, err := s.w.Write(enc.([]byte))
	return err
}

func (s *singleImageWriter) finish() error { return nil }

// withJFIF inserts a JFIF APP0 segment with the density in dots per inch
// right after the start-of-image marker.
func withJFIF(j []byte, dpi int) []byte {
	seg := []byte{0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(dpi))
	seg = binary.BigEndian.AppendUint16(seg, uint16(dpi))
	seg = append(seg, 0, 0) // no thumbnail
	out := make([]byte, 0, len(j)+len(seg))
	out = append(out, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// withPHYs inserts a pHYs chunk (pixels per metre) after the IHDR chunk,
// which always ends at byte 33.
func withPHYs(p []byte, dpi int) []byte {
	ppm := uint32(float64(dpi)/0.0254 + 0.5)
	body := []byte("pHYs")
	body = binary.BigEndian.AppendUint32(body, ppm)
	body = binary.BigEndian.AppendUint32(body, ppm)
	body = append(body, 1) // unit: metre
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(body)-4))
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(body))
	out := make([]byte, 0, len(p)+len(chunk))
	out = append(out, p[:33]...)
	out = append(out, chunk...)
	return append(out, p[33:]...)
}
