package filing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"paperchart/pagesource"
	"paperchart/separate"
	"paperchart/sheets"
	"paperchart/storage"
)

// This file owns a person's changes to how a batch was cut: splitting a
// document, merging it with the one before, moving or dropping a page, and
// rejecting it. Each re-decides the documents it changes (type, candidates)
// on their new pages, stores their new PDFs, and records the change in their
// history and as a correction, in one transaction.

// ErrBadEdit is returned for an edit that makes no sense: a split at the
// first page, a page that is not in the document, a merge with nothing
// before.
var ErrBadEdit = errors.New("that change cannot be made to this document")

// batchPages is what deciding a batch's documents needs of its pages.
type batchPages struct {
	byNo    map[int]storage.Page
	texts   map[int]string
	sep     []separate.Page // in batch order, as separation takes them
	sepByNo map[int]separate.Page
	src     *pagesource.Pages // the images and OCR results of the pages that go into PDFs (load)
}

// load fetches the images and OCR results of pages nos, once each, for
// their documents' PDFs.
func (bp *batchPages) load(ctx context.Context, objs pagesource.Objects, batchID int64, nos []int, dir string) error {
	rows := make([]storage.Page, 0, len(nos))
	seen := map[int]bool{}
	for _, no := range nos {
		pg, ok := bp.byNo[no]
		if !ok {
			return fmt.Errorf("batch %d has no page %d", batchID, no)
		}
		if !seen[no] {
			seen[no] = true
			rows = append(rows, pg)
		}
	}
	src, err := pagesource.Load(ctx, objs, batchID, rows, dir)
	if err != nil {
		return err
	}
	bp.src = src
	return nil
}

// inputs returns the texts and the label MRNs of a document's pages.
func (bp batchPages) inputs(nos []int) (texts, labels []string) {
	texts = make([]string, len(nos))
	for i, no := range nos {
		texts[i] = bp.texts[no]
		labels = append(labels, bp.sepByNo[no].Labels...)
	}
	return texts, labels
}

// readPages is readBatch with pages nos loaded, for the PDFs of documents
// a person re-cut.
func (f *Filer) readPages(ctx context.Context, batchID int64, nos []int) (batchPages, error) {
	bp, err := f.readBatch(ctx, batchID)
	if err != nil {
		return bp, err
	}
	return bp, bp.load(ctx, f.obj, batchID, nos, f.cfg.WorkDir)
}

func (f *Filer) readBatch(ctx context.Context, batchID int64) (batchPages, error) {
	pages, err := f.db.Pages(ctx, batchID)
	if err != nil {
		return batchPages{}, err
	}
	texts, err := f.db.PageTexts(ctx, batchID)
	if err != nil {
		return batchPages{}, err
	}
	bp := batchPages{byNo: map[int]storage.Page{}, texts: texts, sepByNo: map[int]separate.Page{}}
	for _, pg := range pages {
		sp := f.separatePage(pg, texts[pg.No])
		bp.byNo[pg.No] = pg
		bp.sepByNo[pg.No] = sp
		bp.sep = append(bp.sep, sp)
	}
	return bp, nil
}

// redecide makes the type and patient decisions for pages a person cut into
// one document, and stores its PDF at a new key. keepCover carries the
// cover sheet of the document the pages came from.
func (f *Filer) redecide(ctx context.Context, batchID int64, bp batchPages, nos []int, cover *sheets.Sheet, actor, how string) (storage.NewDocument, error) {
	part := separate.Document{Pages: nos, Cover: cover, By: "person", Confidence: 1, Reasons: []string{how + " by " + actor}}
	texts, labels := bp.inputs(nos)
	d, _, err := f.decide(ctx, part, texts, labels)
	if err != nil {
		return d, err
	}
	d.ObjectKey = storage.EditedDocumentKey(batchID, time.Now())
	if d.PDFSize, d.PDFSHA1, err = f.storePDF(ctx, batchID, d.ObjectKey, nos, bp.src); err != nil {
		return d, err
	}
	return d, nil
}

