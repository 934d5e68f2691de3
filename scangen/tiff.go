package scangen

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// This file owns the TIFF writer: little-endian, one IFD per page chained
// in page order, each IFD written just before its image data so the file is
// produced in one pass. Grey pages are 8-bit BlackIsZero, uncompressed or
// Deflate (Compression 8), in strips of about 64 KiB; bilevel pages are
// 1-bit WhiteIsZero, CCITT G4 (Compression 4, T6Options 0) in one strip,
// or Deflate with Options.BilevelFlate. Resolution tags give the DPI.

type tiffWriter struct {
	cw    countingWriter
	opt   *Options
	total int // pages in the file: content, blank and sheet pages
	pages int
}

func newTIFFWriter(w io.Writer, opt *Options, total int) *tiffWriter {
	return &tiffWriter{cw: countingWriter{w: w}, opt: opt, total: total}
}

// tiffPage is one encoded page.
type tiffPage struct {
	width, height, dpi int
	bits               int
	compression        int
	photometric        int
	rowsPerStrip       int
	strips             [][]byte
}

const (
	tiffNone    = 1
	tiffG4      = 4
	tiffDeflate = 8 // "Adobe Deflate": a zlib stream

	photoWhiteIsZero = 0
	photoBlackIsZero = 1
)

func (t *tiffWriter) encode(pg *pageImage) (any, error) {
	img := pg.img
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tp := &tiffPage{width: w, height: h, dpi: pg.dpi}
	switch {
	case pg.bilevel && !t.opt.BilevelFlate:
		tp.bits, tp.compression, tp.photometric = 1, tiffG4, photoWhiteIsZero
		tp.rowsPerStrip = h
		tp.strips = [][]byte{encodeG4(img)}
	case pg.bilevel:
		tp.bits, tp.compression, tp.photometric = 1, tiffDeflate, photoWhiteIsZero
		tp.rowsPerStrip = h
		data, err := deflate(packBits(img, true))
		if err != nil {
			return nil, err
		}
		tp.strips = [][]byte{data}
	default:
		tp.bits, tp.photometric = 8, photoBlackIsZero
		tp.compression = tiffDeflate
		if t.opt.TIFFRaw {
			tp.compression = tiffNone
		}
		tp.rowsPerStrip = max(1, 65536/w)
		for y := 0; y < h; y += tp.rowsPerStrip {
			y1 := min(h, y+tp.rowsPerStrip)
			raw := make([]byte, 0, w*(y1-y))
			for r := y; r < y1; r++ {
				raw = append(raw, img.Pix[r*img.Stride:r*img.Stride+w]...)
			}
			if tp.compression == tiffDeflate {
				var err error
				if raw, err = deflate(raw); err != nil {
					return nil, err
				}
			}
			tp.strips = append(tp.strips, raw)
		}
	}
	return tp, nil
}

// TIFF field types.
const (
	tASCII    = 2
	tShort    = 3
	tLong     = 4
	tRational = 5
)

type tiffEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte // little-endian value bytes
}

