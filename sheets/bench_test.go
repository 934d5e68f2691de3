package sheets

import (
	"context"
	"image"
	"io"
	"math/rand/v2"
	"testing"
)

// BenchmarkDetect measures Detect per page on one core's worth of work
// (Detect itself is single-threaded): sheets stop early at their first
// code; a page without barcodes runs every attempt and costs the most.
func BenchmarkDetect(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	cover300 := rasterize(b, coverPDF(b, typicalCover), 300)
	text := textPage(b)
	pages := []struct {
		name string
		page *image.Gray
	}{
		{"cover 300 dpi", cover300},
		{"cover 200 dpi JPEG q60 fed 90°", chain(jpegQ(60), turn(1))(rasterize(b, coverPDF(b, typicalCover), 200), r)},
		{"separator 300 dpi", rasterize(b, separatorPDF(b, ""), 300)},
		{"label page 300 dpi", labelPage(b, "00482913")},
		{"text page 300 dpi (no barcode)", text},
		{"text page 200 dpi JPEG q60 (no barcode)", chain(at(200), jpegQ(60))(text, r)},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Detect(context.Background(), p.page); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCoverSheetPDF(b *testing.B) {
	for b.Loop() {
		if err := CoverSheetPDF(context.Background(), io.Discard, typicalCover); err != nil {
			b.Fatal(err)
		}
	}
}
