// Package assemble builds searchable PDFs: each page is the stored page
// image, with the OCR words laid over it as invisible text (text render mode
// 3) so that viewers can search, select and copy them.
//
// The PDF is written directly (objects, cross-reference table, trailer), one
// page at a time: only the current page's image is held decoded. JPEG pages
// are embedded unchanged (DCTDecode); other images are decoded and embedded
// Flate-compressed, as 1-bit gray when they are pure black and white, 8-bit
// gray when they have no colour, and RGB otherwise. The document information
// names only the producer ("paperchart"); nothing about the patient.
package assemble

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // page images are PNG,
	"io"
	"math"
	"strconv"
	"strings"

	_ "golang.org/x/image/tiff" // or TIFF (as split writes them), besides JPEG

	"paperchart/ocr"
)

// Page is one page to assemble.
type Page struct {
	// Image is the encoded page image as stored: JPEG (embedded without
	// recompression), PNG or TIFF (decoded and embedded Flate-compressed).
	Image []byte
	// Raster, when set, is the page image already decoded, used instead of
	// Image and embedded Flate-compressed (lossless): a page whose pixels
	// were changed after decoding, such as a redacted one.
	Raster image.Image
	// Width and Height are the image's size in pixels; they must match Image.
	Width, Height int
	// DPI is the image's resolution; the page is Width/DPI × Height/DPI inches.
	DPI int
	// Words are the OCR words, boxes in this image's pixel coordinates with
	// the origin at the top left, in reading order.
	Words []ocr.Word
	// Visible is text drawn over the image, in black Helvetica: a stamp,
	// the lines of a cover letter. Nil for a plain scanned page.
	Visible []Text
}

// Text is one line of visible text on a page.
type Text struct {
	// X and Y are where the line's baseline starts, in points from the
	// page's top-left corner.
	X, Y float64
	// Size is the font size in points.
	Size float64
	Text string
	// Backed puts a white box behind the line, so that it reads over the
	// page image (a stamp on a scan).
	Backed bool
}

// Producer is the /Producer written into every PDF's document information.
const Producer = "paperchart"

// SearchablePDF writes a PDF of pages to w. It checks ctx between pages and
// returns an error naming the page (by number, never its text) when a page
// image cannot be read or does not match its declared size. w receives a
// partial PDF when an error is returned.
func SearchablePDF(ctx context.Context, w io.Writer, pages []Page) error {
	return SearchablePDFFrom(ctx, w, len(pages), func(i int) (Page, error) { return pages[i], nil })
}

// SearchablePDFFrom is SearchablePDF of n pages that page returns one at a
// time, in order (i from 0): only the page being written is held, however
// many pages the PDF has.
func SearchablePDFFrom(ctx context.Context, w io.Writer, n int, page func(i int) (Page, error)) error {
	if n <= 0 {
		return errors.New("assemble: no pages")
	}
	pw := &pdfWriter{w: bufio.NewWriterSize(w, 1<<16)}
	pw.printf("%%PDF-1.5\n%%\xe2\xe3\xcf\xd3\n")
	// Fixed objects: 1 catalog, 2 page tree, 3 font, 4 info; pages from 5.
	const catalog, pageTree, font, info = 1, 2, 3, 4
	pw.next = 5
	kids := make([]int, 0, n)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		pg, err := page(i)
		if err != nil {
			return err
		}
		ref, err := pw.page(&pg, i+1, pageTree, font)
		if err != nil {
			return err
		}
		kids = append(kids, ref)
	}
	pw.object(font, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	var kb strings.Builder
	for i, k := range kids {
		if i > 0 {
			kb.WriteByte(' ')
		}
		fmt.Fprintf(&kb, "%d 0 R", k)
	}
	pw.object(pageTree, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kb.String(), len(kids)))
	pw.object(info, "<< /Producer ("+Producer+") >>")
	pw.object(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pageTree))
	pw.finish(catalog, info)
	if pw.err != nil {
		return fmt.Errorf("assemble: write PDF: %w", pw.err)
	}
	return nil
}

// pdfWriter writes numbered objects and remembers their offsets.
type pdfWriter struct {
	w       *bufio.Writer
	n       int64
	offsets map[int]int64
	next    int
	err     error
}

func (p *pdfWriter) write(b []byte) {
	if p.err != nil {
		return
	}
	n, err := p.w.Write(b)
	p.n += int64(n)
	p.err = err
}

func (p *pdfWriter) printf(format string, a ...any) { p.write(fmt.Appendf(nil, format, a...)) }

func (p *pdfWriter) begin(num int) {
	if p.offsets == nil {
		p.offsets = map[int]int64{}
	}
	p.offsets[num] = p.n
	p.printf("%d 0 obj\n", num)
}

func (p *pdfWriter) object(num int, body string) {
	p.begin(num)
	p.printf("%s\nendobj\n", body)
}

