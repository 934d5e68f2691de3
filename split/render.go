package split

import (
	"paperchart/internal/fastjpeg"

	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // page images are JPEG,
	_ "image/png"  // PNG
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	_ "golang.org/x/image/tiff" // or TIFF
)

// DefaultRenderDPI is the resolution Render uses when asked for dpi <= 0.
const DefaultRenderDPI = 300

// PDFTimeout bounds one pdftoppm run when ctx has no earlier deadline.
const PDFTimeout = 2 * time.Minute

// Render returns the page as an 8-bit grayscale image (*image.Gray) turned
// upright (src.Rotate applied), and the resolution of the returned pixels.
//
// KindPDF pages are rasterised by pdftoppm at dpi (default 300), lowered so
// that the image stays within src.Limits.MaxRenderPixels. KindImage pages
// are decoded as stored; they are downscaled to dpi when their known
// resolution is more than 1.2×dpi, and to MaxRenderPixels when larger. When
// an image's resolution is unknown, usedDPI is an estimate that assumes its
// shorter side is 8.5 inches (letter/A4 width), clamped to 100..600.
//
// A page that cannot be decoded or drawn returns a *Rejection; a missing
// pdftoppm, a timeout or a cancelled ctx return other errors.
func Render(ctx context.Context, src PageSource, dpi int) (img image.Image, usedDPI int, err error) {
	if dpi <= 0 {
		dpi = DefaultRenderDPI
	}
	lim := src.Limits.withDefaults()
	switch src.Kind {
	case KindPDF:
		return renderPDF(ctx, src, dpi, lim)
	case KindImage:
		return renderImage(ctx, src, dpi, lim)
	}
	return nil, 0, fmt.Errorf("split: render page %d: unknown kind %q", src.No, src.Kind)
}

// pdfRenderDPI returns dpi lowered so that a page of wPt×hPt points fits maxPixels.
func pdfRenderDPI(wPt, hPt float64, dpi int, maxPixels int64) int {
	if wPt <= 0 || hPt <= 0 {
		return dpi
	}
	sqIn := wPt / 72 * hPt / 72
	if float64(dpi)*float64(dpi)*sqIn <= float64(maxPixels) {
		return dpi
	}
	return max(1, int(math.Sqrt(float64(maxPixels)/sqIn)))
}

// pdfPageSize reads the size in points of the first page of the PDF at path.
func pdfPageSize(path string, lim Limits) (w, h float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = reject(CodeCorrupt, "The PDF page cannot be read; scan the paper again.", fmt.Errorf("pdfcpu panic: %v", r))
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("split: page size: %w", err)
	}
	defer f.Close()
	dims, err := api.PageDims(f, pdfcpuConfig(lim))
	if err != nil || len(dims) == 0 {
		return 0, 0, reject(CodeCorrupt, "The PDF page cannot be read; scan the paper again.", err)
	}
	return dims[0].Width, dims[0].Height, nil
}

func renderPDF(ctx context.Context, src PageSource, dpi int, lim Limits) (image.Image, int, error) {
	w, h := src.Width, src.Height
	if w <= 0 || h <= 0 {
		// A caller that did not keep the size: read it from the page, or
		// pdftoppm would draw a huge page at full resolution and exceed the
		// pixel cap.
		var err error
		if w, h, err = pdfPageSize(src.Path, lim); err != nil {
			return nil, 0, err
		}
	}
	r := pdfRenderDPI(w, h, dpi, lim.MaxRenderPixels)
	tmp, err := os.MkdirTemp(filepath.Dir(src.Path), ".render-*")
	if err != nil {
		return nil, 0, fmt.Errorf("split: render page %d: temp dir: %w", src.No, err)
	}
	defer os.RemoveAll(tmp)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, PDFTimeout)
		defer cancel()
	}
	out := filepath.Join(tmp, "page")
	cmd := exec.CommandContext(ctx, "pdftoppm", "-r", strconv.Itoa(r), "-gray", "-singlefile", "-f", "1", "-l", "1", src.Path, out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("split: render page %d with pdftoppm: %w", src.No, ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return nil, 0, reject(CodeCorrupt, fmt.Sprintf("Page %d of the PDF cannot be drawn; scan the paper again.", src.No), fmt.Errorf("pdftoppm: %w: %s", err, lastLine(stderr.Bytes())))
		}
		return nil, 0, fmt.Errorf("split: render page %d with pdftoppm: %w: %s", src.No, err, lastLine(stderr.Bytes()))
	}
	f, err := os.Open(out + ".pgm")
	if err != nil {
		return nil, 0, fmt.Errorf("split: render page %d: pdftoppm output: %w", src.No, err)
	}
	defer f.Close()
	// Allow rounding at the page edges beyond the planned size.
	img, err := readPGM(bufio.NewReaderSize(f, 1<<16), lim.MaxRenderPixels+lim.MaxRenderPixels/50+10000)
	if err != nil {
		return nil, 0, reject(CodePageTooLarge, fmt.Sprintf("Page %d of the PDF is too large to draw; scan it on a normal paper size.", src.No), err)
	}
	return img, r, nil
}

