package sheets

import "image"

// A page without a barcode ran every attempt of detect, about a tenth of
// its OCR time. After the first attempt (QR codes on the 100-dpi copy,
// which reads a clean code of any size), mayHoldCode tells cheaply, on that
// same copy, whether the page has any place a code could be: the darkest
// codeWindowIn by half of it of a cover or separator sheet's codes, or of a
// patient label's Code 128, is 0.73 or darker (mean darkness, 0 paper, 1
// ink; finder patterns and wide bars), however it was scanned, while text
// stays under 0.4 and the generator's record pages (letterheads, bold
// headings, rules, tables) under 0.53 (TestMayHoldCode). Mean darkness over
// an area does not depend on blur, JPEG artefacts or how narrow the bars
// are, and it is measured against the page's own paper and ink, so faded
// or grey scans pass too. Logos, photographs and black boxes pass as well:
// for them detect simply runs every attempt, as before.

const (
	// codeWindowIn is the long side of the window, in inches; the short
	// side is half of it, and both orientations are tried (codes fed
	// sideways).
	codeWindowIn = 0.3
	// minCodeDarkness is the mean darkness a window must reach.
	minCodeDarkness = 0.6
)

// mayHoldCode is the gate on the page's copy downscaled to about 100 dpi,
// the one detect's first attempt reads (dpi is the page's).
func (p *prepared) mayHoldCode(dpi int) bool {
	f := max(1, (dpi+50)/100)
	return mayHoldCode(p.downscaled(f, false).img, dpi/f)
}

// mayHoldCode tells whether g, about dpi, has a window dark enough for a
// code. It is one pass to build a summed-area table and one over windows.
func mayHoldCode(g *image.Gray, dpi int) bool {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	long := max(4, int(codeWindowIn*float64(dpi)+0.5))
	short := max(2, long/2)
	if w < short || h < short {
		return true // too small to judge: let the readers look
	}
	paper, ink := levels(g)
	if paper-ink < 40 {
		return true // no contrast to speak of: let the readers decide
	}
	// Summed-area table of darkness, paper - pixel clamped at 0.
	sat := make([]uint32, (w+1)*(h+1))
	for y := range h {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		var run uint32
		above := sat[y*(w+1) : (y+1)*(w+1)]
		cur := sat[(y+1)*(w+1) : (y+2)*(w+1)]
		for x, p := range row {
			if int(p) < paper {
				run += uint32(paper - int(p))
			}
			cur[x+1] = above[x+1] + run
		}
	}
	sum := func(x0, y0, x1, y1 int) uint32 {
		return sat[y1*(w+1)+x1] - sat[y0*(w+1)+x1] - sat[y1*(w+1)+x0] + sat[y0*(w+1)+x0]
	}
	for _, win := range [][2]int{{long, short}, {short, long}} {
		ww, wh := min(win[0], w), min(win[1], h)
		need := uint32(minCodeDarkness * float64(paper-ink) * float64(ww*wh))
		// Windows overlapping by half: a code spans at least one fully.
		sx, sy := max(1, ww/4), max(1, wh/4)
		for y := 0; y+wh <= h; y += sy {
			for x := 0; x+ww <= w; x += sx {
				if sum(x, y, x+ww, y+wh) >= need {
					return true
				}
			}
		}
	}
	return false
}

// levels estimates the page's paper and ink grey levels: the median of a
// sample of its pixels (most of a page is paper) and its 1st percentile.
func levels(g *image.Gray) (paper, ink int) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var hist [256]int
	n := 0
	for y := 0; y < h; y += 2 {
		for _, p := range g.Pix[y*g.Stride : y*g.Stride+w] {
			hist[p]++
		}
		n += w
	}
	cum := 0
	ink, paper = -1, 255
	for v, c := range hist {
		cum += c
		if ink < 0 && cum*100 >= n {
			ink = v
		}
		if cum*2 >= n {
			paper = v
			break
		}
	}
	return paper, max(ink, 0)
}
