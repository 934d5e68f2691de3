package ocr

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"

	"golang.org/x/image/bmp"
)

func grayFrom(w, h int, v ...uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	copy(g.Pix, v)
	return g
}

func TestRotate90s(t *testing.T) {
	// 3×2:  1 2 3
	//       4 5 6
	src := grayFrom(3, 2, 1, 2, 3, 4, 5, 6)
	for _, tc := range []struct {
		deg  int
		w, h int
		want []uint8
	}{
		{0, 3, 2, []uint8{1, 2, 3, 4, 5, 6}},
		{90, 2, 3, []uint8{4, 1, 5, 2, 6, 3}},
		{180, 3, 2, []uint8{6, 5, 4, 3, 2, 1}},
		{270, 2, 3, []uint8{3, 6, 2, 5, 1, 4}},
	} {
		got := rotate90s(src, tc.deg)
		if got.Rect.Dx() != tc.w || got.Rect.Dy() != tc.h || !bytes.Equal(got.Pix, tc.want) {
			t.Errorf("rotate %d: %dx%d %v, want %dx%d %v", tc.deg, got.Rect.Dx(), got.Rect.Dy(), got.Pix, tc.w, tc.h, tc.want)
		}
	}
	// Large enough to cross tiles: four quarter turns give the original.
	big := speckle(whitePage(), 0.3, 0, 11).SubImage(image.Rect(0, 0, 301, 157)).(*image.Gray)
	g := toGray(big)
	r := g
	for range 4 {
		r = rotate90s(r, 90)
	}
	for y := range g.Rect.Dy() {
		if !bytes.Equal(r.Pix[y*r.Stride:y*r.Stride+g.Rect.Dx()], g.Pix[y*g.Stride:y*g.Stride+g.Rect.Dx()]) {
			t.Fatalf("four quarter turns changed row %d", y)
		}
	}
}

func TestRotateSmall(t *testing.T) {
	// A dark dot right of centre moves down when the content turns
	// clockwise (y grows downwards).
	const n = 201
	g := image.NewGray(image.Rect(0, 0, n, n))
	for i := range g.Pix {
		g.Pix[i] = 0xff
	}
	c := n / 2
	g.Pix[c*n+c+80] = 0
	for _, tc := range []struct {
		deg    float64
		wx, wy float64
	}{
		{0, 80, 0},
		{5, 80 * math.Cos(5*math.Pi/180), 80 * math.Sin(5*math.Pi/180)},
		{-5, 80 * math.Cos(5*math.Pi/180), -80 * math.Sin(5*math.Pi/180)},
	} {
		r := rotateSmall(g, tc.deg)
		// Darkness-weighted centre of the dot.
		var sx, sy, sw float64
		for y := range n {
			for x := range n {
				if d := 255 - float64(r.Pix[y*n+x]); d > 0 {
					sx += d * float64(x-c)
					sy += d * float64(y-c)
					sw += d
				}
			}
		}
		if sw == 0 {
			t.Fatalf("rotate %.0f: dot lost", tc.deg)
		}
		if gx, gy := sx/sw, sy/sw; math.Abs(gx-tc.wx) > 0.6 || math.Abs(gy-tc.wy) > 0.6 {
			t.Errorf("rotate %.0f: dot at (%.2f, %.2f) from centre, want (%.2f, %.2f)", tc.deg, gx, gy, tc.wx, tc.wy)
		}
	}
	// Corners uncovered by the rotation are white.
	if r := rotateSmall(g, 4); r.Pix[0] != 0xff {
		t.Errorf("corner = %d, want white", r.Pix[0])
	}
}

