package ocr

import (
	"image"
	"math"
)

// Page analysis on a reduced copy: ink share (blank detection), skew and a
// hint that text lines run vertically (page turned by 90 or 270 degrees).
// Everything here works on "cells": f×f blocks of the page, f chosen so the
// reduced copy is about 75 dpi, each holding how many of its pixels are
// dark. At 75 dpi, 10-pt text still shows clear line structure.

const (
	// darkLevel: a pixel darker than this is ink. Scanned paper is ~220-250
	// and print ~0-100; this leaves room for pale ink and grey paper.
	darkLevel = 160
	// analysisDPI is the resolution of the reduced copy.
	analysisDPI = 75
	// marginShare of the width and height on every side is ignored: scanner
	// edges, punched holes and shadows live there.
	marginShare = 0.05
	// maxSkew is the largest skew, in degrees, searched for.
	maxSkew = 5.0
	// minInkForGeometry: with fewer ink cells (about two lines of 10-pt
	// text at 75 dpi) skew and line direction are not estimated.
	minInkForGeometry = 800
)

// analysis is what analysePage found.
type analysis struct {
	inkCells   int     // cells that hold ink, inside the margins, speckle removed
	innerCells int     // cells inside the margins
	inkShare   float64 // inkCells / innerCells
	skew       float64 // degrees; text lines rise to the right by this much
	vertical   bool    // line structure is much stronger across than down
}

// cellGrid is the reduced copy: counts of dark pixels per f×f cell.
type cellGrid struct {
	w, h, f int
	c       []uint8
}

// reduce counts dark pixels per f×f cell of g in one pass over the pixels.
func reduce(g *image.Gray, f int) cellGrid {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	cw, ch := w/f, h/f
	grid := cellGrid{w: cw, h: ch, f: f, c: make([]uint8, cw*ch)}
	var dark [256]uint8
	for i := range darkLevel {
		dark[i] = 1
	}
	for y := 0; y < ch*f; y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+cw*f]
		out := grid.c[(y/f)*cw : (y/f)*cw+cw]
		for cx := range out {
			var n uint8
			for _, p := range row[cx*f : cx*f+f] {
				n += dark[p]
			}
			out[cx] += n
		}
	}
	return grid
}

// cellFactor is the side of a cell in pixels for a page scanned at dpi.
func cellFactor(dpi int) int {
	return max(1, min(15, int(math.Round(float64(dpi)/analysisDPI))))
}

// analysePage measures g. It costs one pass over the pixels plus work on a
// copy 16 times smaller (at 300 dpi): about 10 ms for a Letter page.
func analysePage(g *image.Gray, dpi int) analysis {
	grid := reduce(g, cellFactor(dpi))
	pts := grid.inkPoints()
	a := analysis{inkCells: len(pts.x), innerCells: pts.inner}
	if a.innerCells > 0 {
		a.inkShare = float64(a.inkCells) / float64(a.innerCells)
	}
	if len(pts.x) < minInkForGeometry {
		return a // too little text for a trustworthy angle: leave it be
	}
	var hScore, vScore float64
	a.skew, hScore = pts.bestAngle(false)
	_, vScore = pts.bestAngle(true)
	// Text lines make a strongly peaked profile across them; the profile
	// along them is much flatter. Demand a clear margin before calling the
	// page vertical: a false alarm costs one OSD pass, a miss one wasted
	// recognition pass, and both are caught later anyway.
	a.vertical = vScore > 1.3*hScore
	return a
}

// points are the ink cells inside the margins, as coordinates and weights.
type points struct {
	x, y  []int32
	wt    []float64
	w, h  int // grid size
	inner int // cells inside the margins
}

// minComponent is the smallest group of touching dark cells counted as
// ink. A scanner speck or a clump of salt-and-pepper noise, up to about 5 px
// across at 300 dpi, darkens at most 2×2 cells; a word of 10-pt text
// darkens dozens.
const minComponent = 8

