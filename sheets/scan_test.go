package sheets

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// This file holds the test fixtures: sheets printed to PDF and rasterized by
// poppler as a scanner would see them, and the scan damage applied to them.

// rasterize renders a one-page PDF at dpi, in gray, with pdftoppm.
func rasterize(tb testing.TB, pdf []byte, dpi int) *image.Gray {
	tb.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		tb.Skip("pdftoppm (poppler-utils) not installed")
	}
	dir := tb.TempDir()
	in := filepath.Join(dir, "sheet.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(dir, "page")
	cmd := exec.Command("pdftoppm", "-r", strconv.Itoa(dpi), "-gray", "-png", "-singlefile", in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("pdftoppm: %v: %s", err, b)
	}
	f, err := os.Open(out + ".png")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	g, _ := toGray(img)
	return g
}

func coverPDF(tb testing.TB, c CoverSheet) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := CoverSheetPDF(context.Background(), &buf, c); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func separatorPDF(tb testing.TB, value string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := SeparatorSheetPDF(context.Background(), &buf, value); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func whitePage(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = 0xFF
	}
	return g
}

// textPage renders an ordinary record page at 300 dpi: lines of text that
// name a patient and an MRN in words, as record pages do, and no barcode.
func textPage(tb testing.TB) *image.Gray {
	tb.Helper()
	fs, err := parsedFonts()
	if err != nil {
		tb.Fatal(err)
	}
	g := whitePage(pageW, pageH)
	lines := []string{
		"DISCHARGE SUMMARY",
		"Patient: FICTIONAL, Janet Q      MRN: 00482913      DOB: 03/14/1958",
		"Admitted 2025-01-02   Discharged 2025-01-09   Attending: Dr. A. Example",
		"",
		"History of present illness: 67-year-old woman admitted with community",
		"acquired pneumonia of the right lower lobe. Treated with ceftriaxone and",
		"azithromycin, then oral amoxicillin. Afebrile since day 3. Oxygen weaned.",
		"Hospital course: ||| |||| || ||| 1111 llll IIII |||| ||||| ll|| I|I|I|",
		"Medications on discharge: amoxicillin 875 mg twice daily for 5 days;",
		"lisinopril 10 mg daily; atorvastatin 20 mg at night; metformin 500 mg BID.",
		"Follow-up: primary care in 1 week; chest X-ray in 6 weeks.",
		"Lab: WBC 11.2 -> 7.9; CRP 148 -> 22; creatinine 0.9; HbA1c 7.1%.",
		"Signed electronically  ------------------------------------------------",
	}
	y := 300.0
	for i := 0; y < pageH-300; i++ {
		if l := lines[i%len(lines)]; l != "" {
			if err := drawText(g, fs.regular, 11, l, y, left); err != nil {
				tb.Fatal(err)
			}
		}
		y += 60
	}
	return g
}

// labelPage is a text page with a patient label stuck on its top right: a
// Code 128 of the MRN alone, 3 printer dots per module and a third of an
// inch tall, as wristband and chart label printers make them.
func labelPage(tb testing.TB, mrn string) *image.Gray {
	tb.Helper()
	g := textPage(tb)
	bar, err := code128Matrix(mrn)
	if err != nil {
		tb.Fatal(err)
	}
	x0, y0 := pageW-margin-3*bar.GetWidth()-60, 60
	fillWhite(g, image.Rect(x0-60, y0-30, pageW-margin, y0+130))
	drawMatrix(g, bar, x0, y0, 3, 100)
	return g
}

func fillWhite(g *image.Gray, r image.Rectangle) {
	r = r.Intersect(g.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			g.Pix[y*g.Stride+x] = 0xFF
		}
	}
}

// Scan damage.

type damage func(g *image.Gray, r *rand.Rand) *image.Gray

// chain applies damage in order.
func chain(ds ...damage) damage {
	return func(g *image.Gray, r *rand.Rand) *image.Gray {
		for _, d := range ds {
			g = d(g, r)
		}
		return g
	}
}

func none(g *image.Gray, _ *rand.Rand) *image.Gray { return g }