// lastLine returns the last non-empty line of pdftoppm's stderr, which
// names the problem (it holds no page text).
func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	s := string(lines[len(lines)-1])
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// readPGM reads a binary 8-bit PGM (P5), refusing images over maxPixels
// before allocating them.
func readPGM(r *bufio.Reader, maxPixels int64) (*image.Gray, error) {
	var vals [3]int
	magic := make([]byte, 2)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "P5" {
		return nil, errors.New("not a binary PGM")
	}
	for i := 0; i < 3; i++ {
		n, err := pnmInt(r)
		if err != nil {
			return nil, fmt.Errorf("PGM header: %w", err)
		}
		vals[i] = n
	}
	w, h, maxv := vals[0], vals[1], vals[2]
	if w <= 0 || h <= 0 || maxv != 255 {
		return nil, fmt.Errorf("PGM %dx%d maxval %d not supported", w, h, maxv)
	}
	if int64(w)*int64(h) > maxPixels {
		return nil, fmt.Errorf("PGM %dx%d exceeds %d pixels", w, h, maxPixels)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	if _, err := io.ReadFull(r, img.Pix); err != nil {
		return nil, fmt.Errorf("PGM pixels: %w", err)
	}
	return img, nil
}

// pnmInt reads one decimal header field, skipping whitespace and comments,
// and consumes the single whitespace byte after it.
func pnmInt(r *bufio.Reader) (int, error) {
	c, err := r.ReadByte()
	for err == nil && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#') {
		if c == '#' {
			if _, err = r.ReadString('\n'); err != nil {
				return 0, err
			}
		}
		c, err = r.ReadByte()
	}
	n, digits := 0, 0
	for err == nil && c >= '0' && c <= '9' {
		n = n*10 + int(c-'0')
		if digits++; digits > 9 {
			return 0, errors.New("number too long")
		}
		c, err = r.ReadByte()
	}
	if digits == 0 {
		return 0, errors.New("missing number")
	}
	return n, err
}

func renderImage(ctx context.Context, src PageSource, dpi int, lim Limits) (image.Image, int, error) {
	f, err := os.Open(src.Path)
	if err != nil {
		return nil, 0, fmt.Errorf("split: render page %d: %w", src.No, err)
	}
	defer f.Close()
	undecodable := func(err error) error {
		return reject(CodeCorrupt, fmt.Sprintf("The image of page %d is damaged and cannot be read; scan the paper again.", src.No), err)
	}
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return nil, 0, undecodable(err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.MaxPagePixels {
		return nil, 0, reject(CodePageTooLarge, fmt.Sprintf("The image of page %d is %d×%d pixels, more than the %d megapixels allowed; scan it at a lower resolution.", src.No, cfg.Width, cfg.Height, lim.MaxPagePixels/1_000_000), nil)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("split: render page %d: %w", src.No, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var g *image.Gray
	if format == "jpeg" {
		// Most scanned pages are JPEG: libjpeg-turbo decodes them several
		// times faster than image/jpeg (see internal/fastjpeg).
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, 0, fmt.Errorf("split: render page %d: %w", src.No, err)
		}
		if g, _, err = fastjpeg.Decode(data); err != nil {
			return nil, 0, undecodable(err)
		}
	} else {
		decoded, _, err := image.Decode(bufio.NewReaderSize(f, 1<<16))
		if err != nil {
			return nil, 0, undecodable(err)
		}
		g = toGray(decoded)
	}

	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	res := src.DPI
	if res <= 0 {
		res = math.Max(100, math.Min(600, float64(min(w, h))/8.5))
	}
	scale := 1.0
	if src.DPI > 1.2*float64(dpi) {
		scale = float64(dpi) / src.DPI
	}
	if px := float64(w) * float64(h) * scale * scale; px > float64(lim.MaxRenderPixels) {
		scale = math.Sqrt(float64(lim.MaxRenderPixels) / (float64(w) * float64(h)))
	}
	if scale < 1 {
		g = downscale(g, max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale)))
		res *= scale
	}
	return rotateGray(g, src.Rotate), int(math.Round(res)), nil
}

