package scangen

import (
	"image"
	"math"
	"math/rand/v2"
)

// This file owns scanning effects: what a scanner and paper do to a clean
// rendering. Parameters are drawn when the batch is planned (so the truth is
// known before any pixel is touched); the per-pixel noise uses a random
// source of its own for each page.

// scanEffects are the degradations applied to one page.
type scanEffects struct {
	skew       float64 // degrees, counter-clockwise as seen upright
	rotation   int     // degrees clockwise that make the stored image upright
	paper, ink uint8   // grey levels of blank paper and of full ink
	noiseSigma float64 // gaussian noise, grey levels
	whiteClip  uint8   // when not 0, levels from this up become white (scanner background removal)
	speckles   int     // dark specks per page
	blur       bool    // soften with a small kernel before noise
	bilevel    bool
	threshold  uint8 // for bilevel pages: darker than this is black
}

// drawEffects draws the degradations of one page from r.
func drawEffects(r *rand.Rand, opt *Options) scanEffects {
	e := scanEffects{paper: 255, ink: 0, threshold: 128}
	e.bilevel = r.Float64() < opt.Bilevel
	if opt.Clean {
		return e
	}
	if opt.MaxSkew > 0 {
		e.skew = (r.Float64()*2 - 1) * opt.MaxSkew
	}
	if r.Float64() < opt.RotateProb {
		e.rotation = 90 * (1 + r.IntN(3))
	}
	e.paper = uint8(232 + r.IntN(24))
	e.ink = uint8(8 + r.IntN(50))
	e.noiseSigma = 1.5 + r.Float64()*3.5
	if r.IntN(10) < 6 {
		// Most scanner drivers clip the paper to white; such pages
		// compress far better.
		e.whiteClip = uint8(max(0, float64(e.paper)-2.5*e.noiseSigma))
	}
	e.speckles = 50 + r.IntN(600)
	e.blur = r.IntN(2) == 0
	e.threshold = uint8(120 + r.IntN(50))
	return e
}

// apply degrades img (white paper, black ink) in place where it can and
// returns the result, which is a new image when the page is rotated.
func (e *scanEffects) apply(img *image.Gray, r *rand.Rand) *image.Gray {
	if e.skew != 0 {
		img = skewImage(img, e.skew)
	}
	if e.blur {
		blur121(img)
	}
	if e.paper != 255 || e.ink != 0 || e.noiseSigma > 0 {
		toneAndNoise(img, e.paper, e.ink, e.noiseSigma, e.whiteClip, r)
	}
	dpi := float64(img.Rect.Dx()) / pageWidthIn
	for range e.speckles {
		speckle(img, r, dpi)
	}
	if e.bilevel {
		threshold(img, e.threshold)
	}
	if e.rotation != 0 {
		// The scanner saw the sheet turned: the stored image is the
		// upright one turned counter-clockwise by rotation degrees.
		img = rotateCW(img, 360-e.rotation)
	}
	return img
}

// skewImage returns img turned counter-clockwise by deg degrees about its
// centre, bilinear, with white where the page has no source pixel.
// Output pixels whose source lies in the last source row or column are
// white too (a one-pixel frame of what is a white margin anyway).
func skewImage(src *image.Gray, deg float64) *image.Gray {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	if deg == 0 {
		for y := 0; y < h; y++ {
			copy(dst.Pix[y*dst.Stride:y*dst.Stride+w], src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):])
		}
		return dst
	}
	th := deg * math.Pi / 180
	c, s := math.Cos(th), math.Sin(th)
	cx, cy := float64(w-1)/2, float64(h-1)/2
	const shift = 16
	const one = 1 << shift
	stepX, stepY := int64(math.Round(c*one)), int64(math.Round(s*one))
	pix, stride := src.Pix, src.Stride
	// inside reports whether the source of output column x lies where all
	// four neighbours exist.
	inside := func(fx0, fy0 int64, x int) bool {
		fx, fy := fx0+int64(x)*stepX, fy0+int64(x)*stepY
		return fx >= 0 && fy >= 0 && fx>>shift < int64(w-1) && fy>>shift < int64(h-1)
	}
	for y := 0; y < h; y++ {
		dy := float64(y) - cy
		// The source of output (x, y) is the inverse rotation, linear in x:
		// (cx + (x-cx)c - dy s, cy + (x-cx)s + dy c).
		fx0 := int64(math.Round((cx - cx*c - dy*s) * one))
		fy0 := int64(math.Round((cy - cx*s + dy*c) * one))
		row := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		// The columns with a source form one interval: find it from a
		// float estimate, then adjust its ends exactly.
		lo, hi := 0, w
		if stepX > 0 {
			lo = max(lo, int(math.Ceil(float64(-fx0)/float64(stepX))))
			hi = min(hi, int(float64(int64(w-1)*one-fx0)/float64(stepX))+1)
		}
		if stepY > 0 {
			lo = max(lo, int(math.Ceil(float64(-fy0)/float64(stepY))))
			hi = min(hi, int(float64(int64(h-1)*one-fy0)/float64(stepY))+1)
		} else if stepY < 0 {
			lo = max(lo, int(math.Ceil(float64(int64(h-1)*one-1-fy0)/float64(stepY))))
			hi = min(hi, int(float64(-fy0)/float64(stepY))+1)
		}
		lo, hi = max(lo-1, 0), min(hi+1, w)
		for lo < hi && !inside(fx0, fy0, lo) {
			lo++
		}
		for hi > lo && !inside(fx0, fy0, hi-1) {
			hi--
		}
		for x := range row {
			if x == lo {
				break
			}
			row[x] = 255
		}
		for x := hi; x < w; x++ {
			row[x] = 255
		}
		fx, fy := fx0+int64(lo)*stepX, fy0+int64(lo)*stepY
		for x := lo; x < hi; x++ {
			o := int(fy>>shift)*stride + int(fx>>shift)
			ax, ay := uint32(fx>>(shift-8))&255, uint32(fy>>(shift-8))&255
			top := uint32(pix[o])*(256-ax) + uint32(pix[o+1])*ax
			bot := uint32(pix[o+stride])*(256-ax) + uint32(pix[o+stride+1])*ax
			row[x] = uint8((top*(256-ay) + bot*ay) >> 16)
			fx += stepX
			fy += stepY
		}
	}
	return dst
}