// coverOf rebuilds the cover sheet a document was opened by, if any.
func coverOf(d storage.Document) *sheets.Sheet {
	if d.SeparatedBy != separate.ByCover {
		return nil
	}
	if d.Identifiers.CoverMRN.IsZero() {
		return nil
	}
	c := sheets.Sheet{Kind: sheets.Cover, MRN: string(d.Identifiers.CoverMRN)}
	if d.TypeConfidence == 1 {
		c.Type = d.TypeSuggested
	}
	return &c
}

func (f *Filer) reviewDoc(ctx context.Context, docID int64) (storage.Document, error) {
	d, err := f.db.Document(ctx, docID)
	if err != nil {
		return d, err
	}
	if d.State != storage.DocReview {
		return d, fmt.Errorf("document %d: %w", docID, storage.ErrNotInReview)
	}
	return d, nil
}

func pagesText(nos []int) string {
	s := make([]string, len(nos))
	for i, n := range nos {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

// SplitAt cuts a document in review in two: page becomes the first page of
// a new document. Both are re-decided; it returns them in page order.
func (f *Filer) SplitAt(ctx context.Context, docID int64, page int, actor string) ([]storage.Document, error) {
	d, err := f.reviewDoc(ctx, docID)
	if err != nil {
		return nil, err
	}
	at := slices.Index(d.Pages, page)
	if at <= 0 {
		return nil, fmt.Errorf("split document %d at page %d: %w (the page must be in it, after its first)", docID, page, ErrBadEdit)
	}
	bp, err := f.readPages(ctx, d.BatchID, d.Pages)
	if err != nil {
		return nil, err
	}
	defer bp.src.Close()
	how := fmt.Sprintf("split at page %d", page)
	first, err := f.redecide(ctx, d.BatchID, bp, d.Pages[:at], coverOf(d), actor, how)
	if err != nil {
		return nil, err
	}
	second, err := f.redecide(ctx, d.BatchID, bp, d.Pages[at:], nil, actor, how)
	if err != nil {
		return nil, err
	}
	ids, err := f.db.ApplyEdit(ctx, storage.Edit{Actor: actor, BatchID: d.BatchID, Event: how,
		Update: map[int64]storage.NewDocument{docID: first}, Insert: []storage.NewDocument{second},
		Correction: fmt.Sprintf("pages %s: split at %d", pagesText(d.Pages), page)})
	if err != nil {
		return nil, err
	}
	f.log.Info("document split by review", "document", docID, "new", ids[0])
	return f.documents(ctx, docID, ids[0])
}

func (f *Filer) documents(ctx context.Context, ids ...int64) ([]storage.Document, error) {
	out := make([]storage.Document, 0, len(ids))
	for _, id := range ids {
		d, err := f.db.Document(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// MergeWithPrevious joins a document in review to the document before it
// in its batch (which must be in review too): the earlier one takes the
// pages of both and is re-decided; this one ends merged into it.
func (f *Filer) MergeWithPrevious(ctx context.Context, docID int64, actor string) (storage.Document, error) {
	d, err := f.reviewDoc(ctx, docID)
	if err != nil {
		return d, err
	}
	docs, err := f.db.BatchDocuments(ctx, d.BatchID)
	if err != nil {
		return d, err
	}
	var prev *storage.Document
	for i := range docs {
		o := &docs[i]
		if o.ID == d.ID || len(o.Pages) == 0 || o.Pages[0] >= d.Pages[0] || o.State == storage.DocMerged || o.State == storage.DocDiscarded {
			continue
		}
		if prev == nil || o.Pages[0] > prev.Pages[0] {
			prev = o
		}
	}
	if prev == nil {
		return d, fmt.Errorf("merge document %d: %w (no document before it in its batch)", docID, ErrBadEdit)
	}
	if prev.State != storage.DocReview {
		return d, fmt.Errorf("merge document %d with document %d, which is %s: %w", docID, prev.ID, prev.State, ErrBadEdit)
	}
	pages := append(slices.Clone(prev.Pages), d.Pages...)
	slices.Sort(pages)
	bp, err := f.readPages(ctx, d.BatchID, pages)
	if err != nil {
		return d, err
	}
	defer bp.src.Close()
	how := fmt.Sprintf("merged with document %d", d.ID)
	merged, err := f.redecide(ctx, d.BatchID, bp, pages, coverOf(*prev), actor, how)
	if err != nil {
		return d, err
	}
	if _, err := f.db.ApplyEdit(ctx, storage.Edit{Actor: actor, BatchID: d.BatchID, Event: how,
		Update: map[int64]storage.NewDocument{prev.ID: merged}, MergedInto: map[int64]int64{d.ID: prev.ID},
		Correction: fmt.Sprintf("pages %s and %s: one document", pagesText(prev.Pages), pagesText(d.Pages))}); err != nil {
		return d, err
	}
	f.log.Info("documents merged by review", "document", d.ID, "into", prev.ID)
	return f.db.Document(ctx, prev.ID)
}

// RemovePage takes a page out of a document in review (a blank page, a
// stray cover): it stays a page of the batch. A document left with no page
// is discarded. It returns the document as it is now.
func (f *Filer) RemovePage(ctx context.Context, docID int64, page int, actor, reason string) (storage.Document, error) {
	d, err := f.reviewDoc(ctx, docID)
	if err != nil {
		return d, err
	}
	at := slices.Index(d.Pages, page)
	if at < 0 {
		return d, fmt.Errorf("remove page %d from document %d: %w (not one of its pages)", page, docID, ErrBadEdit)
	}
	rest := slices.Delete(slices.Clone(d.Pages), at, at+1)
	how := fmt.Sprintf("page %d removed", page)
	if strings.TrimSpace(reason) != "" {
		how += ": " + strings.TrimSpace(reason)
	}
	e := storage.Edit{Actor: actor, BatchID: d.BatchID, Event: how}
	if len(rest) == 0 {
		e.Discard = []int64{docID}
	} else {
		bp, err := f.readPages(ctx, d.BatchID, rest)
		if err != nil {
			return d, err
		}
		defer bp.src.Close()
		nd, err := f.redecide(ctx, d.BatchID, bp, rest, coverOf(d), actor, how)
		if err != nil {
			return d, err
		}
		e.Update = map[int64]storage.NewDocument{docID: nd}
	}
	if _, err := f.db.ApplyEdit(ctx, e); err != nil {
		return d, err
	}
	return f.db.Document(ctx, docID)
}

// MovePage moves a page from one document in review to another of the same
// batch. A document left with no page is discarded.
func (f *Filer) MovePage(ctx context.Context, docID int64, page int, toDocID int64, actor string) error {
	from, err := f.reviewDoc(ctx, docID)
	if err != nil {
		return err
	}
	to, err := f.reviewDoc(ctx, toDocID)
	if err != nil {
		return err
	}
	at := slices.Index(from.Pages, page)
	if at < 0 || from.BatchID != to.BatchID || from.ID == to.ID {
		return fmt.Errorf("move page %d from document %d to %d: %w", page, docID, toDocID, ErrBadEdit)
	}
	bp, err := f.readPages(ctx, from.BatchID, append(slices.Clone(from.Pages), to.Pages...))
	if err != nil {
		return err
	}
	defer bp.src.Close()
	how := fmt.Sprintf("page %d moved from document %d to document %d", page, from.ID, to.ID)
	rest := slices.Delete(slices.Clone(from.Pages), at, at+1)
	dest := append(slices.Clone(to.Pages), page)
	slices.Sort(dest)
	e := storage.Edit{Actor: actor, BatchID: from.BatchID, Event: how, Update: map[int64]storage.NewDocument{},
		Correction: how}
	nt, err := f.redecide(ctx, to.BatchID, bp, dest, coverOf(to), actor, how)
	if err != nil {
		return err
	}
	e.Update[to.ID] = nt
	if len(rest) == 0 {
		e.Discard = []int64{from.ID}
	} else {
		nf, err := f.redecide(ctx, from.BatchID, bp, rest, coverOf(from), actor, how)
		if err != nil {
			return err
		}
		e.Update[from.ID] = nf
	}
	_, err = f.db.ApplyEdit(ctx, e)
	return err
}

// Reject takes a document out of the review queue without filing it (not a
// medical record, illegible), with the reason a person gave. It is kept,
// never deleted.
func (f *Filer) Reject(ctx context.Context, docID int64, actor, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("reject document %d: a reason is required: %w", docID, ErrBadEdit)
	}
	if err := f.db.Discard(ctx, docID, actor, reason); err != nil {
		return err
	}
	f.log.Info("document rejected by review", "document", docID)
	return nil
}
