package sheets

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Format is a barcode symbology.
type Format string

// The symbologies Detect reads.
const (
	QRCode  Format = "QR_CODE"
	Code128 Format = "CODE_128"
)

// Code is one barcode found on a page.
type Code struct {
	Format Format
	Text   string
	// Bounds encloses the points the decoder located, in the coordinates of
	// the image given to Detect: a QR code's finder pattern centres, or the
	// two ends of a Code 128 on the scan line that read it (a thin box).
	Bounds image.Rectangle
}

// Detect finds the QR codes and Code 128 barcodes on a scanned page, at
// most one of each format (the first one a reader finds), and stops as soon
// as it has read a valid cover payload or one code of each format.
//
// The readers are given prepared copies of the page rather than the page
// itself, because gozxing's readers are fragile on real scans:
//   - QR codes are read on copies downscaled to about 100, 150 and 75 dpi
//     (the page's resolution is estimated from its size, a Letter or A4
//     page), and on a 3×3 median-filtered 100-dpi copy. Averaging pixels
//     removes the specks, noise and JPEG artefacts that make the finder
//     pattern search fail at full resolution; a sheet's QR modules stay
//     4 pixels or more. QR codes are read in any orientation.
//   - Code 128 is read along rows, at full resolution, on a copy whose every
//     row is the mean of a few neighbouring rows (bars are vertical, so this
//     keeps them and wipes out specks and noise), then on the page turned 90°
//     the same way, for sheets and labels fed sideways.
//
// Every reader runs with TRY_HARDER. After the first attempt, the others
// run only on a page with an area dark enough to be a code (gate.go). On a
// loaded 2-core machine, a 300-dpi cover sheet takes about 20 ms, a label
// page 130 ms, and a text page without codes 18 ms, which ran every
// attempt before the gate, 250 ms (BenchmarkDetect). Detect is safe for
// concurrent use. It returns ctx's error if ctx ends between attempts, and
// no error for a page without codes.
func Detect(ctx context.Context, img image.Image) ([]Code, error) {
	return detect(ctx, img, QRCode, Code128)
}

// detect looks for the formats given; with both, it stops at a valid cover
// payload, else when it has found each format or tried everything.
func detect(ctx context.Context, img image.Image, formats ...Format) ([]Code, error) {
	full, origin := toGray(img)
	w, h := full.Rect.Dx(), full.Rect.Dy()
	if w < 16 || h < 16 {
		return nil, ctx.Err()
	}
	dpi := max(w, h) / 11 // a Letter (11 in) or A4 (11.7 in) page
	qrAt := func(target int) int { return max(1, (dpi+target/2)/target) }
	p := prepared{full: full, scaled: map[int]*image.Gray{}}
	k := max(3, dpi/40) // rows averaged for Code 128: 7 at 300 dpi, 5 at 200
	attempts := []struct {
		format Format
		view   func() view
	}{
		{QRCode, func() view { return p.downscaled(qrAt(100), false) }},
		{Code128, func() view { return rowView(full, k, false) }},
		{QRCode, func() view { return p.downscaled(qrAt(150), false) }},
		{QRCode, func() view { return p.downscaled(qrAt(75), false) }},
		{Code128, func() view { return rowView(full, k, true) }},
		{QRCode, func() view { return p.downscaled(qrAt(100), true) }},
	}
	var d detection
	tried := map[string]bool{}
	for i, a := range attempts {
		// After the first attempt (the 100-dpi QR copy, cheap), the rest
		// run only where a code could be (gate.go).
		if i == 1 && len(d.codes) == 0 && !p.mayHoldCode(dpi) {
			break
		}
		if len(formats) > 1 && d.cover() || !slices.ContainsFunc(formats, func(f Format) bool { return !d.has(f) }) {
			break
		}
		if d.has(a.format) || !slices.Contains(formats, a.format) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := a.view()
		if key := string(a.format) + v.key; tried[key] {
			continue // the same copy at another target resolution
		} else {
			tried[key] = true
		}
		var r gozxing.Reader = qrcode.NewQRCodeReader()
		if a.format == Code128 {
			r = oned.NewCode128Reader()
		}
		d.decode(r, v, a.format, origin, w)
	}
	return d.codes, nil
}

// view is a prepared copy of the page: downscaled by scale in both
// directions, or (Code 128) with rows averaged and every rowStep-th kept;
// turned 90° counter-clockwise first when rotated.
type view struct {
	img     *image.Gray
	key     string // identifies the preparation
	scale   int    // page pixels per view pixel, horizontally
	rowStep int    // page pixels per view row
	rotated bool
}

