package ocr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults for the zero fields of Options.
const (
	DefaultRecycleAfter     = 200
	DefaultMinWords         = 3
	DefaultConfidenceForOSD = 60
	DefaultBlankInkShare    = 0.0002
	DefaultMinOSDConfidence = 1.0
	DefaultConfidenceToRead = 80
)

// minSkew is the smallest skew, in degrees, worth an interpolated rotation:
// below it, lines drift by under 14 px across a 300-dpi Letter page and
// Tesseract copes on its own.
const minSkew = 0.3

// osdMinDPI: orientation detection runs on a page halved while it stays at
// or above this resolution.
const osdMinDPI = 140

// Options configures an Engine. The zero value is usable.
type Options struct {
	// Languages are Tesseract language codes; default ["eng"].
	Languages []string
	// RecycleAfter is how many recognition passes a Tesseract instance
	// serves before it is closed and recreated, which bounds whatever
	// Tesseract itself keeps between pages. Default DefaultRecycleAfter;
	// negative disables recycling.
	RecycleAfter int
	// TessdataPrefix is the directory holding *.traineddata; empty uses
	// Tesseract's default (or TESSDATA_PREFIX).
	TessdataPrefix string
	// MinWords: a page with ink but fewer recognised words than this is
	// suspected to be rotated. Default DefaultMinWords.
	MinWords int
	// ConfidenceForOSD: a page whose mean word confidence is below this is
	// suspected to be rotated. Default DefaultConfidenceForOSD (0..100).
	ConfidenceForOSD float64
	// BlankInkShare: a page whose share of ink cells (inside the margins,
	// specks and noise removed) is below this is blank. Default
	// DefaultBlankInkShare: about five characters of 10-pt text on Letter.
	BlankInkShare float64
	// MinOSDConfidence is the Tesseract orientation confidence needed to try
	// a rotation. The rotated result is kept only if it reads better, so
	// this can be low. Default DefaultMinOSDConfidence.
	MinOSDConfidence float64
	// ReadDPI, when positive: a page scanned at more than 5/4 of this
	// resolution is read (recognised) on a copy shrunk to it by area
	// averaging, its word boxes mapped back to the page; the page itself is
	// kept as scanned. Zero or negative (the default) reads every page as
	// scanned. Tesseract's line recogniser scales each text line to a fixed
	// height, so a 300-dpi page's pixels cost mostly layout analysis: on the
	// benchmark's 300-dpi pages a 200-dpi copy read in 22% less time with
	// fewer wrong characters (0.79% against 0.96%), but on a clean 300-dpi
	// lab report it lost a column of HIGH/LOW flags and read 0 as @ (7.8%
	// of characters wrong against 0.8%), which a mean confidence of 91
	// against 92 did not reveal. So it is not the default.
	ReadDPI int
	// ConfidenceToRead: when a shrunk copy reads with a mean word
	// confidence below this (faint or noisy scans), or its print is small
	// (median word under 16 px high at ReadDPI, about 7 pt), the page is
	// read again at its own resolution and the better reading kept.
	// Default DefaultConfidenceToRead (0..100).
	ConfidenceToRead float64
}

func (o Options) withDefaults() Options {
	if len(o.Languages) == 0 {
		o.Languages = []string{"eng"}
	}
	if o.RecycleAfter == 0 {
		o.RecycleAfter = DefaultRecycleAfter
	}
	if o.MinWords == 0 {
		o.MinWords = DefaultMinWords
	}
	if o.ConfidenceForOSD == 0 {
		o.ConfidenceForOSD = DefaultConfidenceForOSD
	}
	if o.BlankInkShare == 0 {
		o.BlankInkShare = DefaultBlankInkShare
	}
	if o.MinOSDConfidence == 0 {
		o.MinOSDConfidence = DefaultMinOSDConfidence
	}
	if o.ConfidenceToRead == 0 {
		o.ConfidenceToRead = DefaultConfidenceToRead
	}
	return o
}

// ErrClosed is returned by an Engine or Pool used after Close.
var ErrClosed = errors.New("ocr: closed")

// Engine recognises pages with one Tesseract instance (tess.go, plus one
// orientation-detection instance created when first needed). An Engine must be used by one goroutine at a time; give each
// worker goroutine its own, or share them through a Pool. Its methods do
// not lock.
type Engine struct {
	opt    Options
	tess   *tessAPI
	passes int // recognition passes served by tess
	osd    *osdDetector
	buf    []byte // encoded page, reused between pages
	closed bool
}

// NewEngine creates an Engine and initialises Tesseract (loads the language
// data: about a tenth of a second), so that a bad configuration fails here
// rather than on the first page.
func NewEngine(opt Options) (*Engine, error) {
	e := &Engine{opt: opt.withDefaults()}
	if err := e.newClient(); err != nil {
		return nil, err
	}
	return e, nil
}

// Close releases the Tesseract instances. It is safe to call twice.
func (e *Engine) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	var err error
	if e.tess != nil {
		e.tess.close()
		e.tess = nil
	}
	if e.osd != nil {
		e.osd.close()
		e.osd = nil
	}
	e.buf = nil
	return err
}

