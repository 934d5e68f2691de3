package scangen

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// This file owns rendering: it lays page content out on a US Letter page at
// a given resolution and draws it, black on white, into an *image.Gray. It
// returns the text of the lines it actually drew, which is the ground truth.

const (
	pageWidthIn  = 8.5
	pageHeightIn = 11.0
	marginIn     = 0.75
)

var parsedFonts = sync.OnceValues(func() ([numFonts]*opentype.Font, error) {
	var out [numFonts]*opentype.Font
	src := [numFonts][]byte{
		fontRegular:  goregular.TTF,
		fontMedium:   gomedium.TTF,
		fontMono:     gomono.TTF,
		fontBold:     gobold.TTF,
		fontItalic:   goitalic.TTF,
		fontMonoBold: gomonobold.TTF,
	}
	for i, b := range src {
		f, err := opentype.Parse(b)
		if err != nil {
			return out, fmt.Errorf("scangen: parse %s: %w", fontNames[i], err)
		}
		out[i] = f
	}
	return out, nil
})

// renderer draws one page. It is used by one goroutine.
type renderer struct {
	img   *image.Gray
	dpi   float64
	faces map[faceKey]font.Face
	fonts [numFonts]*opentype.Font
	lines []string // text drawn, in reading order

	left, right float64 // column in pixels
	bottom      float64 // lowest baseline the body may use
}

type faceKey struct {
	font fontID
	size float64
}

func (rd *renderer) face(f fontID, size float64) font.Face {
	k := faceKey{f, size}
	if fc, ok := rd.faces[k]; ok {
		return fc
	}
	fc, err := opentype.NewFace(rd.fonts[f], &opentype.FaceOptions{Size: size, DPI: rd.dpi, Hinting: font.HintingFull})
	if err != nil { // only for invalid sizes, which the content never asks for
		panic(err)
	}
	rd.faces[k] = fc
	return fc
}

func (rd *renderer) close() {
	for _, fc := range rd.faces {
		fc.Close()
	}
}

// px converts inches to pixels.
func (rd *renderer) px(in float64) float64 { return in * rd.dpi }

// lineHeight is the distance between baselines for a size in points.
func (rd *renderer) lineHeight(size float64) float64 { return size * 1.3 / 72 * rd.dpi }

// ascent is the distance from the top of a line to its baseline.
func (rd *renderer) ascent(size float64) float64 { return size * 0.95 / 72 * rd.dpi }

func measure(fc font.Face, s string) fixed.Int26_6 {
	var w fixed.Int26_6
	prev := rune(-1)
	for _, c := range s {
		if prev >= 0 {
			w += fc.Kern(prev, c)
		}
		a, _ := fc.GlyphAdvance(c)
		w += a
		prev = c
	}
	return w
}

// drawString draws s with its baseline origin at (x, y) pixels, in black.
func (rd *renderer) drawString(fc font.Face, s string, x, y float64) {
	dot := fixed.Point26_6{X: fixed.Int26_6(x * 64), Y: fixed.I(int(y + 0.5))}
	prev := rune(-1)
	for _, c := range s {
		if prev >= 0 {
			dot.X += fc.Kern(prev, c)
		}
		dr, mask, mp, adv, ok := fc.Glyph(dot, c)
		if ok {
			rd.composite(dr, mask, mp)
		}
		dot.X += adv
		prev = c
	}
}

// composite darkens the page by the glyph mask (black ink, alpha coverage).
func (rd *renderer) composite(dr image.Rectangle, mask image.Image, mp image.Point) {
	r := dr.Intersect(rd.img.Rect)
	if r.Empty() {
		return
	}
	alpha, _ := mask.(*image.Alpha)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := rd.img.Pix[rd.img.PixOffset(r.Min.X, y):]
		for x := r.Min.X; x < r.Max.X; x++ {
			mx, my := mp.X+x-dr.Min.X, mp.Y+y-dr.Min.Y
			var a uint32
			if alpha != nil {
				a = uint32(alpha.Pix[alpha.PixOffset(mx, my)])
			} else {
				_, _, _, a16 := mask.At(mx, my).RGBA()
				a = a16 >> 8
			}
			if a == 0 {
				continue
			}
			v := uint32(row[x-r.Min.X])
			row[x-r.Min.X] = uint8(v * (255 - a) / 255)
		}
	}
}

func (rd *renderer) fillRect(x0, y0, x1, y1 int, v uint8) {
	r := image.Rect(x0, y0, x1, y1).Intersect(rd.img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := rd.img.PixOffset(r.Min.X, y)
		for i := range r.Dx() {
			rd.img.Pix[off+i] = v
		}
	}
}