// toPage maps a point of v to the page's coordinates (before origin).
func (v view) toPage(p gozxing.ResultPoint, pageW int) image.Point {
	x := int(p.GetX())*v.scale + v.scale/2
	y := int(p.GetY())*v.rowStep + v.rowStep/2
	if v.rotated {
		// (x, y) on the page went to (y, pageW-1-x) on the turned copy.
		return image.Pt(pageW-1-y, x)
	}
	return image.Pt(x, y)
}

// prepared caches the page's copies between attempts.
type prepared struct {
	full   *image.Gray
	scaled map[int]*image.Gray
}

func (p *prepared) downscaled(f int, median bool) view {
	g := p.full
	if f > 1 {
		if p.scaled[f] == nil {
			if f%2 == 0 && f > 2 { // from the copy half as small, which is cheaper
				p.scaled[f] = downscale(p.downscaled(f/2, false).img, 2)
			} else {
				p.scaled[f] = downscale(p.full, f)
			}
		}
		g = p.scaled[f]
	}
	key := fmt.Sprintf("/%d", f)
	if median {
		g = median3(g)
		key += "m"
	}
	return view{img: g, key: key, scale: f, rowStep: f}
}

type detection struct {
	codes []Code
}

func (d *detection) has(f Format) bool {
	return slices.ContainsFunc(d.codes, func(c Code) bool { return c.Format == f })
}

func (d *detection) cover() bool {
	return slices.ContainsFunc(d.codes, func(c Code) bool { _, ok := parseCover(c.Text); return ok })
}

// decode runs one reader on v. A reader that fails, even by panicking on an
// odd image, has simply found nothing.
func (d *detection) decode(r gozxing.Reader, v view, f Format, origin image.Point, pageW int) {
	bmp := bitmap(v.img)
	if bmp == nil {
		return
	}
	res := func() (res *gozxing.Result) {
		defer func() {
			if recover() != nil {
				res = nil
			}
		}()
		res, err := r.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
		if err != nil {
			return nil
		}
		return res
	}()
	if res == nil || res.GetText() == "" {
		return
	}
	var b image.Rectangle
	for i, p := range res.GetResultPoints() {
		q := v.toPage(p, pageW).Add(origin)
		pr := image.Rectangle{Min: q, Max: q.Add(image.Pt(1, 1))}
		if i == 0 {
			b = pr
		} else {
			b = b.Union(pr)
		}
	}
	d.codes = append(d.codes, Code{Format: f, Text: res.GetText(), Bounds: b})
}

// bitmap wraps a compact gray image (stride equal to width) for the readers.
func bitmap(g *image.Gray) *gozxing.BinaryBitmap {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, w, h, 0, 0, w, h, false)
	if err != nil {
		return nil
	}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return nil
	}
	return bmp
}

// toGray returns img's luminance as a compact gray image with its origin at
// (0, 0), sharing img's pixels when it already is one, and img's origin.
func toGray(img image.Image) (*image.Gray, image.Point) {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	switch m := img.(type) {
	case *image.Gray:
		if m.Stride == w {
			off := m.PixOffset(r.Min.X, r.Min.Y)
			return &image.Gray{Pix: m.Pix[off : off+w*h], Stride: w, Rect: image.Rect(0, 0, w, h)}, r.Min
		}
	case *image.YCbCr: // JPEG: the Y plane is the luminance
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			off := m.YOffset(r.Min.X, r.Min.Y+y)
			copy(g.Pix[y*w:(y+1)*w], m.Y[off:off+w])
		}
		return g, r.Min
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(g, g.Rect, img, r.Min, draw.Src)
	return g, r.Min
}

// downscale averages f×f blocks.
func downscale(g *image.Gray, f int) *image.Gray {
	w, h := g.Rect.Dx()/f, g.Rect.Dy()/f
	out := image.NewGray(image.Rect(0, 0, w, h))
	cols := make([]uint32, w*f) // sums of f rows, per column
	n := uint32(f * f)
	for y := range h {
		clear(cols)
		for dy := range f {
			off := (y*f + dy) * g.Stride
			row := g.Pix[off : off+len(cols)]
			for i, p := range row {
				cols[i] += uint32(p)
			}
		}
		orow := out.Pix[y*w : (y+1)*w]
		for x := range orow {
			var s uint32
			for _, c := range cols[x*f : x*f+f] {
				s += c
			}
			orow[x] = uint8(s / n)
		}
	}
	return out
}

