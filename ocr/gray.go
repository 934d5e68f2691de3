package ocr

import (
	"image"
	"image/color"
	"image/draw"
	"math"
)

// toGray returns img as an *image.Gray with its origin at (0, 0). A Gray
// image already at the origin is returned as is (no copy), and the Y plane
// of a YCbCr image (what JPEG decodes to) is shared, not copied; the
// caller must not modify the result.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	switch src := img.(type) {
	case *image.Gray:
		if b.Min == (image.Point{}) {
			return src
		}
		return &image.Gray{Pix: src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], Stride: src.Stride, Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
	case *image.YCbCr:
		// Y is the luma: exactly the grey value JPEG encoders started from.
		off := src.YOffset(b.Min.X, b.Min.Y)
		return &image.Gray{Pix: src.Y[off:], Stride: src.YStride, Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
	}
	dst := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	w, h := b.Dx(), b.Dy()
	switch src := img.(type) {
	case *image.RGBA:
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+w]
			for x := range d {
				d[x] = luma(s[4*x], s[4*x+1], s[4*x+2])
			}
		}
	case *image.NRGBA:
		// Scans are opaque; alpha is ignored.
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+w]
			for x := range d {
				d[x] = luma(s[4*x], s[4*x+1], s[4*x+2])
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+w]
			for x := range d {
				d[x] = s[2*x] // high byte
			}
		}
	case *image.Paletted:
		var lut [256]uint8
		for i, c := range src.Palette {
			lut[i] = color.GrayModel.Convert(c).(color.Gray).Y
		}
		for y := 0; y < h; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+w]
			for x := range d {
				d[x] = lut[s[x]]
			}
		}
	default:
		draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	}
	return dst
}

// luma is the ITU-R BT.601 weighting that color.GrayModel uses, in integers.
func luma(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// rotate90s rotates g clockwise by deg, which must be 0, 90, 180 or 270.
// For 0 it returns g itself. The copy is exact (no interpolation).
func rotate90s(g *image.Gray, deg int) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	switch deg {
	case 90, 270:
		dst := image.NewGray(image.Rect(0, 0, h, w))
		// Walk the source in square tiles so that both the reads and the
		// column-wise writes stay in cache.
		const tile = 64
		for y0 := 0; y0 < h; y0 += tile {
			y1 := min(y0+tile, h)
			for x0 := 0; x0 < w; x0 += tile {
				x1 := min(x0+tile, w)
				for y := y0; y < y1; y++ {
					row := g.Pix[y*g.Stride:]
					if deg == 90 {
						// (x, y) -> (h-1-y, x)
						dx := h - 1 - y
						for x := x0; x < x1; x++ {
							dst.Pix[x*dst.Stride+dx] = row[x]
						}
					} else {
						// (x, y) -> (y, w-1-x)
						for x := x0; x < x1; x++ {
							dst.Pix[(w-1-x)*dst.Stride+y] = row[x]
						}
					}
				}
			}
		}
		return dst
	case 180:
		dst := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			s := g.Pix[y*g.Stride : y*g.Stride+w]
			d := dst.Pix[(h-1-y)*dst.Stride : (h-1-y)*dst.Stride+w]
			for x, v := range s {
				d[w-1-x] = v
			}
		}
		return dst
	default:
		return g
	}
}

// rotateSmall rotates g clockwise by deg degrees (small angles, for
// deskew) about its centre with bilinear interpolation, keeping the size;
// uncovered corners become white. Fixed-point arithmetic keeps it at a few
// tens of milliseconds for a 300-dpi Letter page.
func rotateSmall(g *image.Gray, deg float64) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	rad := deg * math.Pi / 180
	sin, cos := math.Sin(rad), math.Cos(rad)
	cx, cy := float64(w-1)/2, float64(h-1)/2
	const shift = 16
	const one = 1 << shift
	fcos, fsin := int64(math.Round(cos*one)), int64(math.Round(sin*one))
	maxX, maxY := int64(w-1)<<shift, int64(h-1)<<shift
	for y := 0; y < h; y++ {
		dy := float64(y) - cy
		// Source of output (x, y) for a clockwise rotation of the content:
		// sx = cx + dx*cos + dy*sin, sy = cy - dx*sin + dy*cos.
		sx := int64(math.Round((cx - cx*cos + dy*sin) * one))
		sy := int64(math.Round((cy + cx*sin + dy*cos) * one))
		d := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		for x := range d {
			if sx < 0 || sy < 0 || sx >= maxX || sy >= maxY {
				d[x] = 0xff
			} else {
				ix, iy := int(sx>>shift), int(sy>>shift)
				fx, fy := uint32(sx>>8)&0xff, uint32(sy>>8)&0xff
				o := iy*g.Stride + ix
				p00, p01 := uint32(g.Pix[o]), uint32(g.Pix[o+1])
				p10, p11 := uint32(g.Pix[o+g.Stride]), uint32(g.Pix[o+g.Stride+1])
				top := p00*(256-fx) + p01*fx
				bot := p10*(256-fx) + p11*fx
				d[x] = uint8((top*(256-fy) + bot*fy + 1<<15) >> 16)
			}
			sx += fcos
			sy -= fsin
		}
	}
	return dst
}

