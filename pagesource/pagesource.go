// Package pagesource reads a batch's pages as the OCR stage stored them —
// each page's normalised image and its OCR result — for every stage that
// builds PDFs from them: the batch's searchable PDF (workers' assembly),
// each document's PDF (filing) and the PDFs of documents a person re-cut
// (filing's edits). Load fetches and decodes each page once; the stages
// then take what they need from the one set, so that a task that assembles
// and files a batch reads each page from the object store once.
package pagesource

import (
	"context"
	"encoding/json"
	"fmt"

	"golang.org/x/sync/errgroup"

	"paperchart/assemble"
	"paperchart/ocr"
	"paperchart/storage"
)

// Objects is what a page source reads from; *storage.Objects has it.
type Objects interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// fetchers is how many pages are fetched at once.
const fetchers = 8

// Page is one stored page, fetched and decoded.
type Page struct {
	storage.Page // the page's row
	// Image is the normalised page image as stored (JPEG).
	Image []byte
	// OCR is the page's OCR result; zero for a page stored without one.
	OCR ocr.Result
}

// Pages is some or all of the pages of one batch, fetched and decoded. It
// is read-only once loaded and safe for concurrent use.
type Pages struct {
	batch int64
	nos   []int // as loaded: batch order when the rows were
	byNo  map[int]*Page
}

// Load fetches and decodes the image and OCR result of each of pages (rows
// of batch, as storage.DB.Pages returns them), each once, a few at a time.
// A page without an image is an error: it has not been through OCR.
func Load(ctx context.Context, objs Objects, batch int64, pages []storage.Page) (*Pages, error) {
	p := &Pages{batch: batch, nos: make([]int, 0, len(pages)), byNo: make(map[int]*Page, len(pages))}
	out := make([]Page, len(pages))
	for i, row := range pages {
		if row.BatchID != 0 && row.BatchID != batch {
			return nil, fmt.Errorf("load pages of batch %d: page %d is of batch %d", batch, row.No, row.BatchID)
		}
		if _, dup := p.byNo[row.No]; dup {
			return nil, fmt.Errorf("load pages of batch %d: page %d given twice", batch, row.No)
		}
		if row.ImageKey == "" {
			return nil, fmt.Errorf("batch %d page %d: no stored image (not through OCR)", batch, row.No)
		}
		out[i].Page = row
		p.byNo[row.No] = &out[i]
		p.nos = append(p.nos, row.No)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchers)
	for i := range out {
		g.Go(func() error { return fetch(gctx, objs, batch, &out[i]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return p, nil
}

func fetch(ctx context.Context, objs Objects, batch int64, pg *Page) error {
	img, err := objs.Get(ctx, pg.ImageKey)
	if err != nil {
		return fmt.Errorf("batch %d page %d: %w", batch, pg.No, err)
	}
	pg.Image = img
	if pg.OCRKey == "" {
		return nil
	}
	js, err := objs.Get(ctx, pg.OCRKey)
	if err != nil {
		return fmt.Errorf("batch %d page %d: %w", batch, pg.No, err)
	}
	if err := json.Unmarshal(js, &pg.OCR); err != nil {
		return fmt.Errorf("batch %d page %d: decode OCR result: %w", batch, pg.No, err)
	}
	return nil
}

// Batch is the batch the pages are of.
func (p *Pages) Batch() int64 { return p.batch }

// Nos are the numbers of the loaded pages, in the order they were given.
func (p *Pages) Nos() []int { return append([]int(nil), p.nos...) }

// Has reports whether page no is loaded.
func (p *Pages) Has(no int) bool { _, ok := p.byNo[no]; return ok }

// Page returns loaded page no.
func (p *Pages) Page(no int) (Page, bool) {
	pg, ok := p.byNo[no]
	if !ok {
		return Page{}, false
	}
	return *pg, true
}

// Assemble returns pages nos, in that order, as package assemble takes
// them. A page that is not loaded is an error.
func (p *Pages) Assemble(nos []int) ([]assemble.Page, error) {
	out := make([]assemble.Page, 0, len(nos))
	for _, no := range nos {
		pg, ok := p.byNo[no]
		if !ok {
			return nil, fmt.Errorf("batch %d page %d: not loaded", p.batch, no)
		}
		out = append(out, assemble.Page{Image: pg.Image, Width: pg.Width, Height: pg.Height, DPI: pg.DPI, Words: pg.OCR.Words})
	}
	return out, nil
}