// blur121 softens img with a separable [1 2 1]/4 kernel, like scanner optics.
func blur121(img *image.Gray) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tmp := make([]uint8, max(w, h))
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		copy(tmp, row)
		for x := 1; x < w-1; x++ {
			row[x] = uint8((int(tmp[x-1]) + 2*int(tmp[x]) + int(tmp[x+1]) + 2) / 4)
		}
	}
	prev := make([]uint8, w)
	cur := make([]uint8, w)
	copy(prev, img.Pix[:w])
	for y := 1; y < h-1; y++ {
		copy(cur, img.Pix[y*img.Stride:y*img.Stride+w])
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		next := img.Pix[(y+1)*img.Stride : (y+1)*img.Stride+w]
		for x := range row {
			row[x] = uint8((int(prev[x]) + 2*int(cur[x]) + int(next[x]) + 2) / 4)
		}
		prev, cur = cur, prev
	}
}

// toneAndNoise maps white to paper and black to ink (lower contrast, darker
// paper), adds gaussian noise of the given sigma and, when whiteClip is not
// 0, turns levels from whiteClip up to white.
func toneAndNoise(img *image.Gray, paper, ink uint8, sigma float64, whiteClip uint8, r *rand.Rand) {
	clip := int32(whiteClip)
	if clip == 0 {
		clip = 256
	}
	var lut [256]int32
	for v := range lut {
		lut[v] = int32(ink) + int32((int(paper)-int(ink))*v/255)
	}
	// A table of gaussian samples indexed by random bits is far cheaper
	// than one NormFloat64 per pixel and looks the same.
	const tableBits = 12
	var noise [1 << tableBits]int32
	for i := range noise {
		noise[i] = int32(math.Round(r.NormFloat64() * sigma))
	}
	var bits uint64
	left := 0
	for i, v := range img.Pix {
		if left == 0 {
			bits, left = r.Uint64(), 64/tableBits
		}
		n := noise[bits&(1<<tableBits-1)]
		bits >>= tableBits
		left--
		x := lut[v] + n
		if x >= clip {
			x = 255
		}
		img.Pix[i] = uint8(min(255, max(0, x)))
	}
}

// speckle draws one dark speck of dust or toner, up to about 0.5 pt across.
func speckle(img *image.Gray, r *rand.Rand, dpi float64) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	cx, cy := r.Float64()*float64(w), r.Float64()*float64(h)
	rad := (0.3 + r.Float64()*r.Float64()*2.2) * dpi / 300
	level := uint8(r.IntN(90))
	for y := int(cy - rad); y <= int(cy+rad); y++ {
		for x := int(cx - rad); x <= int(cx+rad); x++ {
			if x < 0 || y < 0 || x >= w || y >= h {
				continue
			}
			if dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy; dx*dx+dy*dy <= rad*rad+0.25 {
				o := y*img.Stride + x
				img.Pix[o] = min(img.Pix[o], level)
			}
		}
	}
}

// threshold makes img bilevel: 0 below t, 255 otherwise.
func threshold(img *image.Gray, t uint8) {
	for i, v := range img.Pix {
		if v < t {
			img.Pix[i] = 0
		} else {
			img.Pix[i] = 255
		}
	}
}

// rotateCW returns img turned clockwise by deg, a multiple of 90.
func rotateCW(src *image.Gray, deg int) *image.Gray {
	deg = ((deg % 360) + 360) % 360
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if deg == 0 {
		return src
	}
	var dst *image.Gray
	if deg == 180 {
		dst = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewGray(image.Rect(0, 0, h, w))
	}
	for y := 0; y < h; y++ {
		row := src.Pix[y*src.Stride : y*src.Stride+w]
		for x, v := range row {
			switch deg {
			case 90: // (x, y) -> (h-1-y, x)
				dst.Pix[x*dst.Stride+h-1-y] = v
			case 180:
				dst.Pix[(h-1-y)*dst.Stride+w-1-x] = v
			case 270: // (x, y) -> (y, w-1-x)
				dst.Pix[(w-1-x)*dst.Stride+y] = v
			}
		}
	}
	return dst
}
