package scangen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Format is the kind of file Generate writes.
type Format string

const (
	FormatPDF  Format = "pdf"  // one image per page: JPEG for grey pages, CCITT G4 for bilevel ones
	FormatTIFF Format = "tiff" // multi-page TIFF: 8-bit grey (Deflate) or CCITT G4 bilevel pages
	FormatJPEG Format = "jpeg" // a single page
	FormatPNG  Format = "png"  // a single page
)

// FormatFromPath returns the format named by a file's extension: .pdf,
// .tif/.tiff, .jpg/.jpeg or .png (any case).
func FormatFromPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pdf":
		return FormatPDF, nil
	case ".tif", ".tiff":
		return FormatTIFF, nil
	case ".jpg", ".jpeg":
		return FormatJPEG, nil
	case ".png":
		return FormatPNG, nil
	}
	return "", fmt.Errorf("scangen: no format for extension %q of %s", filepath.Ext(path), path)
}

// Options control a generated batch. The zero value of every probability,
// share and skew means "never"; see DefaultOptions for a realistic batch.
type Options struct {
	// Pages is the number of content and blank pages; 0 means 1. JPEG and
	// PNG hold exactly one. Cover and separator sheets (Sheets) come on top:
	// the file holds Pages plus one page per sheet, and len(Truth.Pages) is
	// always the file's page count.
	Pages  int
	Seed   uint64 // the same seed and options give the same bytes and truth
	Format Format // required

	// DPI is the resolution of every page. 0 means 300 for a Clean batch
	// and otherwise one of 200, 240 or 300, drawn from the seed for the
	// whole batch (as a scanner is set once per batch).
	DPI int

	// Clean turns every degradation off: no skew, rotation, blank pages,
	// noise, blur or tone change. Pages are rendered black on white.
	// Bilevel still applies (as a plain threshold at mid grey).
	Clean bool

	Bilevel    float64 // share of pages stored bilevel (black and white) rather than 8-bit grey, 0..1
	RotateProb float64 // probability that a page was fed sideways or upside down (rotated 90, 180 or 270)
	BlankProb  float64 // probability that a page is a blank sheet (paper and noise only); blanks count in Pages
	MaxSkew    float64 // maximum absolute skew, degrees; skew is uniform in [-MaxSkew, MaxSkew]

	JPEGQuality  int  // for grey pages in PDF and JPEG files; 0 means 75
	BilevelFlate bool // store bilevel pages as Flate-compressed 1-bit rows instead of CCITT G4 (PDF, TIFF)
	TIFFRaw      bool // store grey TIFF pages uncompressed instead of with Deflate

	// Patients are the people the batch's documents belong to, for example
	// drawn from the patient index; empty means a few fictional ones drawn
	// from the seed. A batch mixes several of them.
	Patients []Patient

	// Bodies, when set, gives every document a body of real text (see
	// LoadBodies): the document's type is drawn among the types Bodies
	// holds, its text is laid out on pages (running over page breaks)
	// under the generator's letterheads, patient blocks, running headers,
	// footers and fax headers, and the Truth is what it is for generated
	// content (Layout is LayoutText).
	Bodies *Bodies

	// Sheets puts cover or separator sheets before documents (see
	// SheetMode); they are drawn by SheetPrinter, which is required unless
	// Sheets is SheetsNone. Sheets are drawn from a random stream of their
	// own: the content and blank pages of a batch, their scanning effects
	// and pixels are the same whatever Sheets is; only their positions in
	// the file (PageTruth.Number) move. JPEG and PNG files cannot hold
	// sheets.
	Sheets       SheetMode
	SheetPrinter SheetPrinter

	// Workers is how many pages are rendered at once; 0 means GOMAXPROCS
	// (at most 4). Output does not depend on it.
	Workers int
}

// DefaultOptions returns options for a realistic, mildly degraded batch of
// ten pages; set Format (and Seed) before use.
func DefaultOptions() Options {
	return Options{
		Pages:      10,
		Bilevel:    0.3,
		RotateProb: 0.05,
		BlankProb:  0.05,
		MaxSkew:    1.5,
	}
}