func (p *pdfWriter) stream(num int, dict string, data []byte) {
	p.begin(num)
	p.printf("<< %s /Length %d >>\nstream\n", dict, len(data))
	p.write(data)
	p.printf("\nendstream\nendobj\n")
}

func (p *pdfWriter) alloc() int {
	p.next++
	return p.next - 1
}

func (p *pdfWriter) finish(root, info int) {
	xref := p.n
	size := p.next
	p.printf("xref\n0 %d\n0000000000 65535 f \n", size)
	for i := 1; i < size; i++ {
		off, ok := p.offsets[i]
		if !ok {
			p.printf("0000000000 65535 f \n")
			continue
		}
		p.printf("%010d 00000 n \n", off)
	}
	p.printf("trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", size, root, info, xref)
	if p.err == nil {
		p.err = p.w.Flush()
	}
}

// page writes one page's image, content and page object; it returns the
// page object's number.
func (p *pdfWriter) page(pg *Page, no, parent, font int) (int, error) {
	if pg.DPI <= 0 || pg.Width <= 0 || pg.Height <= 0 {
		return 0, fmt.Errorf("assemble: page %d: size %dx%d at %d dpi is not valid", no, pg.Width, pg.Height, pg.DPI)
	}
	dict, data, err := imageXObject(pg)
	if err != nil {
		return 0, fmt.Errorf("assemble: page %d: %w", no, err)
	}
	imgNum, contentNum, pageNum := p.alloc(), p.alloc(), p.alloc()
	p.stream(imgNum, dict, data)
	data = nil

	wPt := float64(pg.Width) / float64(pg.DPI) * 72
	hPt := float64(pg.Height) / float64(pg.DPI) * 72
	content := pageContent(pg, wPt, hPt)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(content)
	zw.Close()
	p.stream(contentNum, "/Filter /FlateDecode", z.Bytes())
	p.object(pageNum, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >> /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>",
		parent, num(wPt), num(hPt), imgNum, font, contentNum))
	return pageNum, p.err
}

// num formats a PDF number with at most 3 decimals.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// imageXObject returns the image XObject dictionary entries and stream data.
func imageXObject(pg *Page) (string, []byte, error) {
	if pg.Raster == nil && bytes.HasPrefix(pg.Image, []byte{0xFF, 0xD8, 0xFF}) {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(pg.Image))
		if err != nil {
			return "", nil, fmt.Errorf("read JPEG header: %w", err)
		}
		if cfg.Width != pg.Width || cfg.Height != pg.Height {
			return "", nil, fmt.Errorf("JPEG is %dx%d, page says %dx%d", cfg.Width, cfg.Height, pg.Width, pg.Height)
		}
		cs := ""
		switch cfg.ColorModel {
		case color.GrayModel:
			cs = "/DeviceGray"
		case color.YCbCrModel:
			cs = "/DeviceRGB"
		}
		if cs != "" {
			return fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 /Filter /DCTDecode", cfg.Width, cfg.Height, cs), pg.Image, nil
		}
		// CMYK JPEGs: decode and embed as RGB below.
	}
	img := pg.Raster
	if img == nil {
		var err error
		if img, _, err = image.Decode(bytes.NewReader(pg.Image)); err != nil {
			return "", nil, fmt.Errorf("decode page image: %w", err)
		}
	}
	b := img.Bounds()
	if b.Dx() != pg.Width || b.Dy() != pg.Height {
		return "", nil, fmt.Errorf("image is %dx%d, page says %dx%d", b.Dx(), b.Dy(), pg.Width, pg.Height)
	}
	raw, cs, bpc := samples(img)
	img = nil
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	if _, err := zw.Write(raw); err != nil {
		return "", nil, fmt.Errorf("compress image: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", nil, fmt.Errorf("compress image: %w", err)
	}
	return fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter /FlateDecode", b.Dx(), b.Dy(), cs, bpc), z.Bytes(), nil
}

// samples returns img's pixels as PDF image samples: 1-bit gray when every
// pixel is black or white, 8-bit gray when every pixel is gray, else RGB.
func samples(img image.Image) ([]byte, string, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	gray := make([]byte, w*h)
	bilevel, isGray := true, true
	var rgb []byte
	var pal [256]color.NRGBA
	if m, ok := img.(*image.Paletted); ok {
		for i, c := range m.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var r, g, bb uint8
			switch m := img.(type) {
			case *image.Gray:
				v := m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)]
				r, g, bb = v, v, v
			case *image.Paletted:
				c := pal[m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)]]
				r, g, bb = c.R, c.G, c.B
			case *image.YCbCr:
				c := color.NRGBAModel.Convert(m.YCbCrAt(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				r, g, bb = c.R, c.G, c.B
			default:
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				r, g, bb = c.R, c.G, c.B
			}
			if isGray && (r != g || g != bb) {
				isGray = false
				rgb = make([]byte, 0, 3*w*h)
				for i := 0; i < y*w+x; i++ {
					rgb = append(rgb, gray[i], gray[i], gray[i])
				}
			}
			if isGray {
				gray[y*w+x] = r
				if r != 0 && r != 255 {
					bilevel = false
				}
			} else {
				rgb = append(rgb, r, g, bb)
			}
		}
	}
	switch {
	case !isGray:
		return rgb, "/DeviceRGB", 8
	case bilevel:
		stride := (w + 7) / 8
		bits := make([]byte, stride*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if gray[y*w+x] != 0 {
					bits[y*stride+x/8] |= 0x80 >> (x % 8)
				}
			}
		}
		return bits, "/DeviceGray", 1
	}
	return gray, "/DeviceGray", 8
}

