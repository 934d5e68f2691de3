// Package pagesource reads a batch's pages as the OCR stage stored them —
// each page's normalised image and its OCR result — for every stage that
// builds PDFs from them: the batch's searchable PDF (workers' assembly),
// each document's PDF (filing) and the PDFs of documents a person re-cut
// (filing's edits). Load fetches each page from the object store once; the
// stages then take what they need from the one set, so that a task that
// assembles and files a batch reads each page from the object store once.
//
// Memory: the pages are kept on local disk (a folder of the set's own,
// removed by Close), not in memory, and WritePDF reads and decodes one page
// at a time: a batch of 1,000 pages costs what its largest page costs.
package pagesource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// page is one loaded page: its row, and where its image and OCR result
// are kept.
type page struct {
	row        storage.Page
	image, ocr string // files in the set's folder; ocr "" for a page stored without a result
}

// Pages is some or all of the pages of one batch, fetched once and kept on
// local disk. It is read-only once loaded and safe for concurrent use;
// Close removes its files.
type Pages struct {
	batch int64
	nos   []int // as loaded: batch order when the rows were
	byNo  map[int]*page
	dir   string
}

// Load fetches the image and OCR result of each of pages (rows of batch,
// as storage.DB.Pages returns them), each once, a few at a time, and keeps
// them in a new folder in dir (the system's temporary folder when dir is
// ""). An OCR result is decoded once to check it. A page without an image
// is an error: it has not been through OCR. The caller must Close the set.
func Load(ctx context.Context, objs Objects, batch int64, pages []storage.Page, dir string) (_ *Pages, err error) {
	p := &Pages{batch: batch, nos: make([]int, 0, len(pages)), byNo: make(map[int]*page, len(pages))}
	out := make([]page, len(pages))
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
		out[i].row = row
		p.byNo[row.No] = &out[i]
		p.nos = append(p.nos, row.No)
	}
	if p.dir, err = os.MkdirTemp(dir, fmt.Sprintf("pages-%d-", batch)); err != nil {
		return nil, fmt.Errorf("load pages of batch %d: %w", batch, err)
	}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchers)
	for i := range out {
		g.Go(func() error { return p.fetch(gctx, objs, &out[i]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pages) fetch(ctx context.Context, objs Objects, pg *page) error {
	img, err := objs.Get(ctx, pg.row.ImageKey)
	if err != nil {
		return fmt.Errorf("batch %d page %d: %w", p.batch, pg.row.No, err)
	}
	pg.image = filepath.Join(p.dir, fmt.Sprintf("%d.img", pg.row.No))
	if err := os.WriteFile(pg.image, img, 0o600); err != nil {
		return fmt.Errorf("batch %d page %d: keep image: %w", p.batch, pg.row.No, err)
	}
	if pg.row.OCRKey == "" {
		return nil
	}
	js, err := objs.Get(ctx, pg.row.OCRKey)
	if err != nil {
		return fmt.Errorf("batch %d page %d: %w", p.batch, pg.row.No, err)
	}
	var res ocr.Result
	if err := json.Unmarshal(js, &res); err != nil {
		return fmt.Errorf("batch %d page %d: decode OCR result: %w", p.batch, pg.row.No, err)
	}
	pg.ocr = filepath.Join(p.dir, fmt.Sprintf("%d.json", pg.row.No))
	if err := os.WriteFile(pg.ocr, js, 0o600); err != nil {
		return fmt.Errorf("batch %d page %d: keep OCR result: %w", p.batch, pg.row.No, err)
	}
	return nil
}

// Close removes the set's files. The set cannot be read after.
func (p *Pages) Close() error {
	if p == nil || p.dir == "" {
		return nil
	}
	err := os.RemoveAll(p.dir)
	p.dir = ""
	return err
}

// Batch is the batch the pages are of.
func (p *Pages) Batch() int64 { return p.batch }

// Nos are the numbers of the loaded pages, in the order they were given.
func (p *Pages) Nos() []int { return append([]int(nil), p.nos...) }

// Has reports whether page no is loaded.
func (p *Pages) Has(no int) bool { _, ok := p.byNo[no]; return ok }

// Page returns the row of loaded page no.
func (p *Pages) Page(no int) (storage.Page, bool) {
	pg, ok := p.byNo[no]
	if !ok {
		return storage.Page{}, false
	}
	return pg.row, true
}

// Read returns loaded page no as package assemble takes it: its image
// and OCR words, read from the set's files.
func (p *Pages) Read(no int) (assemble.Page, error) {
	pg, ok := p.byNo[no]
	if !ok {
		return assemble.Page{}, fmt.Errorf("batch %d page %d: not loaded", p.batch, no)
	}
	img, err := os.ReadFile(pg.image)
	if err != nil {
		return assemble.Page{}, fmt.Errorf("batch %d page %d: read kept image: %w", p.batch, no, err)
	}
	out := assemble.Page{Image: img, Width: pg.row.Width, Height: pg.row.Height, DPI: pg.row.DPI}
	if pg.ocr != "" {
		js, err := os.ReadFile(pg.ocr)
		if err != nil {
			return assemble.Page{}, fmt.Errorf("batch %d page %d: read kept OCR result: %w", p.batch, no, err)
		}
		var res ocr.Result
		if err := json.Unmarshal(js, &res); err != nil {
			return assemble.Page{}, fmt.Errorf("batch %d page %d: decode OCR result: %w", p.batch, no, err)
		}
		out.Words = res.Words
	}
	return out, nil
}

// Assemble returns pages nos, in that order, as package assemble takes
// them, all in memory: for a few pages; WritePDF streams any number. A
// page that is not loaded is an error.
func (p *Pages) Assemble(nos []int) ([]assemble.Page, error) {
	out := make([]assemble.Page, 0, len(nos))
	for _, no := range nos {
		pg, err := p.Read(no)
		if err != nil {
			return nil, err
		}
		out = append(out, pg)
	}
	return out, nil
}

// WritePDF writes the searchable PDF of pages nos, in that order, to w
// (assemble.SearchablePDF), reading one page at a time. A page that is not
// loaded is an error.
func (p *Pages) WritePDF(ctx context.Context, w io.Writer, nos []int) error {
	for _, no := range nos {
		if !p.Has(no) {
			return fmt.Errorf("batch %d page %d: not loaded", p.batch, no)
		}
	}
	return assemble.SearchablePDFFrom(ctx, w, len(nos), func(i int) (assemble.Page, error) { return p.Read(nos[i]) })
}
