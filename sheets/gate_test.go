package sheets

import (
	"image"
	"math/rand/v2"
	"testing"
)

// gateOf runs the gate as detect does, on the page's 100-dpi copy.
func gateOf(g *image.Gray) bool {
	p := prepared{full: g, scaled: map[int]*image.Gray{}}
	return p.mayHoldCode(max(g.Rect.Dx(), g.Rect.Dy()) / 11)
}

// TestMayHoldCode: the gate lets through every page with a code, however
// scanned, and stops ordinary text pages (else it would save nothing).
// Every test of Detect runs through it as well.
func TestMayHoldCode(t *testing.T) {
	pages := map[string]*image.Gray{
		"text":       textPage(t),
		"label":      labelPage(t, "00482913"),
		"cover":      rasterize(t, coverPDF(t, typicalCover), 300),
		"separator":  rasterize(t, separatorPDF(t, ""), 200),
		"long cover": rasterize(t, coverPDF(t, longCover), 300),
	}
	for seed := range uint64(4) {
		pages[string(rune('1'+seed))] = generatedPage(t, seed+1)
	}
	tests := []struct {
		name string
		page string
		d    damage
		want bool
	}{
		{"text 300 dpi", "text", none, false},
		{"text 200 dpi JPEG q60", "text", chain(at(200), jpegQ(60)), false},
		{"text bilevel speckled, fed 90°", "text", chain(bilevel, speckle(20000), turn(1)), false},
		{"text faded", "text", fade, false},
		{"generated record page 1", "1", none, false},
		{"generated record page 2", "2", none, false},
		{"generated record page 3", "3", none, false},
		{"generated record page 4, 200 dpi JPEG q60", "4", chain(at(200), jpegQ(60)), false},
		{"generated record page 1 faded", "1", fade, false},
		{"label 300 dpi", "label", none, true},
		{"label 200 dpi bilevel, skew 1°", "label", chain(skew(1), at(200), bilevel), true},
		{"label faded, JPEG q60", "label", chain(fade, jpegQ(60)), true},
		{"label fed 90°", "label", turn(1), true},
		{"cover faded, fed 180°", "cover", chain(fade, turn(2)), true},
		{"cover 200 dpi, speckled", "cover", chain(at(200), speckle(20000)), true},
		{"separator JPEG q60", "separator", jpegQ(60), true},
		{"long cover 200 dpi bilevel", "long cover", chain(at(200), bilevel), true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.d(pages[tt.page], rand.New(rand.NewPCG(9, uint64(i))))
			if got := gateOf(g); got != tt.want {
				t.Errorf("mayHoldCode = %v, want %v", got, tt.want)
			}
		})
	}
}
