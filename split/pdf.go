package split

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

var pdfcpuOnce sync.Once

// pdfcpuConfig returns a fresh pdfcpu configuration for reading untrusted
// input: relaxed validation, no config directory, resource limits derived
// from lim.
func pdfcpuConfig(lim Limits) *model.Configuration {
	pdfcpuOnce.Do(func() { model.ConfigPath = "disable" })
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Cmd = model.EXTRACTIMAGES // makes ReadValidateAndOptimize optimise, which image lookup needs
	conf.UnsupportedResourcePolicy = model.UnsupportedResourceSkip
	l := &conf.Limits
	l.MaxStreamBytes = min(l.MaxStreamBytes, lim.MaxBytes)
	l.MaxImagePixels = min(l.MaxImagePixels, lim.MaxPagePixels)
	l.MaxDecodeBytes = min(l.MaxDecodeBytes, 4*lim.MaxPagePixels)
	l.MaxImageBytes = min(l.MaxImageBytes, 4*lim.MaxPagePixels)
	l.MaxObjectCount = min(l.MaxObjectCount, 2_000_000)
	l.MaxXRefEntries = min(l.MaxXRefEntries, 2_000_000)
	return conf
}

// pdfError carries a pdfcpu error with a message cut down so that it cannot
// carry text from the document (literal and hex strings are removed).
type pdfError struct {
	msg string
	err error
}

func (e *pdfError) Error() string { return e.msg }
func (e *pdfError) Unwrap() error { return e.err }

var pdfStringRE = regexp.MustCompile(`\([^)]*\)|<[0-9A-Fa-f\s]{2,}>`)

func scrub(op string, err error) error {
	msg := pdfStringRE.ReplaceAllString(err.Error(), "(…)")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &pdfError{msg: op + ": " + msg, err: err}
}

// guard runs fn and turns a panic inside pdfcpu into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pdfcpu panicked: %v", r)
		}
	}()
	return fn()
}

// pdfPage is what Split will do with one PDF page.
type pdfPage struct {
	no     int             // in the input
	at     int             // in the pdfcpu context read: no, or 1 for a page separated first
	box    types.Rectangle // CropBox (or MediaBox), user space
	img    *imagePlan      // nil: write a single-page PDF
	rotate int             // page /Rotate, normalised
}

// endsWell reports whether the last 2 KiB of the PDF hold its %%EOF.
func endsWell(f io.ReaderAt, size int64) (bool, error) {
	tail := make([]byte, min(size, 2048))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
		return false, fmt.Errorf("split: read PDF: %w", err)
	}
	return bytes.Contains(tail, []byte("%%EOF")), nil
}

// readPDF reads and validates a PDF with pdfcpu, turning its errors into
// rejections. pdfcpu holds every stream of the file in memory: runPDF
// reads only PDFs up to Limits.StreamPDFBytes so.
func readPDF(r io.ReaderAt, size int64, lim Limits) (*model.Context, error) {
	var pctx *model.Context
	err := guard(func() error {
		var err error
		pctx, err = api.ReadValidateAndOptimize(io.NewSectionReader(r, 0, size), pdfcpuConfig(lim))
		return err
	})
	if err != nil {
		well, rerr := endsWell(r, size)
		switch {
		case rerr != nil:
			return nil, rerr
		case errors.Is(err, pdfcpu.ErrWrongPassword):
			return nil, reject(CodeEncrypted, "The PDF is password protected; scan the paper again or save it without a password.", scrub("read PDF", err))
		case !well:
			return nil, reject(CodeTruncated, "The PDF is incomplete (it was cut off while being copied or saved); copy or scan it again.", scrub("read PDF", err))
		default:
			return nil, reject(CodeCorrupt, "The PDF is damaged and cannot be read; scan the paper again or save a new copy of the PDF.", scrub("read PDF", err))
		}
	}
	return pctx, nil
}

func runPDF(ctx context.Context, f *os.File, size int64, outDir string, lim Limits) ([]PageSource, error) {
	if size > lim.StreamPDFBytes {
		return runBigPDF(ctx, f, size, outDir, lim)
	}
	pctx, err := readPDF(f, size, lim)
	if err != nil {
		return nil, err
	}
	if pctx.Encrypt != nil && lim.RejectRestricted {
		return nil, reject(CodeEncrypted, "The PDF is protected with an owner password; save it without protection or scan the paper again.", nil)
	}
	n := pctx.PageCount
	if n <= 0 {
		return nil, reject(CodeCorrupt, "The PDF has no pages; scan the paper again.", nil)
	}
	if n > lim.MaxPages {
		return nil, reject(CodeTooManyPages, fmt.Sprintf("The PDF has %d pages, more than the %d allowed in one file; scan the document in smaller parts.", n, lim.MaxPages), nil)
	}

	plans := make([]pdfPage, 0, n)
	for p := 1; p <= n; p++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var pg pdfPage
		err := guard(func() error {
			var err error
			pg, err = planPDFPage(pctx, p, p, lim)
			return err
		})
		if err != nil {
			if _, ok := IsRejection(err); ok {
				return nil, err
			}
			return nil, reject(CodeCorrupt, fmt.Sprintf("Page %d of the PDF is damaged and cannot be read; scan the paper again.", p), scrub(fmt.Sprintf("page %d", p), err))
		}
		plans = append(plans, pg)
	}
	if outDir == "" {
		return make([]PageSource, n), nil
	}

	out := make([]PageSource, 0, n)
	for _, pg := range plans {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ps PageSource
		err := guard(func() error {
			var err error
			ps, err = writePDFPage(pctx, pg, outDir)
			return err
		})
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("split: write page %d: %w", pg.no, err)
			}
			return nil, reject(CodeCorrupt, fmt.Sprintf("Page %d of the PDF is damaged and cannot be read; scan the paper again.", pg.no), scrub(fmt.Sprintf("write page %d", pg.no), err))
		}
		out = append(out, ps)
	}
	return out, nil
}

