package split

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"paperchart/scangen"
)

// TestRenderPDFPageSizeUnknown renders a 30 x 30 inch born-digital page
// whose size the caller did not pass: Render must find it and cap the dpi,
// not draw 9000 x 9000 pixels and refuse.
func TestRenderPDFPageSizeUnknown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "poster.pdf")
	if err := os.WriteFile(path, scangen.BornDigitalPDF(2160, 2160, 60, "HUGE PAGE"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  PageSource
	}{
		{"size known", PageSource{No: 1, Path: path, Kind: KindPDF, Width: 2160, Height: 2160}},
		{"size unknown", PageSource{No: 1, Path: path, Kind: KindPDF}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, dpi, err := Render(context.Background(), tc.src, 300)
			if err != nil {
				t.Fatal(err)
			}
			b := img.Bounds()
			if px := int64(b.Dx()) * int64(b.Dy()); px > DefaultLimits().MaxRenderPixels || dpi >= 300 {
				t.Fatalf("rendered %dx%d at %d dpi", b.Dx(), b.Dy(), dpi)
			}
			if want := 30 * dpi; b.Dx() < want-2 || b.Dx() > want+2 {
				t.Fatalf("width %d px at %d dpi, want %d", b.Dx(), dpi, want)
			}
		})
	}
}