// halve shrinks g to half its width and height, averaging 2×2 blocks.
func halve(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx()/2, g.Rect.Dy()/2
	dst := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		r0 := g.Pix[2*y*g.Stride : 2*y*g.Stride+2*w]
		r1 := g.Pix[(2*y+1)*g.Stride : (2*y+1)*g.Stride+2*w]
		d := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		for x := range d {
			d[x] = uint8((uint32(r0[2*x]) + uint32(r0[2*x+1]) + uint32(r1[2*x]) + uint32(r1[2*x+1]) + 2) >> 2)
		}
	}
	return dst
}

// shrink scales g down to w×h (each at most g's) by area averaging: every
// output pixel is the mean of the input area it covers, partial pixels
// weighted by their share. Unlike halve it takes any factor, such as the
// 2/3 from 300 to 200 dpi, without the aliasing of picking pixels.
func shrink(g *image.Gray, w, h int) *image.Gray {
	sw, sh := g.Rect.Dx(), g.Rect.Dy()
	if sw%3 == 0 && sh%3 == 0 && 3*w == 2*sw && 3*h == 2*sh {
		return shrink32(g)
	}
	xs := areaWeights(sw, w)
	ys := areaWeights(sh, h)
	// Horizontal pass into rows of 16-bit sums scaled by 1<<weightBits.
	tmp := make([]uint32, w*sh)
	for y := 0; y < sh; y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+sw]
		out := tmp[y*w : y*w+w]
		for x, span := range xs {
			var s uint32
			for i, wt := range span.w {
				s += uint32(row[span.first+i]) * wt
			}
			out[x] = s
		}
	}
	dst := image.NewGray(image.Rect(0, 0, w, h))
	const round = 1 << (2*weightBits - 1)
	for y, span := range ys {
		d := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		for x := range d {
			var s uint64
			for i, wt := range span.w {
				s += uint64(tmp[(span.first+i)*w+x]) * uint64(wt)
			}
			d[x] = uint8((s + round) >> (2 * weightBits))
		}
	}
	return dst
}

// weightBits is the fixed-point precision of shrink's weights.
const weightBits = 10

// areaSpan is the input pixels one output pixel covers, from first, with
// their weights (summing to 1<<weightBits).
type areaSpan struct {
	first int
	w     []uint32
}

// areaWeights gives, for each of n output pixels over m input pixels
// (n <= m), the input pixels it covers and their shares.
func areaWeights(m, n int) []areaSpan {
	spans := make([]areaSpan, n)
	scale := float64(m) / float64(n)
	for o := range spans {
		a, b := float64(o)*scale, float64(o+1)*scale
		first := int(a)
		last := min(int(math.Ceil(b)), m)
		var ws []uint32
		var sum uint32
		for i := first; i < last; i++ {
			share := (math.Min(b, float64(i+1)) - math.Max(a, float64(i))) / scale
			wt := uint32(math.Round(share * (1 << weightBits)))
			ws = append(ws, wt)
			sum += wt
		}
		// Rounding may leave the weights a unit off: give it to the largest.
		big := 0
		for i, wt := range ws {
			if wt > ws[big] {
				big = i
			}
		}
		ws[big] = ws[big] + (1 << weightBits) - sum
		spans[o] = areaSpan{first: first, w: ws}
	}
	return spans
}

// shrink32 is shrink from 3×3 blocks to 2×2 (300 to 200 dpi, the common
// case), in integers: each output pixel covers one whole input pixel, two
// halves and a quarter, weights 4, 2, 2 and 1 ninths.
func shrink32(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx()/3*2, g.Rect.Dy()/3*2
	dst := image.NewGray(image.Rect(0, 0, w, h))
	for by := 0; by < h/2; by++ {
		r0 := g.Pix[(3*by)*g.Stride:]
		r1 := g.Pix[(3*by+1)*g.Stride:]
		r2 := g.Pix[(3*by+2)*g.Stride:]
		d0 := dst.Pix[(2*by)*dst.Stride:]
		d1 := dst.Pix[(2*by+1)*dst.Stride:]
		for bx := 0; bx < w/2; bx++ {
			x := 3 * bx
			a, b, c := uint32(r0[x]), uint32(r0[x+1]), uint32(r0[x+2])
			d, e, f := uint32(r1[x]), uint32(r1[x+1]), uint32(r1[x+2])
			gg, hh, i := uint32(r2[x]), uint32(r2[x+1]), uint32(r2[x+2])
			d0[2*bx] = uint8((4*a + 2*b + 2*d + e + 4) / 9)
			d0[2*bx+1] = uint8((4*c + 2*b + 2*f + e + 4) / 9)
			d1[2*bx] = uint8((4*gg + 2*hh + 2*d + e + 4) / 9)
			d1[2*bx+1] = uint8((4*i + 2*hh + 2*f + e + 4) / 9)
		}
	}
	return dst
}
