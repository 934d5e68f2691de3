package ocr

import (
	"image"
	"image/draw"
	"math/rand/v2"
	"paperchart/chart"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Test pages are rendered here at 300 dpi on US Letter, black Go Regular
// text on white, so the repository needs no image fixtures.

const (
	testDPI    = 300
	pageW      = 2550 // 8.5 in
	pageH      = 3300 // 11 in
	leftMargin = 300
	topMargin  = 330
	fontPt     = 10.5
)

// clinicalLines is a short discharge summary (invented).
var clinicalLines = []string{
	"DISCHARGE SUMMARY",
	"Patient: Margaret Ellison, MRN 4471-2209, DOB 03/14/1952",
	"Admitted 2024-02-11 and discharged 2024-02-16 under Dr. Robert Okafor.",
	"Diagnosis: community acquired pneumonia of the right lower lobe.",
	"History: a 71 year old woman with fever, productive cough and dyspnea.",
	"Treatment: ceftriaxone 1 g daily and azithromycin 500 mg for five days.",
	"The chest radiograph on day four showed improving consolidation.",
	"Medications at discharge: amoxicillin 875 mg twice daily for 3 days.",
	"Follow up with the primary care physician within one week.",
	"Signed electronically by Robert Okafor, MD",
}

// page is a rendered test page with where some words were drawn.
type page struct {
	img   *image.Gray
	truth string                     // lines joined by newlines
	boxes map[string]image.Rectangle // ink bounds of words, first occurrence
}

var (
	faceOnce sync.Once
	face     font.Face
	faceErr  error
)

func testFace(tb testing.TB) font.Face {
	tb.Helper()
	faceOnce.Do(func() {
		f, err := opentype.Parse(goregular.TTF)
		if err != nil {
			faceErr = err
			return
		}
		face, faceErr = opentype.NewFace(f, &opentype.FaceOptions{Size: fontPt, DPI: testDPI, Hinting: font.HintingFull})
	})
	if faceErr != nil {
		tb.Fatalf("load Go font: %v", faceErr)
	}
	return face
}

// renderPage draws lines onto a white Letter page, one text line each.
func renderPage(tb testing.TB, lines []string) page {
	tb.Helper()
	f := testFace(tb)
	img := image.NewGray(image.Rect(0, 0, pageW, pageH))
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: img, Src: image.Black, Face: f}
	pitch := f.Metrics().Height.Ceil() + 12
	boxes := map[string]image.Rectangle{}
	y := topMargin + f.Metrics().Ascent.Ceil()
	for _, line := range lines {
		x := fixed.I(leftMargin)
		for i, word := range strings.Split(line, " ") {
			if i > 0 {
				x += d.MeasureString(" ")
			}
			d.Dot = fixed.Point26_6{X: x, Y: fixed.I(y)}
			b, _ := d.BoundString(word)
			if _, ok := boxes[word]; !ok {
				boxes[word] = image.Rect(b.Min.X.Floor(), b.Min.Y.Floor(), b.Max.X.Ceil(), b.Max.Y.Ceil())
			}
			d.DrawString(word)
			x = d.Dot.X
		}
		y += pitch
	}
	return page{img: img, truth: strings.Join(lines, "\n"), boxes: boxes}
}

// denseLines makes n lines of about 85 characters of clinical-sounding
// prose, deterministic, for benchmarks at full-page density.
func denseLines(n int) []string {
	vocab := strings.Fields(`patient reports chest pain shortness of breath since
		morning denies fever chills nausea vomiting history of hypertension
		diabetes mellitus type two hyperlipidemia on metformin lisinopril
		atorvastatin aspirin blood pressure heart rate respiratory rate oxygen
		saturation room air examination reveals clear lungs regular rhythm no
		murmurs abdomen soft nontender extremities without edema plan admit
		telemetry serial troponins electrocardiogram echocardiogram consult
		cardiology continue home medications follow up results discussed with
		family daughter agrees with plan of care`)
	r := rand.New(rand.NewPCG(1, 2))
	lines := make([]string, n)
	for i := range lines {
		var sb strings.Builder
		for sb.Len() < 80 {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(vocab[r.IntN(len(vocab))])
		}
		lines[i] = sb.String()
	}
	return lines
}

// speckle adds salt-and-pepper noise: each pixel turns black with
// probability pepper and white with probability salt.
func speckle(g *image.Gray, pepper, salt float64, seed uint64) *image.Gray {
	out := image.NewGray(g.Rect)
	copy(out.Pix, g.Pix)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range out.Pix {
		switch p := r.Float64(); {
		case p < pepper:
			out.Pix[i] = 0
		case p < pepper+salt:
			out.Pix[i] = 0xff
		}
	}
	return out
}

// whitePage is a blank Letter page.
func whitePage() *image.Gray {
	img := image.NewGray(image.Rect(0, 0, pageW, pageH))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	return img
}

// levenshtein is the edit distance between a and b, in runes.
func levenshtein(a, b string) int { return chart.Edits([]rune(a), []rune(b), -1, false) }

// cer is the character error rate of got against truth, whitespace runs
// counted as one space.
func cer(got, truth string) float64 {
	g, t := strings.Join(strings.Fields(got), " "), strings.Join(strings.Fields(truth), " ")
	if len(t) == 0 {
		return float64(len(g))
	}
	return float64(levenshtein(g, t)) / float64(len([]rune(t)))
}

// scanNoise imitates a scanner: grey paper (235) with gaussian noise of
// sigma grey levels, and n dark specks of radius 0.3 to 2.5 px.
func scanNoise(g *image.Gray, n int, sigma float64, seed uint64) *image.Gray {
	out := image.NewGray(g.Rect)
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i, v := range g.Pix {
		f := float64(v)*235/255 + r.NormFloat64()*sigma
		out.Pix[i] = uint8(max(0, min(255, f)))
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	for range n {
		cx, cy := r.Float64()*float64(w), r.Float64()*float64(h)
		rad := 0.3 + r.Float64()*r.Float64()*2.2
		level := uint8(r.IntN(90))
		for y := int(cy - rad); y <= int(cy+rad); y++ {
			for x := int(cx - rad); x <= int(cx+rad); x++ {
				dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
				if x >= 0 && y >= 0 && x < w && y < h && dx*dx+dy*dy <= rad*rad+0.25 {
					out.Pix[y*out.Stride+x] = min(out.Pix[y*out.Stride+x], level)
				}
			}
		}
	}
	return out
}