func shortEntry(tag uint16, v ...uint16) tiffEntry {
	b := make([]byte, 0, 2*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return tiffEntry{tag, tShort, uint32(len(v)), b}
}

func longEntry(tag uint16, v ...uint32) tiffEntry {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return tiffEntry{tag, tLong, uint32(len(v)), b}
}

func rationalEntry(tag uint16, num, den uint32) tiffEntry {
	b := binary.LittleEndian.AppendUint32(nil, num)
	return tiffEntry{tag, tRational, 1, binary.LittleEndian.AppendUint32(b, den)}
}

func asciiEntry(tag uint16, s string) tiffEntry {
	return tiffEntry{tag, tASCII, uint32(len(s) + 1), append([]byte(s), 0)}
}

func (t *tiffWriter) write(enc any) error {
	tp := enc.(*tiffPage)
	if t.pages == 0 {
		// Header: "II", 42, first IFD right after the header.
		hdr := []byte{'I', 'I', 42, 0, 8, 0, 0, 0}
		if _, err := t.cw.Write(hdr); err != nil {
			return err
		}
	}
	if t.pages >= t.total {
		return fmt.Errorf("scangen: tiff: more pages than the %d planned", t.total)
	}
	t.pages++
	last := t.pages == t.total

	entries := []tiffEntry{
		longEntry(254, 2), // NewSubfileType: a page of a multi-page image
		longEntry(256, uint32(tp.width)),
		longEntry(257, uint32(tp.height)),
		shortEntry(258, uint16(tp.bits)),
		shortEntry(259, uint16(tp.compression)),
		shortEntry(262, uint16(tp.photometric)),
		longEntry(273), // StripOffsets: filled in below
		shortEntry(277, 1),
		longEntry(278, uint32(tp.rowsPerStrip)),
		longEntry(279), // StripByteCounts: filled in below
		rationalEntry(282, uint32(tp.dpi), 1),
		rationalEntry(283, uint32(tp.dpi), 1),
		shortEntry(296, 2), // ResolutionUnit: inch
		shortEntry(297, uint16(t.pages-1), uint16(t.total)),
		asciiEntry(305, "paperchart scangen"),
	}
	if tp.compression == tiffG4 {
		entries = append(entries, longEntry(293, 0)) // T6Options
	}
	slices.SortFunc(entries, func(a, b tiffEntry) int { return int(a.tag) - int(b.tag) })

	// Layout: IFD, then values too long for their entry, then strips.
	ifdOff := t.cw.n
	ifdLen := int64(2 + 12*len(entries) + 4)
	// Values for StripOffsets and StripByteCounts have a known size, so
	// every offset can be computed before writing.
	n := uint32(len(tp.strips))
	for i := range entries {
		if entries[i].tag == 273 || entries[i].tag == 279 {
			entries[i].count = n
			entries[i].data = make([]byte, 4*n)
		}
	}
	extraLen := int64(0)
	for _, e := range entries {
		if len(e.data) > 4 {
			extraLen += int64(len(e.data)+1) &^ 1 // word aligned
		}
	}
	dataOff := ifdOff + ifdLen + extraLen
	off := dataOff
	for i, s := range tp.strips {
		for j := range entries {
			switch entries[j].tag {
			case 273:
				binary.LittleEndian.PutUint32(entries[j].data[4*i:], uint32(off))
			case 279:
				binary.LittleEndian.PutUint32(entries[j].data[4*i:], uint32(len(s)))
			}
		}
		off += int64(len(s))
	}
	end := (off + 1) &^ 1
	if end > 1<<32-1 {
		return fmt.Errorf("scangen: tiff larger than 4 GiB")
	}
	next := uint32(end)
	if last {
		next = 0
	}

	buf := make([]byte, 0, ifdLen+extraLen)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(entries)))
	var extra []byte
	for _, e := range entries {
		buf = binary.LittleEndian.AppendUint16(buf, e.tag)
		buf = binary.LittleEndian.AppendUint16(buf, e.typ)
		buf = binary.LittleEndian.AppendUint32(buf, e.count)
		if len(e.data) <= 4 {
			v := make([]byte, 4)
			copy(v, e.data) // left-justified
			buf = append(buf, v...)
			continue
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(ifdOff+ifdLen+int64(len(extra))))
		extra = append(extra, e.data...)
		if len(extra)%2 == 1 {
			extra = append(extra, 0)
		}
	}
	buf = binary.LittleEndian.AppendUint32(buf, next)
	buf = append(buf, extra...)
	if _, err := t.cw.Write(buf); err != nil {
		return err
	}
	for _, s := range tp.strips {
		if _, err := t.cw.Write(s); err != nil {
			return err
		}
	}
	if t.cw.n%2 == 1 {
		if _, err := t.cw.Write([]byte{0}); err != nil {
			return err
		}
	}
	return nil
}

func (t *tiffWriter) finish() error {
	if t.pages != t.total {
		return fmt.Errorf("scangen: tiff: wrote %d of %d pages", t.pages, t.total)
	}
	return nil
}