// Text layer geometry for Helvetica: a word box spans roughly from the
// descender to the ascender, so the font size is the box height divided by
// (ascent - descent), and the baseline sits descent above the box bottom.
const (
	ascent  = 0.718
	descent = 0.207
)

// pageContent draws the image over the whole page and then each word as
// invisible text fitted to its box.
func pageContent(pg *Page, wPt, hPt float64) []byte {
	var c bytes.Buffer
	fmt.Fprintf(&c, "q %s 0 0 %s 0 0 cm /Im0 Do Q\n", num(wPt), num(hPt))
	visibleContent(&c, pg.Visible, hPt)
	if len(pg.Words) == 0 {
		return c.Bytes()
	}
	s := 72 / float64(pg.DPI)
	c.WriteString("BT 3 Tr\n")
	for _, wd := range pg.Words {
		text := winAnsi(strings.TrimSpace(wd.Text))
		if len(text) == 0 || wd.X1 <= wd.X0 || wd.Y1 <= wd.Y0 {
			continue
		}
		boxW := float64(wd.X1-wd.X0) * s
		boxH := float64(wd.Y1-wd.Y0) * s
		size := boxH / (ascent + descent)
		x := float64(wd.X0) * s
		baseline := hPt - float64(wd.Y1)*s + descent*size
		natural := textWidth(text) * size / 1000
		tz := 100.0
		if natural > 0 {
			tz = boxW / natural * 100
		}
		fmt.Fprintf(&c, "/F1 %s Tf %s Tz 1 0 0 1 %s %s Tm (", num(size), num(tz), num(x), num(baseline))
		writeEscaped(&c, text)
		c.WriteString(") Tj\n")
	}
	c.WriteString("ET\n")
	return c.Bytes()
}

// visibleContent draws each line of visible text, over a white box when
// it is backed.
func visibleContent(c *bytes.Buffer, lines []Text, hPt float64) {
	for _, t := range lines {
		text := winAnsi(t.Text)
		if len(text) == 0 || t.Size <= 0 {
			continue
		}
		y := hPt - t.Y
		if t.Backed {
			w := textWidth(text) * t.Size / 1000
			pad := t.Size / 4
			fmt.Fprintf(c, "q 1 g %s %s %s %s re f Q\n", num(t.X-pad), num(y-descent*t.Size-pad), num(w+2*pad), num((ascent+descent)*t.Size+2*pad))
		}
		fmt.Fprintf(c, "BT 0 Tr 0 g /F1 %s Tf 1 0 0 1 %s %s Tm (", num(t.Size), num(t.X), num(y))
		writeEscaped(c, text)
		c.WriteString(") Tj ET\n")
	}
}

func writeEscaped(c *bytes.Buffer, s []byte) {
	for _, b := range s {
		switch {
		case b == '(' || b == ')' || b == '\\':
			c.WriteByte('\\')
			c.WriteByte(b)
		case b < 32 || b > 126:
			fmt.Fprintf(c, "\\%03o", b)
		default:
			c.WriteByte(b)
		}
	}
}

// winAnsiHigh maps the runes that WinAnsiEncoding places at 0x80..0x9F.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91,
	'’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98,
	'™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// winAnsi encodes s in WinAnsiEncoding, replacing runes it lacks with '?'.
func winAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 32 && r <= 126, r >= 0xA0 && r <= 0xFF:
			out = append(out, byte(r))
		default:
			if b, ok := winAnsiHigh[r]; ok {
				out = append(out, b)
			} else {
				out = append(out, '?')
			}
		}
	}
	return out
}

// helveticaASCII holds Helvetica's advance widths (1/1000 em) for 32..126.
var helveticaASCII = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space .. /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0..9
	278, 278, 584, 584, 584, 556, 1015, // : ; < = > ? @
	667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A..M
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N..Z
	278, 278, 278, 469, 556, 333, // [ \ ] ^ _ `
	556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a..m
	556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n..z
	334, 260, 334, 584, // { | } ~
}

// textWidth returns the Helvetica width of WinAnsi text in 1/1000 em.
// Characters above 126 are counted at 556, about an accented letter's width.
func textWidth(s []byte) float64 {
	var w int
	for _, b := range s {
		if b >= 32 && b <= 126 {
			w += helveticaASCII[b-32]
		} else {
			w += 556
		}
	}
	return float64(w)
}