// at resamples a 300-dpi page to dpi (area average over the bilinear
// footprint: a scanner's optics integrate over the pixel).
func at(dpi int) damage {
	return func(g *image.Gray, _ *rand.Rand) *image.Gray {
		s := float64(dpi) / 300
		w, h := int(float64(g.Rect.Dx())*s), int(float64(g.Rect.Dy())*s)
		out := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				// average the source box [x/s, (x+1)/s) with 2×2 bilinear taps
				var sum float64
				for _, d := range [][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}} {
					sum += bilinear(g, (float64(x)+d[0])/s-0.5, (float64(y)+d[1])/s-0.5)
				}
				out.Pix[y*w+x] = uint8(sum/4 + 0.5)
			}
		}
		return out
	}
}

func bilinear(g *image.Gray, fx, fy float64) float64 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
	ax, ay := fx-float64(x0), fy-float64(y0)
	px := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 255 // paper beyond the page
		}
		return float64(g.Pix[y*g.Stride+x])
	}
	top := px(x0, y0)*(1-ax) + px(x0+1, y0)*ax
	bot := px(x0, y0+1)*(1-ax) + px(x0+1, y0+1)*ax
	return top*(1-ay) + bot*ay
}

// jpegQ encodes and decodes the page as a gray JPEG of quality q.
func jpegQ(q int) damage {
	return func(g *image.Gray, _ *rand.Rand) *image.Gray {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: q}); err != nil {
			panic(err)
		}
		img, err := jpeg.Decode(&buf)
		if err != nil {
			panic(err)
		}
		out, _ := toGray(img)
		return out
	}
}

// bilevel thresholds at mid gray, as black-and-white scanners do.
func bilevel(g *image.Gray, _ *rand.Rand) *image.Gray {
	out := image.NewGray(g.Rect)
	for i, v := range g.Pix {
		if v >= 128 {
			out.Pix[i] = 0xFF
		}
	}
	return out
}

// skew turns the page by deg degrees counter-clockwise about its centre
// with bilinear interpolation; deg 0 draws a random angle in ±2°.
func skew(deg float64) damage {
	return func(g *image.Gray, r *rand.Rand) *image.Gray {
		if deg == 0 {
			deg = (r.Float64()*2 - 1) * 2
		}
		sin, cos := math.Sincos(deg * math.Pi / 180)
		w, h := g.Rect.Dx(), g.Rect.Dy()
		cx, cy := float64(w)/2, float64(h)/2
		out := image.NewGray(g.Rect)
		for y := range h {
			for x := range w {
				dx, dy := float64(x)-cx, float64(y)-cy
				// inverse rotation (image y points down)
				sx := cos*dx - sin*dy + cx
				sy := sin*dx + cos*dy + cy
				out.Pix[y*w+x] = uint8(bilinear(g, sx, sy) + 0.5)
			}
		}
		return out
	}
}

// speckle adds n specks of dust or toner (black dots of 1 to 3 pixels) and
// n dropouts (white dots of the same sizes) at random.
func speckle(n int) damage {
	return func(g *image.Gray, r *rand.Rand) *image.Gray {
		out := image.NewGray(g.Rect)
		copy(out.Pix, g.Pix)
		w, h := g.Rect.Dx(), g.Rect.Dy()
		for i := range 2 * n {
			v := uint8(0)
			if i >= n {
				v = 0xFF
			}
			x, y, s := r.IntN(w-3), r.IntN(h-3), 1+r.IntN(3)
			for dy := range s {
				for dx := range s {
					out.Pix[(y+dy)*w+x+dx] = v
				}
			}
		}
		return out
	}
}

// fade makes a low-quality print: grey toner (ink at 40% black), a blur,
// and uneven paper.
func fade(g *image.Gray, r *rand.Rand) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(g.Rect)
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			var s int
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					s += int(g.Pix[(y+dy)*w+x+dx])
				}
			}
			v := float64(s) / 9                   // blur
			v = 150 + v*(230-150)/255             // ink 150, paper 230
			v += 15 * float64(x+y) / float64(w+h) // uneven lighting
			v += r.NormFloat64() * 6
			out.Pix[y*w+x] = uint8(max(0, min(255, v)))
		}
	}
	return out
}

// turn rotates the page by k quarter turns clockwise (fed sideways or
// upside down); a negative k draws 0, 90, 180 or 270 degrees at random.
func turn(k int) damage {
	return func(g *image.Gray, r *rand.Rand) *image.Gray {
		if k < 0 {
			k = r.IntN(4)
		}
		for range (4 - k%4) % 4 { // k clockwise turns are 4-k counter-clockwise ones
			g = rotateCCW(g)
		}
		return g
	}
}
