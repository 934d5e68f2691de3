package split

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
)

// runJPEG checks a JPEG file and copies it unchanged as the single page.
func runJPEG(ctx context.Context, f *os.File, size int64, outDir string, lim Limits) ([]PageSource, error) {
	cfg, err := jpeg.DecodeConfig(io.NewSectionReader(f, 0, size))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, reject(CodeTruncated, "The JPEG image is incomplete (it was cut off while being copied or saved); copy or scan it again.", err)
		}
		return nil, reject(CodeCorrupt, "The JPEG image is damaged and cannot be read; scan the paper again.", err)
	}
	if err := checkPixels(int64(cfg.Width), int64(cfg.Height), "JPEG image", lim); err != nil {
		return nil, err
	}
	meta, sos, err := jpegMeta(f, size)
	if err != nil {
		return nil, reject(CodeCorrupt, "The JPEG image is damaged and cannot be read; scan the paper again.", err)
	}
	// Entropy-coded data never holds 0xFF 0xD9, so an end-of-image marker
	// after the first scan shows the file is complete.
	from := max(sos, size-(1<<20))
	tail := make([]byte, size-from)
	if _, err := f.ReadAt(tail, from); err != nil && err != io.EOF {
		return nil, fmt.Errorf("split: read JPEG: %w", err)
	}
	if !bytes.Contains(tail, []byte{0xFF, 0xD9}) {
		return nil, reject(CodeTruncated, "The JPEG image is incomplete (it was cut off while being copied or saved); copy or scan it again.", errors.New("no end-of-image marker"))
	}
	ps := PageSource{No: 1, Kind: KindImage, DPI: meta.dpi, Rotate: meta.rotate, Width: float64(cfg.Width), Height: float64(cfg.Height)}
	if outDir == "" {
		return []PageSource{ps}, nil
	}
	ps.Path = filepath.Join(outDir, "page-00001.jpg")
	if err := writeFile(ps.Path, io.NewSectionReader(f, 0, size)); err != nil {
		return nil, fmt.Errorf("split: write JPEG page: %w", err)
	}
	return []PageSource{ps}, ctx.Err()
}

type imageMeta struct {
	dpi    float64
	rotate int
}

// jpegMeta reads resolution (JFIF density or EXIF) and EXIF orientation from
// the segments before the first scan, and returns the scan's offset.
func jpegMeta(r io.ReaderAt, size int64) (imageMeta, int64, error) {
	var m imageMeta
	off := int64(2)
	for off+4 <= size {
		var hdr [4]byte
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return m, 0, err
		}
		if hdr[0] != 0xFF {
			return m, 0, fmt.Errorf("no JPEG marker at %d", off)
		}
		marker := hdr[1]
		if marker == 0xFF { // fill byte
			off++
			continue
		}
		if marker == 0x01 || marker >= 0xD0 && marker <= 0xD8 {
			off += 2
			continue
		}
		n := int64(binary.BigEndian.Uint16(hdr[2:]))
		if n < 2 || off+2+n > size {
			return m, 0, fmt.Errorf("JPEG segment at %d runs past the end: %w", off, io.ErrUnexpectedEOF)
		}
		if marker == 0xDA || marker == 0xD9 {
			return m, off, nil
		}
		if (marker == 0xE0 || marker == 0xE1) && n <= 1<<16 {
			seg := make([]byte, n-2)
			if _, err := r.ReadAt(seg, off+4); err != nil {
				return m, 0, err
			}
			switch {
			case marker == 0xE0 && len(seg) >= 12 && string(seg[:5]) == "JFIF\x00":
				x := float64(binary.BigEndian.Uint16(seg[8:]))
				switch seg[7] {
				case 1:
					m.dpi = x
				case 2:
					m.dpi = x * 2.54
				}
			case marker == 0xE1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00":
				exif := bytes.NewReader(seg[6:])
				if bo, ifds, err := readIFDs(exif, int64(len(seg)-6), 1); err == nil && len(ifds) > 0 {
					m.rotate = orientationRotate(ifds[0].first(bo, tagOrientation, 1))
					if m.dpi == 0 {
						dpi := ifds[0].rational(bo, tagXResolution)
						switch ifds[0].first(bo, tagResolutionUnit, 2) {
						case 2:
							m.dpi = dpi
						case 3:
							m.dpi = dpi * 2.54
						}
					}
				}
			}
		}
		off += 2 + n
	}
	return m, 0, fmt.Errorf("no image data: %w", io.ErrUnexpectedEOF)
}

// runPNG walks a PNG's chunks (without reading image data), checks its size
// and completeness, and copies it unchanged as the single page.
func runPNG(ctx context.Context, f *os.File, size int64, outDir string, lim Limits) ([]PageSource, error) {
	truncated := reject(CodeTruncated, "The PNG image is incomplete (it was cut off while being copied or saved); copy or scan it again.", io.ErrUnexpectedEOF)
	corrupt := func(why string) error {
		return reject(CodeCorrupt, "The PNG image is damaged and cannot be read; scan the paper again.", errors.New(why))
	}
	var w, h uint32
	var dpi float64
	off := int64(8)
	seenIHDR, seenIDAT := false, false
	for {
		var hdr [8]byte
		if off+12 > size {
			return nil, truncated
		}
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return nil, fmt.Errorf("split: read PNG: %w", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:]))
		typ := string(hdr[4:])
		if n > 1<<31-1 {
			return nil, corrupt("chunk length")
		}
		if off+12+n > size {
			return nil, truncated
		}
		if !seenIHDR && typ != "IHDR" {
			return nil, corrupt("first chunk is not IHDR")
		}
		switch typ {
		case "IHDR", "pHYs":
			body := make([]byte, n+4)
			if _, err := f.ReadAt(body, off+8); err != nil {
				return nil, fmt.Errorf("split: read PNG: %w", err)
			}
			if crc32.Update(crc32.ChecksumIEEE(hdr[4:]), crc32.IEEETable, body[:n]) != binary.BigEndian.Uint32(body[n:]) {
				return nil, corrupt(typ + " checksum")
			}
			if typ == "IHDR" {
				if n != 13 {
					return nil, corrupt("IHDR length")
				}
				w, h = binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:])
				if w == 0 || h == 0 {
					return nil, corrupt("zero image size")
				}
				if err := checkPixels(int64(w), int64(h), "PNG image", lim); err != nil {
					return nil, err
				}
				seenIHDR = true
			} else if n == 9 && body[8] == 1 {
				dpi = float64(binary.BigEndian.Uint32(body)) * 0.0254
			}
		case "IDAT":
			seenIDAT = true
		case "IEND":
			if !seenIDAT {
				return nil, corrupt("no image data")
			}
			ps := PageSource{No: 1, Kind: KindImage, DPI: float64(int(dpi*10+0.5)) / 10, Width: float64(w), Height: float64(h)}
			if outDir == "" {
				return []PageSource{ps}, nil
			}
			ps.Path = filepath.Join(outDir, "page-00001.png")
			if err := writeFile(ps.Path, io.NewSectionReader(f, 0, size)); err != nil {
				return nil, fmt.Errorf("split: write PNG page: %w", err)
			}
			return []PageSource{ps}, ctx.Err()
		}
		off += 12 + n
	}
}

func checkPixels(w, h int64, what string, lim Limits) error {
	if w*h > lim.MaxPagePixels || w > 1<<20 || h > 1<<20 {
		return reject(CodePageTooLarge, fmt.Sprintf("The %s is %d×%d pixels, more than the %d megapixels allowed; scan it at a lower resolution.", what, w, h, lim.MaxPagePixels/1_000_000), nil)
	}
	return nil
}