// planPDFPage plans page at of pctx, which is page p of the input.
func planPDFPage(pctx *model.Context, at, p int, lim Limits) (pdfPage, error) {
	d, _, inh, err := pctx.PageDict(at, false)
	if err != nil {
		return pdfPage{}, fmt.Errorf("page dict: %w", err)
	}
	if d == nil || inh == nil || inh.MediaBox == nil {
		return pdfPage{}, errors.New("page has no MediaBox")
	}
	box := *inh.MediaBox
	if inh.CropBox != nil {
		box = intersect(box, *inh.CropBox)
	}
	w, h := box.Width(), box.Height()
	if !(w > 0 && h > 0) || math.IsInf(w, 0) || math.IsInf(h, 0) {
		return pdfPage{}, fmt.Errorf("page box %.1f×%.1f pt is empty", w, h)
	}
	if longest := max(w, h) / 72; longest > lim.MaxPageInches {
		return pdfPage{}, reject(CodePageTooLarge, fmt.Sprintf("Page %d of the PDF is %.0f inches long, more than the %.0f inches allowed; scan it on a normal paper size.", p, longest, lim.MaxPageInches), nil)
	}
	rot := ((inh.Rotate % 360) + 360) % 360
	if rot%90 != 0 {
		rot = 0 // viewers ignore a /Rotate that is not a multiple of 90
	}
	pg := pdfPage{no: p, at: at, box: box, rotate: rot}

	content, err := pctx.PageContent(d, at)
	if err != nil {
		if errors.Is(err, model.ErrNoContent) {
			return pg, nil // a blank page: pdftoppm renders it white
		}
		return pdfPage{}, fmt.Errorf("page content: %w", err)
	}
	sc, ok := scanContent(content)
	if !ok {
		return pg, nil
	}
	pg.img = planImage(pctx, at, sc, box, lim)
	if pg.img != nil {
		pg.img.rotate = (pg.img.rotate + rot) % 360
	}
	return pg, nil
}

func intersect(a, b types.Rectangle) types.Rectangle {
	r := types.Rectangle{
		LL: types.Point{X: max(a.LL.X, b.LL.X), Y: max(a.LL.Y, b.LL.Y)},
		UR: types.Point{X: min(a.UR.X, b.UR.X), Y: min(a.UR.Y, b.UR.Y)},
	}
	if r.Width() <= 0 || r.Height() <= 0 {
		return a // a nonsensical CropBox: viewers fall back to the MediaBox
	}
	return r
}

func writePDFPage(pctx *model.Context, pg pdfPage, outDir string) (PageSource, error) {
	ps := PageSource{No: pg.no}
	if pg.img != nil {
		path, err := pg.img.write(outDir, pg.no)
		if err == nil {
			ps.Path, ps.Kind = path, KindImage
			ps.DPI, ps.Rotate = pg.img.dpi, pg.img.rotate
			ps.Width, ps.Height = float64(pg.img.w), float64(pg.img.h)
			return ps, nil
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			return PageSource{}, err
		}
		// The image could not be extracted after all: let pdftoppm draw the page.
	}
	r, err := api.ExtractPage(pctx, pg.at)
	if err != nil {
		return PageSource{}, err
	}
	path := filepath.Join(outDir, fmt.Sprintf("page-%05d.pdf", pg.no))
	if err := writeFile(path, r); err != nil {
		return PageSource{}, err
	}
	ps.Path, ps.Kind = path, KindPDF
	ps.Width, ps.Height = pg.box.Width(), pg.box.Height()
	if pg.rotate == 90 || pg.rotate == 270 {
		// Report the size as pdftoppm will draw it.
		ps.Width, ps.Height = ps.Height, ps.Width
	}
	return ps, nil
}

func writeFile(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// nameOf returns a PDF name object's value, "" when o is not a name.
func nameOf(o types.Object) string {
	if n, ok := o.(types.Name); ok {
		return n.Value()
	}
	return ""
}
