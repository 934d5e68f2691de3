package scangen

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strconv"
	"strings"
)

// This file owns the PDF writer: a PDF 1.4 file with one image XObject per
// page, drawn over the whole page (Letter, portrait or landscape as the
// image is). Grey pages are DCT (JPEG) encoded; bilevel pages CCITT G4
// (/K -1, /BlackIs1 false: decoded 0 bits are black, as in DeviceGray) or,
// with Options.BilevelFlate, Flate-compressed 1-bit rows with 1 for white.
// Objects are written as pages finish; the page tree is written last.
//
// Object numbers: 1 catalog, 2 page tree, 3 document information, then
// for page i (0-based) 4+3i page, 5+3i content stream, 6+3i image.

type pdfWriter struct {
	cw      countingWriter
	opt     *Options
	offsets []int64 // by object number; 0 unused
	pages   int     // written so far
	err     error
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// newPDFWriter writes a PDF of total pages (content, blank and sheet pages).
func newPDFWriter(w io.Writer, opt *Options, total int) *pdfWriter {
	return &pdfWriter{cw: countingWriter{w: w}, opt: opt, offsets: make([]int64, 4+3*total)}
}

// pdfImage is one encoded page image.
type pdfImage struct {
	width, height, dpi int
	dict               string // image dictionary entries other than /Length
	data               []byte
}

func (p *pdfWriter) encode(pg *pageImage) (any, error) {
	w, h := pg.img.Rect.Dx(), pg.img.Rect.Dy()
	im := &pdfImage{width: w, height: h, dpi: pg.dpi}
	common := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray", w, h)
	switch {
	case !pg.bilevel:
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, pg.img, &jpeg.Options{Quality: p.opt.JPEGQuality}); err != nil {
			return nil, err
		}
		im.data = buf.Bytes()
		im.dict = common + " /BitsPerComponent 8 /Filter /DCTDecode"
	case p.opt.BilevelFlate:
		data, err := deflate(packBits(pg.img, false))
		if err != nil {
			return nil, err
		}
		im.data = data
		im.dict = common + " /BitsPerComponent 1 /Filter /FlateDecode"
	default:
		im.data = encodeG4(pg.img)
		im.dict = common + fmt.Sprintf(" /BitsPerComponent 1 /Filter /CCITTFaxDecode"+
			" /DecodeParms << /K -1 /Columns %d /Rows %d /BlackIs1 false /EndOfBlock true >>", w, h)
	}
	return im, nil
}

// packBits packs a bilevel image into rows of bits, MSB first, each row
// padded to a byte. A bit is 1 for black when blackIs1, else for white.
func packBits(img *image.Gray, blackIs1 bool) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	stride := (w + 7) / 8
	out := make([]byte, stride*h)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		dst := out[y*stride : (y+1)*stride]
		for x, v := range row {
			if (v < 128) == blackIs1 {
				dst[x>>3] |= 0x80 >> (x & 7)
			}
		}
	}
	return out
}

// deflate compresses b as a zlib stream (PDF FlateDecode, TIFF Adobe
// Deflate), favouring speed: noisy scans barely compress better at higher
// levels.
func deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (p *pdfWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(&p.cw, format, args...)
	}
}

func (p *pdfWriter) writeBytes(b []byte) {
	if p.err == nil {
		_, p.err = p.cw.Write(b)
	}
}

func (p *pdfWriter) startObj(n int) {
	p.offsets[n] = p.cw.n
	p.printf("%d 0 obj\n", n)
}

func (p *pdfWriter) header() {
	// The comment of bytes above 127 marks the file as binary.
	p.printf("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	p.startObj(1)
	p.printf("<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	p.startObj(3)
	p.printf("<< /Producer (paperchart scangen) /Title (Synthetic scanned batch) >>\nendobj\n")
}

// pts converts pixels at dpi to PDF points, without needless decimals.
func pts(px, dpi int) string {
	return strconv.FormatFloat(float64(px)*72/float64(dpi), 'f', -1, 64)
}

func (p *pdfWriter) write(enc any) error {
	im := enc.(*pdfImage)
	if p.pages == 0 {
		p.header()
	}
	base := 4 + 3*p.pages
	w, h := pts(im.width, im.dpi), pts(im.height, im.dpi)
	p.startObj(base)
	p.printf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>\nendobj\n",
		w, h, base+2, base+1)
	content := fmt.Sprintf("q\n%s 0 0 %s 0 0 cm\n/Im0 Do\nQ\n", w, h)
	p.startObj(base + 1)
	p.printf("<< /Length %d >>\nstream\n%sendstream\nendobj\n", len(content), content)
	p.startObj(base + 2)
	p.printf("<< %s /Length %d >>\nstream\n", im.dict, len(im.data))
	p.writeBytes(im.data)
	p.printf("\nendstream\nendobj\n")
	p.pages++
	return p.err
}

func (p *pdfWriter) finish() error {
	if p.pages == 0 {
		p.header()
	}
	kids := make([]string, p.pages)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 4+3*i)
	}
	p.startObj(2)
	p.printf("<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n", strings.Join(kids, " "), p.pages)
	xref := p.cw.n
	size := 4 + 3*p.pages
	p.printf("xref\n0 %d\n0000000000 65535 f \n", size)
	for _, off := range p.offsets[1:size] {
		p.printf("%010d 00000 n \n", off)
	}
	// A file identifier derived from what determines the content, so the
	// same seed and options give the same bytes.
	id := fmt.Appendf(nil, "%d|%d|%s|%d|%t|%g|%g|%g|%g|%d|%t",
		p.opt.Seed, p.opt.Pages, p.opt.Format, p.opt.DPI, p.opt.Clean, p.opt.Bilevel,
		p.opt.RotateProb, p.opt.BlankProb, p.opt.MaxSkew, p.opt.JPEGQuality, p.opt.BilevelFlate)
	if p.opt.Sheets != SheetsNone {
		// Only then, so that batches without sheets keep their bytes.
		id = fmt.Appendf(id, "|sheets=%s", p.opt.Sheets)
	}
	sum := sha256.Sum256(id)
	p.printf("trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R /ID [<%x> <%x>] >>\nstartxref\n%d\n%%%%EOF\n",
		size, sum[:16], sum[:16], xref)
	return p.err
}