func (opt *Options) normalize() error {
	if opt.Pages == 0 {
		opt.Pages = 1
	}
	if opt.Pages < 0 {
		return fmt.Errorf("scangen: negative page count %d", opt.Pages)
	}
	switch opt.Format {
	case FormatPDF, FormatTIFF:
	case FormatJPEG, FormatPNG:
		if opt.Pages != 1 {
			return fmt.Errorf("scangen: %s holds one page, not %d", opt.Format, opt.Pages)
		}
		if opt.Sheets != SheetsNone {
			return fmt.Errorf("scangen: %s holds one page and cannot hold %s sheets", opt.Format, opt.Sheets)
		}
	case "":
		return errors.New("scangen: no format")
	default:
		return fmt.Errorf("scangen: unknown format %q", opt.Format)
	}
	if opt.DPI < 0 || opt.DPI > 1200 || (opt.DPI > 0 && opt.DPI < 50) {
		return fmt.Errorf("scangen: dpi %d out of range 50..1200", opt.DPI)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"bilevel", opt.Bilevel}, {"rotate probability", opt.RotateProb}, {"blank probability", opt.BlankProb}} {
		if p.v < 0 || p.v > 1 {
			return fmt.Errorf("scangen: %s %g out of range 0..1", p.name, p.v)
		}
	}
	if opt.MaxSkew < 0 || opt.MaxSkew > 45 {
		return fmt.Errorf("scangen: max skew %g out of range 0..45", opt.MaxSkew)
	}
	if err := opt.checkSheets(); err != nil {
		return err
	}
	if opt.JPEGQuality == 0 {
		opt.JPEGQuality = 75
	}
	if opt.JPEGQuality < 1 || opt.JPEGQuality > 100 {
		return fmt.Errorf("scangen: jpeg quality %d out of range 1..100", opt.JPEGQuality)
	}
	if opt.Workers <= 0 {
		opt.Workers = min(4, runtime.GOMAXPROCS(0))
	}
	return nil
}

// plannedPage is one page with everything decided but the pixels.
type plannedPage struct {
	index   int    // 0-based position in the file
	noise   uint64 // stream of the page's per-pixel randomness
	content pageContent
	sheet   *sheetPage // a cover or separator sheet; content is then unused
	effects scanEffects
	dpi     int
}

// plan decides the content and degradations of every page, sequentially
// from the seed, so that pages can then be rendered in any order.
func plan(opt *Options) []plannedPage {
	r := rand.New(rand.NewPCG(opt.Seed, 0x5ca9_6e11))
	dpi := opt.DPI
	if dpi == 0 {
		dpi = 300
		if !opt.Clean {
			dpi = []int{200, 240, 300}[r.IntN(3)]
		}
	}
	// Blank sheets first, so that documents can be sized to the pages left.
	blank := make([]bool, opt.Pages)
	left := opt.Pages
	for i := range blank {
		if !opt.Clean && r.Float64() < opt.BlankProb {
			blank[i] = true
			left--
		}
	}
	pages := make([]plannedPage, 0, opt.Pages)
	cp := newContentPlanner(opt, dpi)
	sp := newSheetPlanner(opt)
	var doc *document
	docPage, docs := 0, 0
	for i := range opt.Pages {
		// Content and blank pages keep the noise stream of their position
		// among content and blank pages, so that sheets change nothing in
		// them.
		p := plannedPage{noise: uint64(i) + 1, dpi: dpi}
		if blank[i] {
			p.content = pageContent{blank: true, layout: LayoutBlank}
		} else {
			if doc == nil || docPage == doc.pages {
				docs++
				doc = cp.document(docs, left)
				docPage = 0
				if s, ok := sp.sheetFor(doc, dpi); ok {
					pages = append(pages, s)
				}
			}
			docPage++
			left--
			p.content = doc.page(docPage)
		}
		p.effects = drawEffects(r, opt)
		pages = append(pages, p)
	}
	for i := range pages {
		pages[i].index = i
	}
	return pages
}

// pageImage is a finished page ready to encode.
type pageImage struct {
	img     *image.Gray // bilevel pages hold only 0 and 255
	dpi     int
	bilevel bool
}