// newClient replaces the Tesseract instance with a fresh, initialised one.
func (e *Engine) newClient() error {
	if e.tess != nil {
		e.tess.close()
		e.tess = nil
	}
	t, err := newTessAPI(e.opt.TessdataPrefix, strings.Join(e.opt.Languages, "+"), map[string]string{
		// Tesseract's warnings would otherwise go to stderr, unstructured.
		"debug_file": os.DevNull,
	})
	if err != nil {
		return err
	}
	e.tess = t
	e.passes = 0
	return nil
}

// Recognize reads one page scanned at dpi. It returns the Result and the
// normalised page (turned upright and deskewed, as *image.Gray) that the
// word boxes refer to; store that image for viewing and PDF assembly. When
// no rotation or deskew was needed the returned image may share memory with
// img (a Gray, or the Y plane of a YCbCr).
//
// Steps: blank detection (no OCR for a blank page); skew estimation and a
// check whether text lines run vertically (then orientation detection
// first); deskew; one Tesseract pass yielding words, boxes, confidences and
// the text; if that result looks wrong (too few words, low mean
// confidence, words taller than wide), orientation detection, rotation and
// a second pass, keeping the better of the two.
//
// ctx is checked before starting and between passes: a Tesseract pass
// (seconds) cannot be interrupted, so cancellation takes effect only at
// those points.
func (e *Engine) Recognize(ctx context.Context, img image.Image, dpi int) (Result, image.Image, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return Result{}, nil, fmt.Errorf("ocr: recognize: %w", err)
	}
	if e.closed {
		return Result{}, nil, fmt.Errorf("ocr: recognize: %w", ErrClosed)
	}
	if img == nil || img.Bounds().Empty() {
		return Result{}, nil, errors.New("ocr: recognize: empty image")
	}
	if dpi <= 0 {
		return Result{}, nil, fmt.Errorf("ocr: recognize: resolution must be positive, got %d dpi", dpi)
	}
	g := toGray(img)
	a := analysePage(g, dpi)
	res := Result{DPI: dpi, Words: []Word{}}
	if a.inkShare < e.opt.BlankInkShare {
		res.Blank = true
		res.Width, res.Height = g.Rect.Dx(), g.Rect.Dy()
		res.Duration = time.Since(start)
		return res, g, nil
	}

	rotation := 0
	if a.vertical {
		res.OSDUsed = true
		r, ok, err := e.detectOrientation(g, dpi)
		if err != nil {
			return Result{}, nil, err
		}
		if ok {
			rotation = r
		}
	}
	page, skew := normalise(g, a, rotation, dpi)
	words, readDPI, err := e.read(page, dpi)
	if err != nil {
		return Result{}, nil, err
	}

	if !res.OSDUsed && e.looksWrong(words) {
		if err := ctx.Err(); err != nil {
			return Result{}, nil, fmt.Errorf("ocr: recognize after first pass: %w", err)
		}
		res.OSDUsed = true
		r, ok, err := e.detectOrientation(page, dpi)
		if err != nil {
			return Result{}, nil, err
		}
		if ok && r != 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, nil, fmt.Errorf("ocr: recognize before rotated pass: %w", err)
			}
			rot2 := (rotation + r) % 360
			page2, skew2 := normalise(g, analysis{}, rot2, dpi)
			words2, readDPI2, err := e.read(page2, dpi)
			if err != nil {
				return Result{}, nil, err
			}
			if readScore(words2) > readScore(words) {
				rotation, page, skew, words, readDPI = rot2, page2, skew2, words2, readDPI2
			}
		}
	}

	if e.readAgain(words, dpi, readDPI) {
		if err := ctx.Err(); err != nil {
			return Result{}, nil, fmt.Errorf("ocr: recognize before reading at the scan's resolution: %w", err)
		}
		full, err := e.recognizePass(page, dpi)
		if err != nil {
			return Result{}, nil, err
		}
		if readScore(full) > readScore(words) {
			words, readDPI = full, dpi
		}
	}

	res.Words = words
	res.Text = pageText(words)
	res.MeanConfidence = meanConfidence(words)
	res.Rotation = rotation
	res.Skew = skew
	res.ReadDPI = readDPI
	res.Width, res.Height = page.Rect.Dx(), page.Rect.Dy()
	res.Duration = time.Since(start)
	return res, page, nil
}

// normalise turns g clockwise by rotation and removes skew above minSkew.
// a must be the analysis of g when rotation is 0; otherwise the rotated
// page is analysed afresh. It returns the page and the deskew applied.
func normalise(g *image.Gray, a analysis, rotation, dpi int) (*image.Gray, float64) {
	page := g
	if rotation != 0 {
		page = rotate90s(g, rotation)
		a = analysePage(page, dpi)
	}
	if math.Abs(a.skew) <= minSkew {
		return page, 0
	}
	return rotateSmall(page, a.skew), a.skew
}

