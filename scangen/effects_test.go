package scangen

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// asymmetric is a small image whose every turn is distinguishable.
func asymmetric(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*37 + i/w)
	}
	return img
}

// TestRotationTruth pins down what PageTruth.Rotation means: turning the
// stored image clockwise by Rotation degrees gives the upright page back.
func TestRotationTruth(t *testing.T) {
	for _, rot := range []int{0, 90, 180, 270} {
		upright := asymmetric(7, 5)
		e := scanEffects{rotation: rot, paper: 255}
		stored := e.apply(cloneGray(upright), rand.New(rand.NewPCG(1, 1)))
		if rot == 90 || rot == 270 {
			if stored.Rect.Dx() != 5 || stored.Rect.Dy() != 7 {
				t.Fatalf("rotation %d: stored size %v, want landscape 5x7", rot, stored.Rect.Size())
			}
		}
		back := rotateCW(stored, rot)
		if p, ok := sameImage(back, upright); !ok {
			t.Errorf("rotation %d: turning the stored image clockwise by %d differs at %v", rot, rot, p)
		}
	}
}

func cloneGray(src *image.Gray) *image.Gray {
	dst := image.NewGray(src.Rect)
	copy(dst.Pix, src.Pix)
	return dst
}

func TestRotateCW(t *testing.T) {
	// 2x1 image [a b] turned clockwise 90 becomes a column [a; b].
	src := image.NewGray(image.Rect(0, 0, 2, 1))
	src.Pix[0], src.Pix[1] = 10, 20
	tests := []struct {
		deg  int
		w, h int
		pix  []uint8
	}{
		{0, 2, 1, []uint8{10, 20}},
		{90, 1, 2, []uint8{10, 20}},
		{180, 2, 1, []uint8{20, 10}},
		{270, 1, 2, []uint8{20, 10}},
		{-90, 1, 2, []uint8{20, 10}},
		{360, 2, 1, []uint8{10, 20}},
	}
	for _, tt := range tests {
		got := rotateCW(src, tt.deg)
		if got.Rect.Dx() != tt.w || got.Rect.Dy() != tt.h || string(got.Pix) != string(tt.pix) {
			t.Errorf("rotateCW(%d) = %dx%d %v, want %dx%d %v", tt.deg, got.Rect.Dx(), got.Rect.Dy(), got.Pix, tt.w, tt.h, tt.pix)
		}
	}
}

// TestSkewImage compares the fast skew with a direct evaluation of the
// inverse rotation: white outside the source, source pixels inside.
func TestSkewImage(t *testing.T) {
	const w, h = 300, 200
	src := image.NewGray(image.Rect(0, 0, w, h))
	for i := range src.Pix {
		src.Pix[i] = uint8(i*7%200) + 1 // never 255
	}
	for _, deg := range []float64{0, 0.5, -1.5, 10, -30} {
		got := skewImage(src, deg)
		th := deg * math.Pi / 180
		c, s := math.Cos(th), math.Sin(th)
		cx, cy := float64(w-1)/2, float64(h-1)/2
		bad := 0
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sx := cx + (float64(x)-cx)*c - (float64(y)-cy)*s
				sy := cy + (float64(x)-cx)*s + (float64(y)-cy)*c
				v := got.Pix[y*w+x]
				in := sx >= 0.01 && sy >= 0.01 && sx < w-1.01 && sy < h-1.01
				out := sx < -0.01 || sy < -0.01 || sx > w-0.99 || sy > h-0.99
				if out && v != 255 || in && v == 255 {
					bad++
				}
				if in && deg == 0 && v != src.Pix[y*w+x] {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("skew %g: %d pixels wrong", deg, bad)
		}
	}
	// A positive skew turns content counter-clockwise: a point right of
	// the centre moves up.
	dot := image.NewGray(image.Rect(0, 0, 101, 101))
	for i := range dot.Pix {
		dot.Pix[i] = 255
	}
	dot.Pix[50*101+90] = 0
	got := skewImage(dot, 10)
	minY := 101
	for y := 0; y < 101; y++ {
		for x := 0; x < 101; x++ {
			if got.Pix[y*101+x] < 200 {
				minY = min(minY, y)
			}
		}
	}
	if minY >= 50 {
		t.Errorf("positive skew moved a point right of centre to row %d, want above row 50", minY)
	}
}

func TestEffectsCleanIsUntouched(t *testing.T) {
	opt := Options{Clean: true, Bilevel: 0, RotateProb: 1, BlankProb: 1, MaxSkew: 5}
	e := drawEffects(rand.New(rand.NewPCG(1, 2)), &opt)
	if e != (scanEffects{paper: 255, threshold: 128}) {
		t.Errorf("clean effects = %+v", e)
	}
}