// inkPoints keeps cells that are dark (at least a quarter of their pixels)
// and belong to a group of at least minComponent 8-connected dark cells,
// inside the margins: specks and noise do not survive, text does.
func (g cellGrid) inkPoints() points {
	full := g.f * g.f
	minDark := uint8(max(1, full/4))
	mx, my := int(float64(g.w)*marginShare+0.5), int(float64(g.h)*marginShare+0.5)
	x0, x1, y0, y1 := max(mx, 1), min(g.w-mx, g.w-1), max(my, 1), min(g.h-my, g.h-1)
	p := points{w: g.w, h: g.h}
	if x1 <= x0 || y1 <= y0 {
		return p
	}
	p.inner = (x1 - x0) * (y1 - y0)
	// 0: not dark or outside; 1: dark, unvisited; 2: visited.
	state := make([]uint8, len(g.c))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if g.c[y*g.w+x] >= minDark {
				state[y*g.w+x] = 1
			}
		}
	}
	var comp, stack []int32
	for i0, st := range state {
		if st != 1 {
			continue
		}
		comp, stack = comp[:0], append(stack[:0], int32(i0))
		state[i0] = 2
		for len(stack) > 0 {
			i := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			comp = append(comp, int32(i))
			// Cells on the grid's border are never marked, so the
			// neighbours of a marked cell are all inside the grid.
			for _, j := range [8]int{i - g.w - 1, i - g.w, i - g.w + 1, i - 1, i + 1, i + g.w - 1, i + g.w, i + g.w + 1} {
				if state[j] == 1 {
					state[j] = 2
					stack = append(stack, int32(j))
				}
			}
		}
		if len(comp) < minComponent {
			continue
		}
		for _, i := range comp {
			p.x = append(p.x, i%int32(g.w))
			p.y = append(p.y, i/int32(g.w))
			p.wt = append(p.wt, float64(g.c[i])/float64(full))
		}
	}
	return p
}

// profileScore projects the points along lines at angle deg (rising to the
// right) onto the axis across them and returns the sum of squared bin
// weights, normalised by that of a flat profile over the same span: about 1
// for no structure, higher for sharp text lines. With transposed the page
// is read as if turned by 90 degrees.
func (p points) profileScore(deg float64, transposed bool, buf *[]float64) float64 {
	t := math.Tan(deg * math.Pi / 180)
	xs, ys, span := p.x, p.y, p.h
	across := p.w
	if transposed {
		xs, ys, span, across = p.y, p.x, p.w, p.h
	}
	off := int(math.Ceil(math.Abs(t)*float64(across))) + 1
	n := span + 2*off
	if cap(*buf) < n {
		*buf = make([]float64, n)
	}
	hist := (*buf)[:n]
	clear(hist)
	var sum float64
	for i := range xs {
		// Rising to the right means y falls as x grows: y + x*t is constant
		// along such a line.
		b := int(float64(ys[i])+float64(xs[i])*t+0.5) + off
		hist[b] += p.wt[i]
		sum += p.wt[i]
	}
	var sq float64
	lo, hi := -1, 0
	for i, v := range hist {
		if v != 0 {
			sq += v * v
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	if sum == 0 {
		return 0
	}
	return sq * float64(hi-lo+1) / (sum * sum)
}

// bestAngle searches ±maxSkew coarse to fine and returns the angle with
// the most peaked profile and that profile's score.
func (p points) bestAngle(transposed bool) (float64, float64) {
	var hist []float64
	best, bestScore := 0.0, -1.0
	search := func(from, to, step float64) {
		for a := from; a <= to+step/2; a += step {
			if s := p.profileScore(a, transposed, &hist); s > bestScore {
				best, bestScore = a, s
			}
		}
	}
	search(-maxSkew, maxSkew, 0.5)
	if transposed {
		return best, bestScore
	}
	c := best
	search(c-0.5, c+0.5, 0.1)
	c = best
	search(c-0.1, c+0.1, 0.02)
	return best, bestScore
}