// wrap splits text into lines no wider than width pixels.
func wrap(fc font.Face, text string, width float64) []string {
	var lines []string
	var cur string
	for _, w := range strings.Fields(text) {
		try := w
		if cur != "" {
			try = cur + " " + w
		}
		if cur != "" && float64(measure(fc, try))/64 > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur = try
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// placed is one laid-out line: text at a baseline, or a rule when text is "".
type placed struct {
	text     string
	face     font.Face
	x, y     float64 // baseline origin, pixels
	sameLine bool    // continues the previous line of the truth (table cells)
	rule     bool
	ruleW    float64
	ruleSize float64
}

// layoutBlock lays b out with its top at y and returns the lines and the
// new y. It never cuts: the caller checks what fits.
func (rd *renderer) layoutBlock(pc *pageContent, b block, y, left, right float64) ([]placed, float64) {
	size := b.size
	if size == 0 {
		size = pc.bodySize
	}
	var out []placed
	switch b.kind {
	case blockGap:
		return nil, y + rd.px(b.gap)
	case blockRule:
		t := max(1, rd.dpi/200) // about 0.36 pt
		return []placed{{rule: true, x: left, y: y, ruleW: right - left, ruleSize: t}}, y + t
	case blockLines, blockPara:
		fc := rd.face(b.font, size)
		lines := b.lines
		if b.kind == blockPara {
			lines = wrap(fc, b.text, right-left)
		}
		lh := rd.lineHeight(size)
		for _, s := range lines {
			x := left
			switch b.align {
			case alignCenter:
				x = (left + right - float64(measure(fc, s))/64) / 2
			case alignRight:
				x = right - float64(measure(fc, s))/64
			}
			out = append(out, placed{text: s, face: fc, x: x, y: y + rd.ascent(size)})
			y += lh
		}
		return out, y
	case blockTable:
		headFont := fontBold
		if pc.bodyFont == fontMono {
			headFont = fontMonoBold
		}
		head, body := rd.face(headFont, pc.bodySize), rd.face(pc.bodyFont, pc.bodySize)
		ncol := len(b.rows[0])
		widths := make([]float64, ncol)
		for i, row := range b.rows {
			fc := body
			if i == 0 {
				fc = head
			}
			for c, cell := range row {
				widths[c] = max(widths[c], float64(measure(fc, cell))/64)
			}
		}
		total := 0.0
		for _, w := range widths {
			total += w
		}
		gap := min(rd.px(0.45), (right-left-total)/float64(max(1, ncol-1)))
		lh := rd.lineHeight(pc.bodySize)
		for i, row := range b.rows {
			fc := body
			if i == 0 {
				fc = head
			}
			x := left
			first := true
			for c, cell := range row {
				if cell != "" {
					// A row is one line of the truth, cells separated by a space.
					out = append(out, placed{text: cell, face: fc, x: x, y: y + rd.ascent(pc.bodySize), sameLine: !first})
					first = false
				}
				x += widths[c] + gap
			}
			y += lh
			if i == 0 {
				out = append(out, placed{rule: true, x: left, y: y - lh*0.15, ruleW: x - gap - left, ruleSize: max(1, rd.dpi/200)})
			}
		}
		return out, y
	case blockColumns:
		mid := (left + right) / 2
		var ly, ry = y, y
		for _, c := range b.left {
			p, ny := rd.layoutBlock(pc, c, ly, left, mid)
			out = append(out, p...)
			ly = ny
		}
		for _, c := range b.right {
			p, ny := rd.layoutBlock(pc, c, ry, mid+rd.px(0.5), right)
			out = append(out, p...)
			ry = ny
		}
		// Read the columns row by row, as OCR does when their lines line
		// up: a right-hand line on the baseline of a left-hand one
		// continues it.
		slices.SortStableFunc(out, func(a, b placed) int { return cmp.Compare(a.y, b.y) })
		for i := 1; i < len(out); i++ {
			out[i].sameLine = math.Abs(out[i].y-out[i-1].y) < rd.px(0.02)
		}
		return out, max(ly, ry)
	}
	return nil, y
}

// render draws pc on a new white page at dpi and returns the image and
// the text drawn, lines joined with "\n".
func render(pc *pageContent, dpi int) (*image.Gray, string, error) {
	fonts, err := parsedFonts()
	if err != nil {
		return nil, "", err
	}
	rd := &renderer{dpi: float64(dpi), faces: map[faceKey]font.Face{}, fonts: fonts}
	defer rd.close()
	w, h := int(pageWidthIn*rd.dpi+0.5), int(pageHeightIn*rd.dpi+0.5)
	rd.img = image.NewGray(image.Rect(0, 0, w, h))
	for i := range rd.img.Pix {
		rd.img.Pix[i] = 255
	}
	if pc.blank {
		return rd.img, "", nil
	}
	left, right := rd.px(marginIn), float64(w)-rd.px(marginIn)
	top := rd.px(marginIn)
	footerSize := 10.0
	footerBase := float64(h) - rd.px(marginIn) + rd.ascent(footerSize)

	// Reserve room for the tail (signature) above the footer.
	_, tailEnd := rd.layoutLines(pc, pc.tail, 0, left, right)
	limit := float64(h) - rd.px(marginIn) - rd.px(0.2) - tailEnd

	var out []placed
	y := top
	for i := 0; i < len(pc.blocks); i++ {
		b := pc.blocks[i]
		p, ny := rd.layoutBlock(pc, b, y, left, right)
		if ny > limit {
			// Keep the lines that fit; drop everything after.
			for _, l := range p {
				if l.y+rd.px(0.05) > limit {
					break
				}
				out = append(out, l)
				if l.text != "" {
					y = l.y
				}
			}
			break
		}
		if b.keepWithNext && i+1 < len(pc.blocks) {
			next, _ := rd.layoutBlock(pc, pc.blocks[i+1], ny, left, right)
			if len(next) > 0 && next[0].y+rd.px(0.05) > limit {
				break
			}
		}
		out = append(out, p...)
		y = ny
	}
	tail, _ := rd.layoutLines(pc, pc.tail, y, left, right)
	out = append(out, tail...)
	if pc.footer != "" {
		fc := rd.face(fontRegular, footerSize)
		x := (left + right - float64(measure(fc, pc.footer))/64) / 2
		out = append(out, placed{text: pc.footer, face: fc, x: x, y: footerBase})
	}

	var text []string
	for _, l := range out {
		if l.rule {
			rd.fillRect(int(l.x), int(l.y), int(l.x+l.ruleW), int(l.y+l.ruleSize+0.5), 0)
			continue
		}
		rd.drawString(l.face, l.text, l.x, l.y)
		if l.sameLine && len(text) > 0 {
			text[len(text)-1] += " " + l.text
		} else {
			text = append(text, l.text)
		}
	}
	return rd.img, strings.Join(text, "\n"), nil
}

func (rd *renderer) layoutLines(pc *pageContent, blocks []block, y, left, right float64) ([]placed, float64) {
	var out []placed
	for _, b := range blocks {
		p, ny := rd.layoutBlock(pc, b, y, left, right)
		out = append(out, p...)
		y = ny
	}
	return out, y
}

// paginate cuts a flow of body blocks into pages as render would lay them
// out at dpi: each page starts with heads(page) (1-based) and is filled
// until it is full, cutting a paragraph between lines where the page ends,
// with room kept for the tail on every page. It returns each page's body
// and start, at most maxPages pages (the rest of the flow is dropped), and
// always at least one page.
func paginate(pc *pageContent, dpi int, heads func(page int) []block, flow, tail []block, maxPages int) (bodies, starts [][]block) {
	fonts, err := parsedFonts()
	if err != nil { // Generate checks the fonts first; no layout without them
		return [][]block{flow}, [][]block{heads(1)}
	}
	rd := &renderer{dpi: float64(dpi), faces: map[faceKey]font.Face{}, fonts: fonts}
	defer rd.close()
	w, h := pageWidthIn*rd.dpi, pageHeightIn*rd.dpi
	left, right := rd.px(marginIn), float64(int(w+0.5))-rd.px(marginIn)
	_, tailEnd := rd.layoutLines(pc, tail, 0, left, right)
	limit := float64(int(h+0.5)) - rd.px(marginIn) - rd.px(0.2) - tailEnd
	queue := append([]block(nil), flow...)
	for page := 1; page == 1 || len(queue) > 0; page++ {
		head := heads(page)
		_, y := rd.layoutLines(pc, head, rd.px(marginIn), left, right)
		var body []block
		for len(queue) > 0 {
			b := queue[0]
			if b.kind == blockGap && len(body) == 0 && page > 1 {
				queue = queue[1:] // no space at the top of a page
				continue
			}
			p, ny := rd.layoutBlock(pc, b, y, left, right)
			if ny <= limit {
				if b.keepWithNext && len(queue) > 1 {
					next, _ := rd.layoutBlock(pc, queue[1], ny, left, right)
					if len(next) > 0 && next[0].y+rd.px(0.05) > limit {
						break // a heading goes with its text to the next page
					}
				}
				body = append(body, b)
				y = ny
				queue = queue[1:]
				continue
			}
			n := 0
			if b.kind == blockPara || b.kind == blockLines {
				for _, l := range p {
					if l.y+rd.px(0.05) > limit {
						break
					}
					n++
				}
			}
			switch {
			case n > 0:
				lines := make([]string, len(p))
				for i, l := range p {
					lines[i] = l.text
				}
				body = append(body, block{kind: blockLines, font: b.font, size: b.size, align: b.align, lines: lines[:n]})
				rest := b
				if b.kind == blockPara {
					rest.text = strings.Join(lines[n:], " ")
				} else {
					rest.lines = lines[n:]
				}
				queue[0] = rest
			case len(body) == 0:
				// Taller than a page: placed anyway, render cuts it.
				body = append(body, b)
				queue = queue[1:]
			}
			break
		}
		bodies = append(bodies, body)
		starts = append(starts, head)
		if page >= maxPages {
			break
		}
	}
	return bodies, starts
}