// rowView returns a view of g for a row-by-row (1D) reader: each view row
// is the mean of k neighbouring rows, and every (k+1)/2-th row is kept. The
// bars of an upright 1D code are vertical, so averaging rows keeps them and
// wipes out specks, dropouts and noise. When rotated, the rows are those of
// g turned 90° counter-clockwise, that is g's columns from right to left,
// read without turning g first.
func rowView(g *image.Gray, k int, rotated bool) view {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	step := (k + 1) / 2
	window := func(oy, n int) (int, int) {
		r0 := max(0, oy*step+step/2-k/2)
		return r0, min(n, r0+k)
	}
	v := view{key: fmt.Sprintf("rows%d/%v", k, rotated), scale: 1, rowStep: step, rotated: rotated}
	if !rotated {
		oh := h / step
		out := image.NewGray(image.Rect(0, 0, w, oh))
		sums := make([]int, w)
		for oy := range oh {
			y0, y1 := window(oy, h)
			clear(sums)
			for y := y0; y < y1; y++ {
				for x, p := range g.Pix[y*g.Stride : y*g.Stride+w] {
					sums[x] += int(p)
				}
			}
			n := y1 - y0
			row := out.Pix[oy*w : (oy+1)*w]
			for x, s := range sums {
				row[x] = uint8(s / n)
			}
		}
		v.img = out
		return v
	}
	// Turned, row r is g's column w-1-r, and column y is g's row y.
	oh := w / step
	out := image.NewGray(image.Rect(0, 0, h, oh))
	prefix := make([]int, w+1)
	for y := range h {
		for x, p := range g.Pix[y*g.Stride : y*g.Stride+w] {
			prefix[x+1] = prefix[x] + int(p)
		}
		for oy := range oh {
			r0, r1 := window(oy, w)
			x0, x1 := w-r1, w-r0 // g's columns for turned rows r0..r1-1
			out.Pix[oy*h+y] = uint8((prefix[x1] - prefix[x0]) / (x1 - x0))
		}
	}
	v.img = out
	return v
}

// median3 returns g filtered by a 3×3 median (edges copied).
func median3(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(g.Rect)
	copy(out.Pix, g.Pix)
	for y := 1; y < h-1; y++ {
		a, b, c := g.Pix[(y-1)*w:y*w], g.Pix[y*w:(y+1)*w], g.Pix[(y+1)*w:(y+2)*w]
		o := out.Pix[y*w : (y+1)*w]
		for x := 1; x < w-1; x++ {
			o[x] = median9(a[x-1], a[x], a[x+1], b[x-1], b[x], b[x+1], c[x-1], c[x], c[x+1])
		}
	}
	return out
}

// median9 returns the median of nine values with a 19-exchange selection
// network (each exchange puts the smaller value first).
func median9(p0, p1, p2, p3, p4, p5, p6, p7, p8 uint8) uint8 {
	p1, p2 = min(p1, p2), max(p1, p2)
	p4, p5 = min(p4, p5), max(p4, p5)
	p7, p8 = min(p7, p8), max(p7, p8)
	p0, p1 = min(p0, p1), max(p0, p1)
	p3, p4 = min(p3, p4), max(p3, p4)
	p6, p7 = min(p6, p7), max(p6, p7)
	p1, p2 = min(p1, p2), max(p1, p2)
	p4, p5 = min(p4, p5), max(p4, p5)
	p7, p8 = min(p7, p8), max(p7, p8)
	p3 = max(p0, p3)
	p5 = min(p5, p8)
	p4, p7 = min(p4, p7), max(p4, p7)
	p6 = max(p3, p6)
	p4 = max(p1, p4)
	p2 = min(p2, p5)
	p4 = min(p4, p7)
	p4, p2 = min(p4, p2), max(p4, p2)
	p4 = max(p6, p4)
	return min(p4, p2)
}

// rotateCCW turns a compact gray image 90° counter-clockwise: (x, y) goes to
// (y, w-1-x).
func rotateCCW(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		for x, v := range row {
			out.Pix[(w-1-x)*h+y] = v
		}
	}
	return out
}

// Classify says whether a page whose codes are codes is a cover or a
// separator sheet (ok true: the page starts a new document and is not stored
// as one of its pages). separator is the configured separator value ("":
// DefaultSeparator). A cover sheet wins over a separator on the same page.
// If the page's cover codes name different patients, which a printed sheet
// never does, the sheet is returned as a cover with no MRN, so that its
// document goes to review rather than to either patient.
func Classify(codes []Code, separator string) (Sheet, bool) {
	var (
		cover    Sheet
		found    bool
		conflict bool
		sep      bool
	)
	for _, c := range codes {
		switch KindOf(c.Text, separator) {
		case Cover:
			s, _ := parseCover(c.Text)
			if found && s != cover {
				conflict = true
			}
			cover, found = s, true
		case Separator:
			sep = true
		}
	}
	switch {
	case conflict:
		return Sheet{Kind: Cover}, true
	case found:
		return cover, true
	case sep:
		return Sheet{Kind: Separator}, true
	}
	return Sheet{}, false
}

// Labels returns the codes that look like patient labels (KindOf gives
// Label): identifiers for the page they are on, which stays a page of its
// document.
func Labels(codes []Code, separator string) []Code {
	var out []Code
	for _, c := range codes {
		if KindOf(c.Text, separator) == Label {
			out = append(out, c)
		}
	}
	return out
}
