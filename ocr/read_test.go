package ocr

import (
	"context"
	"image"
	"image/draw"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

func TestShrink(t *testing.T) {
	tests := []struct {
		name      string
		src       *image.Gray
		w, h      int
		want      []uint8
		tolerance int
	}{
		{"uniform stays uniform", grayFrom(3, 3, 90, 90, 90, 90, 90, 90, 90, 90, 90), 2, 2, []uint8{90, 90, 90, 90}, 0},
		{"3 to 2: partial pixels weighted by share", grayFrom(3, 1, 0, 90, 180), 2, 1, []uint8{30, 150}, 1},
		{"2 to 1 is a plain mean", grayFrom(2, 2, 0, 100, 200, 100), 1, 1, []uint8{100}, 0},
		{"same size copies", grayFrom(2, 1, 7, 250), 2, 1, []uint8{7, 250}, 0},
		{"white edge to black edge", grayFrom(6, 1, 255, 255, 255, 0, 0, 0), 4, 1, []uint8{255, 255, 0, 0}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shrink(tt.src, tt.w, tt.h)
			if got.Rect.Dx() != tt.w || got.Rect.Dy() != tt.h {
				t.Fatalf("size %v, want %dx%d", got.Rect, tt.w, tt.h)
			}
			for i, v := range got.Pix {
				if abs(int(v)-int(tt.want[i])) > tt.tolerance {
					t.Errorf("pixels %v, want %v (±%d)", got.Pix, tt.want, tt.tolerance)
					break
				}
			}
		})
	}
}

func TestAreaWeightsSumToOne(t *testing.T) {
	for _, c := range [][2]int{{2550, 1700}, {3300, 2200}, {2480, 1653}, {7, 3}, {5, 5}} {
		for o, s := range areaWeights(c[0], c[1]) {
			var sum uint32
			for _, w := range s.w {
				sum += w
			}
			if sum != 1<<weightBits || s.first < 0 || s.first+len(s.w) > c[0] {
				t.Fatalf("%d→%d: output %d covers %d..%d with weights summing to %d", c[0], c[1], o, s.first, s.first+len(s.w), sum)
			}
		}
	}
}

// TestReadResolution: with ReadDPI 200 a 300-dpi page is read on a 200-dpi
// copy with its word boxes in the page's own pixels, and a 200- or 240-dpi
// page as it is; by default every page is read as scanned.
func TestReadResolution(t *testing.T) {
	p := clinicalPage(t)
	full := sharedEngine(t)
	at200, err := NewEngine(Options{ReadDPI: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer at200.Close()
	small200 := shrink(p.img, pageW*2/3, pageH*2/3)
	tests := []struct {
		name     string
		e        *Engine
		img      *image.Gray
		dpi      int
		wantRead int
	}{
		{"300 dpi read at 200", at200, p.img, 300, 200},
		{"300 dpi read as scanned by default", full, p.img, 300, 300},
		{"200 dpi read as scanned", at200, small200, 200, 200},
		{"240 dpi is close enough to read as scanned", at200, shrink(p.img, pageW*4/5, pageH*4/5), 240, 240},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, norm, err := tt.e.Recognize(context.Background(), tt.img, tt.dpi)
			if err != nil {
				t.Fatal(err)
			}
			if res.ReadDPI != tt.wantRead || res.DPI != tt.dpi {
				t.Errorf("read at %d dpi, page %d dpi; want %d, %d", res.ReadDPI, res.DPI, tt.wantRead, tt.dpi)
			}
			if norm.Bounds() != tt.img.Bounds() {
				t.Errorf("normalised page %v, want the page as scanned %v", norm.Bounds(), tt.img.Bounds())
			}
			if c := cer(res.Text, p.truth); c > 0.03 {
				t.Errorf("CER %.3f, want < 0.03", c)
			}
			checkBoxesInside(t, res)
			if tt.dpi == 300 {
				for _, word := range []string{"ceftriaxone", "radiograph", "Ellison,"} {
					checkWordBox(t, res, word, p.boxes[word], 5)
				}
			}
		})
	}
}

// TestSmallPrintReadAsScanned: print too small for a 200-dpi copy (its
// words under 16 px high there, or read with low confidence) is read again
// as scanned and the better reading kept.
func TestSmallPrintReadAsScanned(t *testing.T) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	full := sharedEngine(t)
	at200, err := NewEngine(Options{ReadDPI: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer at200.Close()
	truth := strings.Join(clinicalLines, "\n")
	// 4 pt: words about 11 px high at 200 dpi, read there with confidence
	// 90 but 1.4% of characters wrong; 3 pt: confidence 51, a quarter wrong.
	for _, pt := range []float64{4, 3} {
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: pt, DPI: testDPI, Hinting: font.HintingFull})
		if err != nil {
			t.Fatal(err)
		}
		img := image.NewGray(image.Rect(0, 0, pageW, pageH))
		draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
		d := &font.Drawer{Dst: img, Src: image.Black, Face: face}
		y := topMargin
		for _, line := range clinicalLines {
			d.Dot = fixed.P(leftMargin, y)
			d.DrawString(line)
			y += face.Metrics().Height.Ceil() + 4
		}
		res, _, err := at200.Recognize(context.Background(), img, testDPI)
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := full.Recognize(context.Background(), img, testDPI)
		if err != nil {
			t.Fatal(err)
		}
		if res.ReadDPI != testDPI {
			t.Errorf("%.0f-pt print read at %d dpi (confidence %.0f), want as scanned (%d)", pt, res.ReadDPI, res.MeanConfidence, testDPI)
		}
		if got, as := cer(res.Text, truth), cer(want.Text, truth); got > as+0.005 {
			t.Errorf("%.0f-pt print: CER %.3f, read as scanned alone %.3f", pt, got, as)
		}
	}
}

// TestShrink32MatchesGeneral: the 3-to-2 fast path gives what the general
// area average gives, within rounding.
func TestShrink32MatchesGeneral(t *testing.T) {
	p := clinicalPage(t)
	g := speckle(p.img, 0.01, 0.01, 3)
	fast := shrink(g, pageW*2/3, pageH*2/3)
	// The general path, forced: one pixel narrower input is not 3:2.
	xs, ys := areaWeights(pageW, pageW*2/3), areaWeights(pageH, pageH*2/3)
	worst := 0
	for y, sy := range ys {
		for x, sx := range xs {
			var sum uint64
			for j, wy := range sy.w {
				for i, wx := range sx.w {
					sum += uint64(g.Pix[(sy.first+j)*g.Stride+sx.first+i]) * uint64(wx) * uint64(wy)
				}
			}
			want := int((sum + 1<<(2*weightBits-1)) >> (2 * weightBits))
			worst = max(worst, abs(want-int(fast.Pix[y*fast.Stride+x])))
		}
	}
	if worst > 1 {
		t.Errorf("fast 3:2 shrink differs from the area average by up to %d levels, want at most 1", worst)
	}
}
