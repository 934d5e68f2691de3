package split

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sharedPDFs is ../shared/data/pdfs relative to the repository root, seen
// from this package's directory.
const sharedPDFs = "../../shared/data/pdfs"

// TestSharedFiles runs every file in the shared corpus through Inspect, Split
// and Render, when the corpus is present.
func TestSharedFiles(t *testing.T) {
	if _, err := os.Stat(sharedPDFs); err != nil {
		t.Skip("shared corpus absent:", err)
	}
	needTool(t, "pdftoppm")
	expect := map[string]struct {
		pages int
		code  string
	}{
		"2400dpi.pdf":         {pages: 1},
		"blank.pdf":           {pages: 1},
		"c02-22.pdf":          {pages: 1},
		"cardinal.pdf":        {pages: 4},
		"ccitt.pdf":           {pages: 1},
		"encrypted_algo4.pdf": {pages: 1}, // owner password only: accepted unless RejectRestricted
		"enormous.pdf":        {pages: 1},
		"epson.pdf":           {pages: 1},
		"invalid.pdf":         {code: CodeCorrupt},
		"jbig2.pdf":           {pages: 1},
		"kcs.pdf":             {pages: 1}, // broken xref, repaired by pdfcpu and poppler
		"linn.pdf":            {pages: 1},
		"linn.png":            {pages: 1},
		"multipage.pdf":       {pages: 6},
		"negzero.pdf":         {pages: 1},
		"no_contents.pdf":     {pages: 1}, // renders blank
		"rotated_skew.pdf":    {pages: 1},
		"skew.pdf":            {pages: 1},
		"trivial.pdf":         {pages: 1}, // renders blank
		"typewriter.png":      {pages: 1},
	}
	files, _ := filepath.Glob(filepath.Join(sharedPDFs, "*"))
	ctx := context.Background()
	for _, f := range files {
		name := filepath.Base(f)
		want, ok := expect[name]
		if !ok {
			t.Errorf("%s: no expectation; add it to the table", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			info, err := Inspect(ctx, f, Limits{})
			if want.code != "" {
				r, ok := IsRejection(err)
				if !ok || r.Code != want.code {
					t.Fatalf("want rejection %s, got %v", want.code, err)
				}
				t.Logf("rejected %s: %s", r.Code, r.Reason)
				return
			}
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if info.Pages != want.pages {
				t.Fatalf("Inspect: %d pages, want %d", info.Pages, want.pages)
			}
			t0 := time.Now()
			_, pages, err := Split(ctx, f, t.TempDir(), Limits{})
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			t.Logf("split in %v", time.Since(t0).Round(time.Millisecond))
			if len(pages) != want.pages {
				t.Fatalf("Split: %d pages, want %d", len(pages), want.pages)
			}
			lim := DefaultLimits()
			for _, p := range pages {
				t0 := time.Now()
				img, dpi, err := Render(ctx, p, 300)
				if err != nil {
					t.Fatalf("render page %d: %v", p.No, err)
				}
				s := img.Bounds().Size()
				t.Logf("page %d: %s %s dpi=%.0f rotate=%d -> %dx%d at %d dpi in %v", p.No, p.Kind, filepath.Ext(p.Path), p.DPI, p.Rotate, s.X, s.Y, dpi, time.Since(t0).Round(time.Millisecond))
				if s.X < 100 || s.Y < 100 || int64(s.X)*int64(s.Y) > lim.MaxRenderPixels*102/100 || dpi < 50 || dpi > 600 {
					t.Errorf("page %d: implausible render %v at %d dpi", p.No, s, dpi)
				}
				if p.Kind == KindImage && filepath.Ext(f) == ".pdf" {
					// An extracted page image must look like poppler's drawing of the page.
					ref := pdftoppmPage(t, f, p.No, dpi)
					rs := ref.Bounds().Size()
					if abs(s.X-rs.X) > 2+rs.X/100 || abs(s.Y-rs.Y) > 2+rs.Y/100 {
						t.Errorf("page %d: %v, pdftoppm draws %v", p.No, s, rs)
					}
					if m, r := meanGray(img), meanGray(ref); m < r-6 || m > r+6 {
						t.Errorf("page %d: mean gray %.1f, pdftoppm %.1f (inverted or wrong image?)", p.No, m, r)
					}
				}
			}
		})
	}
	t.Run("encrypted_algo4.pdf restricted", func(t *testing.T) {
		_, err := Inspect(ctx, filepath.Join(sharedPDFs, "encrypted_algo4.pdf"), Limits{RejectRestricted: true})
		if r, ok := IsRejection(err); !ok || r.Code != CodeEncrypted {
			t.Fatalf("want encrypted rejection, got %v", err)
		}
	})
}

// BenchmarkSplit measures Split of a 20-page scanned PDF (letter, 300 dpi)
// and Render of its pages: go test -bench Split ./split/.
func BenchmarkSplit(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		enc  func(testing.TB, image.Image) []byte
	}{{"jpeg", jpegBytes}, {"png", pngBytes}} {
		var imgs [][]byte
		for i := 0; i < 20; i++ {
			imgs = append(imgs, tc.enc(b, pageImage(2550, 3300, i)))
		}
		path := writeTemp(b, "scan.pdf", scannedPDF(b, imgs...))
		b.Run(tc.name+"/split20", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Split(ctx, path, b.TempDir(), Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		_, pages, err := Split(ctx, path, b.TempDir(), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/render", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Render(ctx, pages[0], 300); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