// renderPage draws and degrades one planned page and fills in its truth.
func renderPage(p *plannedPage, seed uint64) (*pageImage, PageTruth, error) {
	if p.sheet != nil {
		return renderSheetPage(p, seed)
	}
	img, text, err := render(&p.content, p.dpi)
	if err != nil {
		return nil, PageTruth{}, err
	}
	e := p.effects
	if p.content.blank {
		// A blank sheet shows no skew or turn worth recording.
		e.skew, e.rotation = 0, 0
	}
	r := rand.New(rand.NewPCG(seed, p.noise))
	img = e.apply(img, r)
	t := PageTruth{
		Number:   p.index + 1,
		Text:     text,
		Rotation: e.rotation,
		Skew:     e.skew,
		Blank:    p.content.blank,
		DPI:      p.dpi,
		Bilevel:  e.bilevel,
		Layout:   p.content.layout,
		Width:    img.Rect.Dx(),
		Height:   img.Rect.Dy(),
	}
	if !p.content.blank {
		t.Font = p.content.bodyFont.String()
		p.content.fillTruth(&t)
	}
	return &pageImage{img: img, dpi: p.dpi, bilevel: e.bilevel}, t, nil
}

// pageSink turns page images into a file: encode may run concurrently for
// different pages; write is called in page order; finish once at the end.
type pageSink interface {
	encode(p *pageImage) (any, error)
	write(enc any) error
	finish() error
}

// newSink returns the writer of a file of total pages.
func newSink(w io.Writer, opt *Options, total int) pageSink {
	switch opt.Format {
	case FormatPDF:
		return newPDFWriter(w, opt, total)
	case FormatTIFF:
		return newTIFFWriter(w, opt, total)
	default:
		return &singleImageWriter{w: w, format: opt.Format, quality: opt.JPEGQuality}
	}
}

// Generate writes a synthetic scanned batch to w and returns its ground
// truth. Pages are rendered on up to Options.Workers goroutines; w is only
// written from the calling goroutine, in order. It stops with ctx's error
// between pages when ctx is done; w then holds a partial file.
func Generate(ctx context.Context, w io.Writer, opt Options) (Truth, error) {
	if err := opt.normalize(); err != nil {
		return Truth{}, err
	}
	if _, err := parsedFonts(); err != nil {
		return Truth{}, err
	}
	pages := plan(&opt)
	truth := Truth{Format: opt.Format, Seed: opt.Seed, Pages: make([]PageTruth, len(pages))}
	sink := newSink(w, &opt, len(pages))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		enc   any
		err   error
		token bool // holds a token of tokens, to give back once written
	}
	// Pages render concurrently but are written in order; at most Workers
	// pages are in flight so memory stays bounded.
	slots := make([]chan result, len(pages))
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	tokens := make(chan struct{}, opt.Workers)
	go func() {
		for i := range pages {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				for j := i; j < len(pages); j++ {
					slots[j] <- result{err: ctx.Err()}
				}
				return
			}
			go func() {
				res := result{token: true}
				defer func() { slots[i] <- res }()
				if err := ctx.Err(); err != nil {
					res.err = err
					return
				}
				img, t, err := renderPage(&pages[i], opt.Seed)
				if err != nil {
					res.err = err
					return
				}
				truth.Pages[i] = t
				res.enc, res.err = sink.encode(img)
			}()
		}
	}()
	var firstErr error
	for i := range pages {
		res := <-slots[i]
		if firstErr == nil {
			firstErr = res.err
			if firstErr == nil {
				firstErr = ctx.Err()
			}
			if firstErr == nil {
				firstErr = sink.write(res.enc)
			}
			if firstErr != nil {
				cancel()
			}
		}
		if res.token {
			<-tokens
		}
	}
	if firstErr != nil {
		return Truth{}, firstErr
	}
	if err := sink.finish(); err != nil {
		return Truth{}, err
	}
	return truth, nil
}

// WriteFile generates a batch into path. It writes path+".tmp", syncs it
// and renames it to path, so a drop folder watcher never sees a partial
// file (it must ignore names ending in ".tmp"). On error the temporary file
// is removed. An empty opt.Format is taken from path's extension.
func WriteFile(ctx context.Context, path string, opt Options) (Truth, error) {
	if opt.Format == "" {
		f, err := FormatFromPath(path)
		if err != nil {
			return Truth{}, err
		}
		opt.Format = f
	}
	// Refuse bad options before creating any file.
	check := opt
	if err := check.normalize(); err != nil {
		return Truth{}, err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return Truth{}, err
	}
	t, err := writeAndClose(ctx, f, opt)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return Truth{}, err
	}
	return t, nil
}

func writeAndClose(ctx context.Context, f *os.File, opt Options) (Truth, error) {
	bw := bufio.NewWriterSize(f, 1<<20)
	t, err := Generate(ctx, bw, opt)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return t, err
}
