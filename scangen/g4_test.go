package scangen

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/ccitt"
)

// decodeG4 decodes a G4 stream with x/image/ccitt into a Gray image (0 black,
// 255 white).
func decodeG4(t *testing.T, data []byte, w, h int) *image.Gray {
	t.Helper()
	r := ccitt.NewReader(bytes.NewReader(data), ccitt.MSB, ccitt.Group4, w, h, nil)
	packed, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ccitt decode: %v", err)
	}
	stride := (w + 7) / 8
	if len(packed) != stride*h {
		t.Fatalf("decoded %d bytes, want %d", len(packed), stride*h)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if packed[y*stride+x/8]&(0x80>>(x%8)) != 0 { // 1 is white
				img.Pix[y*img.Stride+x] = 255
			}
		}
	}
	return img
}

func sameBilevel(a, b *image.Gray) (int, int, bool) {
	for y := 0; y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			if (a.GrayAt(x, y).Y < 128) != (b.GrayAt(x, y).Y < 128) {
				return x, y, false
			}
		}
	}
	return 0, 0, true
}

func TestG4RoundTrip(t *testing.T) {
	random := func(w, h int, density float64, seed uint64) *image.Gray {
		r := rand.New(rand.NewPCG(seed, 1))
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			if r.Float64() >= density {
				img.Pix[i] = 255
			}
		}
		return img
	}
	// runs builds rows of alternating runs of every length in [lo, hi), to
	// exercise every terminating and make-up code of both colours.
	runs := func(lo, hi, w int) *image.Gray {
		var rows [][]uint8
		for black := range 2 {
			row := make([]uint8, 0, w)
			for n := lo; n < hi; n++ {
				// One run of n pixels of the current colour, then a
				// separator run of one pixel of the other colour.
				c, o := uint8(255), uint8(0)
				if black == 1 {
					c, o = 0, 255
				}
				need := n + 1
				if len(row)+need > w {
					for len(row) < w {
						row = append(row, 255)
					}
					rows = append(rows, row)
					row = make([]uint8, 0, w)
				}
				for range n {
					row = append(row, c)
				}
				row = append(row, o)
			}
			for len(row) < w {
				row = append(row, 255)
			}
			rows = append(rows, row)
		}
		img := image.NewGray(image.Rect(0, 0, w, len(rows)))
		for y, row := range rows {
			copy(img.Pix[y*img.Stride:], row)
		}
		return img
	}
	long := func(w int) *image.Gray {
		// Whole rows of one colour, alternating, longer than 2560 pixels.
		img := image.NewGray(image.Rect(0, 0, w, 6))
		for y := 0; y < 6; y++ {
			for x := 0; x < w; x++ {
				if (y%2 == 1) != (x > w/3 && y >= 4) {
					img.Pix[y*img.Stride+x] = 0
				} else {
					img.Pix[y*img.Stride+x] = 255
				}
			}
		}
		return img
	}
	tests := []struct {
		name string
		img  *image.Gray
	}{
		{"1x1 white", image.NewGray(image.Rect(0, 0, 1, 1))},
		{"random sparse", random(97, 53, 0.05, 1)},
		{"random half", random(64, 64, 0.5, 2)},
		{"random dense", random(333, 41, 0.9, 3)},
		{"random odd width", random(1, 17, 0.5, 4)},
		{"runs 0-200", runs(0, 200, 1500)},
		{"runs 200-2600", runs(200, 2700, 2800)},
		{"long rows", long(6000)},
		{"clean page", renderTestPage(t)},
		{"noisy skewed page", noisyBilevelPage(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h := tt.img.Rect.Dx(), tt.img.Rect.Dy()
			data := encodeG4(tt.img)
			got := decodeG4(t, data, w, h)
			if x, y, ok := sameBilevel(tt.img, got); !ok {
				t.Fatalf("pixel (%d,%d) differs after round trip", x, y)
			}
			t.Logf("%dx%d -> %d bytes", w, h, len(data))
		})
	}
}

// TestG4CodeTables checks that each run-length code set is prefix free,
// which catches most typing errors in the tables.
func TestG4CodeTables(t *testing.T) {
	for _, set := range []struct {
		name  string
		codes []code
	}{
		{"white", append(append(append([]code{}, whiteTerm...), whiteMakeup...), extMakeup...)},
		{"black", append(append(append([]code{}, blackTerm...), blackMakeup...), extMakeup...)},
		{"modes", append([]code{codePass, codeHoriz}, codeVert[:]...)},
	} {
		seen := map[string]int{}
		for i, c := range set.codes {
			s := fmt.Sprintf("%0*b", c.n, c.bits)
			for o, j := range seen {
				if len(o) <= len(s) && s[:len(o)] == o || len(s) < len(o) && o[:len(s)] == s {
					t.Errorf("%s: code %d (%s) and %d (%s) are not prefix free", set.name, i, s, j, o)
				}
			}
			seen[s] = i
		}
	}
}