// toGray converts img to 8-bit gray, with fast paths for what page files hold.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		return m
	case *image.YCbCr: // colour JPEG: luma is the gray image
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], m.Y[m.YOffset(b.Min.X, b.Min.Y+y):])
		}
		return g
	case *image.Paletted:
		lut := make([]uint8, 256)
		for i, c := range m.Palette {
			lut[i] = color.GrayModel.Convert(c).(color.Gray).Y
		}
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+b.Dx()]
			dst := g.Pix[y*g.Stride:]
			for x, v := range src {
				dst[x] = lut[v]
			}
		}
		return g
	case *image.NRGBA, *image.RGBA:
		var pix []uint8
		var stride int
		if n, ok := m.(*image.NRGBA); ok {
			pix, stride = n.Pix, n.Stride
		} else {
			r := m.(*image.RGBA)
			pix, stride = r.Pix, r.Stride
		}
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			row := pix[y*stride:]
			dst := g.Pix[y*g.Stride:]
			for x := 0; x < b.Dx(); x++ {
				r, gg, bb := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
				dst[x] = uint8((19595*r + 38470*gg + 7471*bb + 1<<15) >> 16)
			}
		}
		return g
	}
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Bounds(), img, b.Min, draw.Src)
	return g
}

// downscale shrinks src to nw×nh by averaging the source pixels under each
// destination pixel.
func downscale(src *image.Gray, nw, nh int) *image.Gray {
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dst := image.NewGray(image.Rect(0, 0, nw, nh))
	x0 := make([]int, nw+1)
	for x := 0; x <= nw; x++ {
		x0[x] = x * w / nw
	}
	sums := make([]uint32, nw)
	for y := 0; y < nh; y++ {
		y0, y1 := y*h/nh, (y+1)*h/nh
		if y1 == y0 {
			y1 = y0 + 1
		}
		clear(sums)
		for sy := y0; sy < y1; sy++ {
			row := src.Pix[sy*src.Stride:]
			for x := 0; x < nw; x++ {
				a, b := x0[x], max(x0[x+1], x0[x]+1)
				var s uint32
				for _, v := range row[a:b] {
					s += uint32(v)
				}
				sums[x] += s
			}
		}
		out := dst.Pix[y*dst.Stride:]
		for x := 0; x < nw; x++ {
			n := uint32((y1 - y0) * max(x0[x+1]-x0[x], 1))
			out[x] = uint8((sums[x] + n/2) / n)
		}
	}
	return dst
}

// rotateGray turns src clockwise by deg (0, 90, 180 or 270).
func rotateGray(src *image.Gray, deg int) *image.Gray {
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	switch ((deg % 360) + 360) % 360 {
	case 90:
		dst := image.NewGray(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride:]
			for x := 0; x < w; x++ {
				dst.Pix[x*dst.Stride+(h-1-y)] = row[x]
			}
		}
		return dst
	case 180:
		dst := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride:]
			out := dst.Pix[(h-1-y)*dst.Stride:]
			for x := 0; x < w; x++ {
				out[w-1-x] = row[x]
			}
		}
		return dst
	case 270:
		dst := image.NewGray(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride:]
			for x := 0; x < w; x++ {
				dst.Pix[(w-1-x)*dst.Stride+y] = row[x]
			}
		}
		return dst
	}
	return src
}
