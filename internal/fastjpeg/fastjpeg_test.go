package fastjpeg

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// page draws a grey test page: paper, dark strokes and noise.
func page(w, h int) *image.Gray {
	r := rand.New(rand.NewPCG(1, 2))
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = uint8(235 + r.IntN(20))
	}
	for y := 100; y < h-100; y += 40 {
		for x := 100; x < w-100; x++ {
			if (x/7)%3 != 0 {
				for dy := 0; dy < 12; dy++ {
					g.SetGray(x, y+dy, color.Gray{Y: uint8(20 + r.IntN(40))})
				}
			}
		}
	}
	return g
}

func meanAbsDiff(a, b *image.Gray) float64 {
	var sum float64
	for y := 0; y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			d := int(a.GrayAt(x, y).Y) - int(b.GrayAt(x, y).Y)
			sum += float64(max(d, -d))
		}
	}
	return sum / float64(a.Rect.Dx()*a.Rect.Dy())
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		img  *image.Gray
	}{
		{"page", page(850, 1100)},
		{"odd width", page(333, 101)},
		{"sub-image", page(400, 400).SubImage(image.Rect(13, 17, 301, 250)).(*image.Gray)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(tc.img, 85, 300)
			if err != nil {
				t.Fatal(err)
			}
			// Standard decoders read what we write...
			std, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("image/jpeg cannot read it: %v", err)
			}
			if std.Bounds().Dx() != tc.img.Rect.Dx() || std.Bounds().Dy() != tc.img.Rect.Dy() {
				t.Fatalf("size %v, want %v", std.Bounds(), tc.img.Rect)
			}
			// ...and we read it back close to the original, with its dpi.
			g, dpi, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if dpi != 300 {
				t.Errorf("dpi %d, want 300", dpi)
			}
			orig := image.NewGray(image.Rect(0, 0, tc.img.Rect.Dx(), tc.img.Rect.Dy()))
			for y := range orig.Rect.Dy() {
				copy(orig.Pix[y*orig.Stride:], tc.img.Pix[tc.img.PixOffset(tc.img.Rect.Min.X, tc.img.Rect.Min.Y+y):][:orig.Rect.Dx()])
			}
			if d := meanAbsDiff(orig, g); d > 4 {
				t.Errorf("mean difference %.2f grey levels after a round trip", d)
			}
		})
	}
}

func TestDecodeMatchesImageJPEG(t *testing.T) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, page(600, 800), &jpeg.Options{Quality: 80})
	want, _ := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	got, _, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if d := meanAbsDiff(want.(*image.Gray), got); d > 1 {
		t.Fatalf("decoders differ by %.2f grey levels on average", d)
	}
}

func TestDecodeRejectsDamaged(t *testing.T) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, page(600, 800), nil)
	full := buf.Bytes()
	tests := map[string][]byte{
		"truncated": full[:len(full)/2],
		"not jpeg":  []byte("GIF89a........"),
		"empty":     nil,
	}
	for name, b := range tests {
		if _, _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	g := page(2550, 3300)
	b.Run("fastjpeg", func(b *testing.B) {
		for b.Loop() {
			Encode(g, 80, 300)
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			jpeg.Encode(&bytes.Buffer{}, g, &jpeg.Options{Quality: 80})
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	data, _ := Encode(page(2550, 3300), 80, 300)
	b.Run("fastjpeg", func(b *testing.B) {
		for b.Loop() {
			Decode(data)
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			jpeg.Decode(bytes.NewReader(data))
		}
	})
}