// detectOrientation runs Tesseract's orientation detection on page. ok is
// false when it found too little text or was not confident enough.
func (e *Engine) detectOrientation(page *image.Gray, dpi int) (rotation int, ok bool, err error) {
	if e.osd == nil {
		d, err := newOSDDetector(e.opt.TessdataPrefix)
		if err != nil {
			return 0, false, err
		}
		e.osd = d
	}
	// Detection reads shapes of characters, not their details: at half of
	// 300 dpi it is about 40% faster and as sure.
	if dpi >= 2*osdMinDPI {
		page, dpi = halve(page), dpi/2
	}
	r, conf, buf, err := e.osd.detect(page, dpi, e.buf)
	e.buf = buf
	if errors.Is(err, errNoOrientation) {
		return 0, false, nil // too little text to tell: not a failure of the page
	}
	if err != nil {
		return 0, false, err
	}
	return r, conf >= e.opt.MinOSDConfidence, nil
}

// read recognises page, scanned at dpi, on a copy shrunk to ReadDPI when
// dpi is well above it. Word boxes are in page's pixels. It returns the
// words and the resolution they were read at.
func (e *Engine) read(page *image.Gray, dpi int) ([]Word, int, error) {
	if e.opt.ReadDPI <= 0 || 4*dpi <= 5*e.opt.ReadDPI {
		words, err := e.recognizePass(page, dpi)
		return words, dpi, err
	}
	w, h := page.Rect.Dx(), page.Rect.Dy()
	sw, sh := w*e.opt.ReadDPI/dpi, h*e.opt.ReadDPI/dpi
	words, err := e.recognizePass(shrink(page, sw, sh), e.opt.ReadDPI)
	if err != nil {
		return nil, 0, err
	}
	for i := range words {
		wd := &words[i]
		wd.X0, wd.X1 = wd.X0*w/sw, min((wd.X1*w+sw-1)/sw, w)
		wd.Y0, wd.Y1 = wd.Y0*h/sh, min((wd.Y1*h+sh-1)/sh, h)
	}
	return words, e.opt.ReadDPI, nil
}

// minReadHeight is the median word height, in pixels at the resolution a
// page was read at, below which a shrunk copy is too coarse: print under
// about 7 pt at 200 dpi.
const minReadHeight = 16

// readAgain tells whether words, read on a copy shrunk from dpi to
// readDPI, should be read again at the page's own resolution: small print,
// or a reading with low confidence.
func (e *Engine) readAgain(words []Word, dpi, readDPI int) bool {
	if readDPI >= dpi || len(words) == 0 {
		return false
	}
	if meanConfidence(words) < e.opt.ConfidenceToRead {
		return true
	}
	hs := make([]int, len(words))
	for i, w := range words {
		hs[i] = w.Y1 - w.Y0
	}
	slices.Sort(hs)
	return hs[len(hs)/2]*readDPI < minReadHeight*dpi
}

// recognizePass runs one Tesseract recognition of page and returns its
// words; the page text is built from them.
func (e *Engine) recognizePass(page *image.Gray, dpi int) ([]Word, error) {
	if e.opt.RecycleAfter > 0 && e.passes >= e.opt.RecycleAfter {
		if err := e.newClient(); err != nil {
			return nil, err
		}
	}
	words, err := e.tess.recognize(page, dpi)
	e.passes++
	trimMemory()
	if err != nil {
		return nil, fmt.Errorf("ocr: recognise page: %w", err)
	}
	return words, nil
}

// looksWrong tells whether a first pass suggests the page is not upright:
// too few words, low mean confidence, or mostly words taller than wide
// (Tesseract reading turned lines as vertical text).
func (e *Engine) looksWrong(words []Word) bool {
	if len(words) < e.opt.MinWords {
		return true
	}
	if meanConfidence(words) < e.opt.ConfidenceForOSD {
		return true
	}
	long, tall := 0, 0
	for _, w := range words {
		if utf8.RuneCountInString(w.Text) >= 3 {
			long++
			if w.Y1-w.Y0 > w.X1-w.X0 {
				tall++
			}
		}
	}
	return long > 0 && 2*tall > long
}

// readScore measures how well a pass read: confidently recognised
// characters, weighted by confidence.
func readScore(words []Word) float64 {
	var s float64
	for _, w := range words {
		if w.Confidence >= 50 {
			s += w.Confidence / 100 * float64(utf8.RuneCountInString(w.Text))
		}
	}
	return s
}

func meanConfidence(words []Word) float64 {
	if len(words) == 0 {
		return 0
	}
	var s float64
	for _, w := range words {
		s += w.Confidence
	}
	return s / float64(len(words))
}

// pageText lays the words out as text: words of a line joined by spaces,
// lines by a newline, paragraphs and blocks by a blank line, in
// Tesseract's reading order.
func pageText(words []Word) string {
	var sb strings.Builder
	for i, w := range words {
		if i > 0 {
			p := words[i-1]
			switch {
			case w.Block != p.Block || w.Par != p.Par:
				sb.WriteString("\n\n")
			case w.Line != p.Line:
				sb.WriteByte('\n')
			default:
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(w.Text)
	}
	return sb.String()
}