func TestToGray(t *testing.T) {
	r := image.Rect(0, 0, 4, 3)
	rgba := image.NewRGBA(r)
	nrgba := image.NewNRGBA(r)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	pal := image.NewPaletted(r, color.Palette{color.White, color.Black})
	g16 := image.NewGray16(r)
	cmyk := image.NewCMYK(r)
	for y := range 3 {
		for x := range 4 {
			v := uint8(x*60 + y*10)
			rgba.Set(x, y, color.RGBA{v, v, v, 255})
			nrgba.Set(x, y, color.NRGBA{v, v, v, 255})
			ycc.Y[ycc.YOffset(x, y)] = v
			g16.Set(x, y, color.Gray16{uint16(v) << 8})
			cmyk.Set(x, y, color.Gray{v})
			if v < 100 {
				pal.SetColorIndex(x, y, 1)
			}
		}
	}
	want := func(x, y int) uint8 { return uint8(x*60 + y*10) }
	for _, tc := range []struct {
		name string
		img  image.Image
		want func(x, y int) uint8
	}{
		{"rgba", rgba, want},
		{"nrgba", nrgba, want},
		{"ycbcr", ycc, want},
		{"gray16", g16, want},
		{"cmyk", cmyk, want},
		{"paletted", pal, func(x, y int) uint8 {
			if want(x, y) < 100 {
				return 0
			}
			return 255
		}},
	} {
		g := toGray(tc.img)
		for y := range 3 {
			for x := range 4 {
				if got, w := g.GrayAt(x, y).Y, tc.want(x, y); absInt(int(got)-int(w)) > 1 {
					t.Errorf("%s (%d,%d) = %d, want %d", tc.name, x, y, got, w)
				}
			}
		}
	}
	// A sub-image comes back with its origin at (0, 0).
	sub := rgba.SubImage(image.Rect(1, 1, 3, 3))
	if g := toGray(sub); g.Rect != image.Rect(0, 0, 2, 2) || g.GrayAt(0, 0).Y != want(1, 1) {
		t.Errorf("sub-image: %v, first pixel %d", g.Rect, g.GrayAt(0, 0).Y)
	}
}

func absInt(x int) int { return abs(x) }

func TestEncodeBMPRoundTrip(t *testing.T) {
	// Odd width exercises row padding.
	g := grayFrom(5, 3, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140)
	img, err := bmp.Decode(bytes.NewReader(encodeBMP(nil, g, 300)))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	for y := range 3 {
		for x := range 5 {
			if got := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y; got != g.GrayAt(x, y).Y {
				t.Errorf("(%d,%d) = %d, want %d", x, y, got, g.GrayAt(x, y).Y)
			}
		}
	}
}

func TestEncodePGM(t *testing.T) {
	g := grayFrom(3, 2, 1, 2, 3, 4, 5, 6)
	want := append([]byte("P5\n3 2\n255\n"), 1, 2, 3, 4, 5, 6)
	if got := encodePGM(nil, g); !bytes.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHalve(t *testing.T) {
	g := grayFrom(4, 2, 0, 100, 200, 200, 100, 0, 0, 0)
	h := halve(g)
	if h.Rect.Dx() != 2 || h.Rect.Dy() != 1 || h.Pix[0] != 50 || h.Pix[1] != 100 {
		t.Errorf("halve = %v %v", h.Rect, h.Pix)
	}
}

func TestPageText(t *testing.T) {
	w := func(text string, block, par, line int) Word {
		return Word{Text: text, Block: block, Par: par, Line: line}
	}
	for _, tc := range []struct {
		name  string
		words []Word
		want  string
	}{
		{"none", nil, ""},
		{"one line", []Word{w("a", 1, 1, 1), w("b", 1, 1, 1)}, "a b"},
		{"two lines", []Word{w("a", 1, 1, 1), w("b", 1, 1, 2)}, "a\nb"},
		{"two paragraphs", []Word{w("a", 1, 1, 1), w("b", 1, 2, 1)}, "a\n\nb"},
		{"two blocks", []Word{w("a", 1, 1, 1), w("b", 2, 1, 1), w("c", 2, 1, 1)}, "a\n\nb c"},
	} {
		if got := pageText(tc.words); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAnalyseSkew(t *testing.T) {
	p := renderPage(t, denseLines(20))
	for _, deg := range []float64{-4.5, -0.7, 0, 1.5, 3} {
		// rotateSmall turns clockwise; the lines then fall to the right,
		// and the skew to undo is the opposite rotation.
		img := p.img
		if deg != 0 {
			img = rotateSmall(p.img, -deg)
		}
		a := analysePage(img, testDPI)
		if math.Abs(a.skew-deg) > 0.15 {
			t.Errorf("page rotated %.1f° anticlockwise: skew %.2f", deg, a.skew)
		}
		if a.vertical {
			t.Errorf("page rotated %.1f°: called vertical", deg)
		}
		if v := analysePage(rotate90s(img, 90), testDPI); !v.vertical {
			t.Errorf("page rotated %.1f° and turned 90°: not called vertical", deg)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"mg", "mg", 0}, {"é", "e", 1},
	} {
		if got := levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
