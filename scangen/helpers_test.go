package scangen

import (
	"image"
	"testing"
)

// testPage renders page index i of a batch planned from opt, with its
// truth, as Generate would.
func testPage(t *testing.T, opt Options, i int) (*pageImage, PageTruth) {
	t.Helper()
	if opt.Format == "" {
		opt.Format = FormatPDF
	}
	if opt.Pages < i+1 {
		opt.Pages = i + 1
	}
	if err := opt.normalize(); err != nil {
		t.Fatal(err)
	}
	pages := plan(&opt)
	img, tr, err := renderPage(&pages[i], opt.Seed)
	if err != nil {
		t.Fatal(err)
	}
	return img, tr
}

// renderTestPage is a real page bitmap: a clean 300-dpi page, thresholded.
func renderTestPage(t *testing.T) *image.Gray {
	t.Helper()
	pg, _ := testPage(t, Options{Seed: 11, Clean: true, DPI: 300, Bilevel: 1}, 0)
	return pg.img
}

// noisyBilevelPage is a degraded bilevel page with specks and skew.
func noisyBilevelPage(t *testing.T) *image.Gray {
	t.Helper()
	pg, _ := testPage(t, Options{Seed: 12, DPI: 200, Bilevel: 1, MaxSkew: 1.5}, 0)
	return pg.img
}

func sameImage(a, b *image.Gray) (image.Point, bool) {
	if a.Rect.Size() != b.Rect.Size() {
		return image.Point{-1, -1}, false
	}
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := 0; y < h; y++ {
		ra := a.Pix[y*a.Stride : y*a.Stride+w]
		rb := b.Pix[y*b.Stride : y*b.Stride+w]
		for x := range ra {
			if ra[x] != rb[x] {
				return image.Point{x, y}, false
			}
		}
	}
	return image.Point{}, true
}
