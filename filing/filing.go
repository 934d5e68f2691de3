// Package filing owns the last stage of the pipeline: it turns an OCR'd
// batch into documents and files each one, or leaves it for a person.
//
// For every batch it cuts the pages into documents (package separate: cover
// sheets, separator sheets, then content), decides each document's type
// (a cover sheet's, else package classify) and patient (a cover sheet's MRN
// looked up in the patient index, else identifiers read from the pages by
// package extract, candidates from package patients, scored by package
// match). Each of the three decisions carries a confidence. A document whose
// three decisions are all sure is filed: its PDF is stored under the patient
// and its row says state filed. Any other document is stored under its batch
// and waits in the review queue, with its ranked candidates and the reasons
// in plain words.
//
// The stage is idempotent: document PDFs go to keys derived from the batch
// and the document's position, and the rows are written in one transaction
// with the batch's move to done, so a task run twice files nothing twice.
//
// Nothing here logs patient data: logs name batches and documents by ID.
package filing

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"paperchart/chart"
	"paperchart/classify"
	"paperchart/extract"
	"paperchart/match"
	"paperchart/pagesource"
	"paperchart/patients"
	"paperchart/separate"
	"paperchart/sheets"
	"paperchart/storage"
)

// Config tunes a Filer. The zero value is usable.
type Config struct {
	// Authority is the assigning authority of MRNs read from pages and of
	// cover sheets that name none. Default patients.DefaultAuthority.
	Authority string
	// Separator is the separator sheet's barcode value. Default
	// sheets.DefaultSeparator.
	Separator string
	// Extract configures identifier extraction (MRN patterns of the
	// facility). Default: 6–10 digit MRNs padded to 8 digits.
	Extract *extract.Config
	// Classifier is the document type model. Default classify.Default().
	Classifier *classify.Model
	// Match is the patient matching model. Default match.DefaultModel().
	Match *match.Model
	// Candidates is how many patients the index proposes per document.
	// Default 20.
	Candidates int
	// WorkDir holds temporary files. Default: the system's.
	WorkDir string
	// TypeDoubt says what becomes of a document whose split and patient are
	// sure but whose type is not: TypeDoubtFile (the default) files it under
	// its patient with the best type, preliminary, for the type-check
	// queue; TypeDoubtReview holds it in the review queue.
	TypeDoubt string
}

// What Config.TypeDoubt may say.
const (
	TypeDoubtFile   = "file"
	TypeDoubtReview = "review"
)

// ParseTypeDoubt reads a Config.TypeDoubt value ("" is TypeDoubtFile).
func ParseTypeDoubt(s string) (string, error) {
	switch s {
	case "", TypeDoubtFile:
		return TypeDoubtFile, nil
	case TypeDoubtReview:
		return TypeDoubtReview, nil
	}
	return "", fmt.Errorf("type doubt %q: want %s or %s", s, TypeDoubtFile, TypeDoubtReview)
}

// Objects is what filing reads and writes in the object store;
// *storage.Objects has it.
type Objects interface {
	Get(ctx context.Context, key string) ([]byte, error)
	PutFile(ctx context.Context, key, path, contentType string) error
	Copy(ctx context.Context, dst, src string) error
}

// Filer files batches. It is safe for concurrent use.
type Filer struct {
	db    *storage.DB
	obj   Objects
	index *patients.Index
	sep   *separate.Separator
	cls   *classify.Model
	match *match.Model
	cfg   Config
	log   *slog.Logger
}

// New prepares a Filer: it loads the classifier and compiles the
// extraction patterns once.
func New(db *storage.DB, obj Objects, cfg Config, log *slog.Logger) (*Filer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Authority == "" {
		cfg.Authority = patients.DefaultAuthority
	}
	if cfg.Separator == "" {
		cfg.Separator = sheets.DefaultSeparator
	}
	if cfg.Candidates <= 0 {
		cfg.Candidates = 20
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = os.TempDir()
	}
	var err error
	if cfg.TypeDoubt, err = ParseTypeDoubt(cfg.TypeDoubt); err != nil {
		return nil, err
	}
	xc := extract.Config{MRNWidth: 8}
	if cfg.Extract != nil {
		xc = *cfg.Extract
	}
	ext, err := extract.New(xc)
	if err != nil {
		return nil, fmt.Errorf("identifier extraction: %w", err)
	}
	cls := cfg.Classifier
	if cls == nil {
		if cls, err = classify.Default(); err != nil {
			return nil, fmt.Errorf("load the document type model: %w", err)
		}
	}
	m := cfg.Match
	if m == nil {
		m = match.DefaultModel()
	}
	sep, err := separate.New(separate.Config{Extractor: ext, Classifier: cls})
	if err != nil {
		return nil, fmt.Errorf("document separation: %w", err)
	}
	return &Filer{
		db: db, obj: obj, index: patients.New(db.Pool(), patients.Options{Log: log}),
		sep: sep, cls: cls, match: m, cfg: cfg, log: log,
	}, nil
}

// Summary is what FileBatch did.
type Summary struct {
	Documents, Filed, Review int
}

// FileBatch separates, classifies, matches and files the documents of a
// batch in state filing, then moves the batch to done. A batch in any other
// state is left alone (a re-delivered task).
func (f *Filer) FileBatch(ctx context.Context, batchID int64) (Summary, error) {
	return f.fileBatch(ctx, batchID, nil)
}

// FileLoaded is FileBatch for a batch whose pages the caller has loaded
// already (the assembly, which built the batch's searchable PDF from them):
// the documents' PDFs are built from them, and no page is fetched again.
// pages must hold every page of the batch that is in a document.
func (f *Filer) FileLoaded(ctx context.Context, pages *pagesource.Pages) (Summary, error) {
	return f.fileBatch(ctx, pages.Batch(), pages)
}

func (f *Filer) fileBatch(ctx context.Context, batchID int64, loaded *pagesource.Pages) (Summary, error) {
	b, err := f.db.Batch(ctx, batchID)
	if err != nil {
		return Summary{}, err
	}
	if b.State != storage.StateFiling {
		return Summary{}, nil
	}
	start := time.Now()
	existing, err := f.db.BatchDocuments(ctx, batchID)
	if err != nil {
		return Summary{}, err
	}
	var docs []storage.NewDocument
	if len(existing) == 0 {
		// Only an unfinished first attempt can leave objects without rows;
		// they are overwritten below at the same keys.
		if docs, err = f.decideBatch(ctx, batchID, loaded); err != nil {
			return Summary{}, err
		}
	}
	sum, _, err := f.db.FinishFiling(ctx, batchID, docs)
	if err != nil {
		return Summary{}, err
	}
	f.log.Info("batch filed", "batch", batchID, "documents", sum.Documents, "filed", sum.Filed, "review", sum.Review,
		"ms", time.Since(start).Milliseconds())
	return Summary(sum), nil
}

// decideBatch makes every decision and stores every document's PDF, built
// from loaded (nil: the documents' pages are loaded here).
func (f *Filer) decideBatch(ctx context.Context, batchID int64, loaded *pagesource.Pages) ([]storage.NewDocument, error) {
	bp, err := f.readBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	parts, err := f.sep.Split(ctx, bp.sep)
	if err != nil {
		return nil, fmt.Errorf("separate batch %d: %w", batchID, err)
	}
	if loaded != nil {
		bp.src = loaded
	} else {
		var nos []int
		for _, part := range parts {
			nos = append(nos, part.Pages...)
		}
		if err := bp.load(ctx, f.obj, batchID, nos, f.cfg.WorkDir); err != nil {
			return nil, err
		}
		defer bp.src.Close()
	}
	var kept []separate.Document
	for _, part := range parts {
		if len(part.Pages) > 0 {
			kept = append(kept, part)
		}
	}
	out := make([]storage.NewDocument, len(kept))
	pds := make([]patientDecision, len(kept))
	for i, part := range kept {
		texts, labels := bp.inputs(part.Pages)
		if out[i], pds[i], err = f.decide(ctx, part, texts, labels); err != nil {
			return nil, fmt.Errorf("batch %d document %d: %w", batchID, i+1, err)
		}
	}
	f.oneChart(kept, out, pds)
	f.faxRuns(kept, out, pds)
	for i := range out {
		d := &out[i]
		seq := i + 1
		d.Seq = seq
		if d.State == storage.DocFiled {
			d.ObjectKey = storage.PatientDocumentKey(*d.PatientID, batchID, seq)
		} else {
			d.ObjectKey = storage.ReviewDocumentKey(batchID, seq)
		}
		if d.PDFSize, d.PDFSHA1, err = f.storePDF(ctx, batchID, d.ObjectKey, d.Pages, bp.src); err != nil {
			return nil, fmt.Errorf("batch %d document %d: %w", batchID, seq, err)
		}
	}
	return out, nil
}

// oneChart files documents held only for a doubtful boundary between them
// when they all go to one patient: a run of consecutive documents whose
// boundaries with each other are doubtful, every other boundary of the run
// sure, and each document's patient sure on its own pages, to the same
// patient. However the pages are cut, then, each goes to that patient's
// chart: the doubt is where one of the patient's documents ends, never
// whose pages they are. The documents are filed with the split's doubt kept
// in their split reasons (and split_review set), as a doubtful type is
// filed preliminary rather than hidden.
func (f *Filer) oneChart(parts []separate.Document, docs []storage.NewDocument, pds []patientDecision) {
	th := f.sep.Threshold()
	for i := 0; i < len(docs); {
		j := i
		for j+1 < len(docs) && parts[j].EndConfidence < th {
			j++
		}
		run := i
		i = j + 1
		if j == run || parts[run].StartConfidence < th || parts[j].EndConfidence < th {
			continue
		}
		ok := true
		var patient int64
		for k := run; k <= j && ok; k++ {
			d, pd, part := &docs[k], pds[k], parts[k]
			ok = d.State == storage.DocReview && d.SplitReview && !part.BeforeFirstSheet &&
				part.InnerConfidence >= th && pd.sure && len(pd.candidates) > 0 &&
				(k == run || pd.candidates[0].PatientID == patient)
			if ok {
				patient = pd.candidates[0].PatientID
			}
		}
		if !ok {
			continue
		}
		for k := run; k <= j; k++ {
			d := &docs[k]
			d.SplitReview = false
			f.settle(d, pds[k])
			d.SplitReview = true
			if d.State != storage.DocFiled {
				continue
			}
			d.ReviewReasons = slices.DeleteFunc(d.ReviewReasons, func(r string) bool { return strings.HasPrefix(r, splitDoubt) })
			d.SplitReasons = append(slices.Clip(d.SplitReasons), "filed all the same: the documents on either side of the doubtful boundary are the same patient's")
		}
	}
}

// faxRuns files a document that could not be filed on its own evidence
// with the document it was faxed with, when that one was filed on its own
// evidence to one of the first's linkable candidates (see Filer.linkable):
// a fax cover sheet that names the patient alone ("Regarding: Jane Roe"),
// or one whose name and birth date fit two records of the index equally.
// The transmission is the missing identifier, as an indexer reads it. Only
// documents that this, and nothing else, held are filed so; a neighbour
// filed this way lends nothing further.
func (f *Filer) faxRuns(parts []separate.Document, docs []storage.NewDocument, pds []patientDecision) {
	filed := make([]*int64, len(docs)) // patients filed on their own evidence
	for i := range docs {
		if docs[i].State == storage.DocFiled {
			filed[i] = docs[i].PatientID
		}
	}
	for i := range docs {
		d, pd := &docs[i], pds[i]
		if d.State == storage.DocFiled || len(pd.linkable) == 0 || d.SplitReview || parts[i].Cover != nil {
			continue
		}
		var with *int64
		switch {
		case i+1 < len(docs) && parts[i].FaxNext && filed[i+1] != nil && pd.linkable[*filed[i+1]]:
			with = filed[i+1]
		case i > 0 && parts[i-1].FaxNext && filed[i-1] != nil && pd.linkable[*filed[i-1]]:
			with = filed[i-1]
		default:
			continue
		}
		k := slices.IndexFunc(pd.candidates, func(c chart.Candidate) bool { return c.PatientID == *with })
		c := pd.candidates[k]
		c.Reasons = append(slices.Clip(c.Reasons), "sent in one fax transmission with a document filed to this patient")
		pd.candidates = append(chart.Candidates{c}, slices.Delete(slices.Clone(pd.candidates), k, k+1)...)
		pd.sure, pd.why, pd.confidence = true, nil, c.Probability
		d.Candidates, d.PatientReview, d.PatientConfidence = pd.candidates, false, c.Probability
		d.PatientSuggested = &c.PatientID
		d.ReviewReasons = slices.DeleteFunc(d.ReviewReasons, func(r string) bool { return slices.Contains(pds[i].why, r) })
		f.settle(d, pd)
	}
}

// separatePage is what separation needs of a stored page.
func (f *Filer) separatePage(pg storage.Page, text string) separate.Page {
	codes := make([]sheets.Code, len(pg.Barcodes))
	for i, c := range pg.Barcodes {
		codes[i] = sheets.Code{Format: sheets.Format(c.Format), Text: c.Text}
	}
	p := separate.Page{No: pg.No, Text: text, Blank: pg.Blank}
	if pg.Kind == storage.PageKindCover || pg.Kind == storage.PageKindSeparator {
		p.Sheet, p.IsSheet = sheets.Classify(codes, f.cfg.Separator)
		p.Text = ""
	}
	for _, c := range sheets.Labels(codes, f.cfg.Separator) {
		p.Labels = append(p.Labels, c.Text)
	}
	return p
}

// storePDF assembles a document's searchable PDF from its pages' images
// and OCR words, stores it at key, and returns its size and SHA-1 (hex),
// which FHIR clients check the bytes against.
func (f *Filer) storePDF(ctx context.Context, batchID int64, key string, nos []int, src *pagesource.Pages) (int64, string, error) {
	dir, err := os.MkdirTemp(f.cfg.WorkDir, fmt.Sprintf("file-%d-", batchID))
	if err != nil {
		return 0, "", fmt.Errorf("make work folder: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "document.pdf")
	out, err := os.Create(path)
	if err != nil {
		return 0, "", err
	}
	if err := src.WritePDF(ctx, out, nos); err != nil {
		out.Close()
		return 0, "", fmt.Errorf("build document PDF: %w", err)
	}
	if err := out.Close(); err != nil {
		return 0, "", err
	}
	size, sum, err := fileSHA1(path)
	if err != nil {
		return 0, "", err
	}
	return size, sum, f.obj.PutFile(ctx, key, path, "application/pdf")
}

// ErrNotInReview is returned by FileReviewed for a document that no longer
// waits for review.
var ErrNotInReview = storage.ErrNotInReview

// ErrInactivePatient is returned by FileReviewed for a patient record that
// is inactive.
var ErrInactivePatient = errors.New("patient record is inactive")

// ReviewDecision is what a person decided for a document in review.
type ReviewDecision struct {
	Actor       string     // who decided: a user name
	PatientID   int64      // the patient to file to
	Type        string     // a classify type code
	ServiceDate *time.Time // the date of service, when the person set or corrected it
}

// FileReviewed files a document from the review queue to the patient and
// type a person chose: the PDF is copied under the patient, and every
// difference from the pipeline's suggestion is kept as a correction.
func (f *Filer) FileReviewed(ctx context.Context, docID int64, r ReviewDecision) (storage.Document, error) {
	if strings.TrimSpace(r.Actor) == "" {
		return storage.Document{}, errors.New("file a document: who decided is required")
	}
	t, ok := classify.Lookup(r.Type)
	if !ok {
		return storage.Document{}, fmt.Errorf("file a document: unknown document type %q", r.Type)
	}
	d, err := f.db.Document(ctx, docID)
	if err != nil {
		return d, err
	}
	if d.State != storage.DocReview {
		return d, fmt.Errorf("file document %d: %w", docID, storage.ErrNotInReview)
	}
	p, err := f.index.Resolve(ctx, r.PatientID)
	if err != nil {
		return d, fmt.Errorf("file document %d: %w", docID, err)
	}
	if !p.Active {
		return d, fmt.Errorf("file document %d to patient %d: %w", docID, p.ID, ErrInactivePatient)
	}
	key := storage.PatientDocumentKey(p.ID, d.BatchID, d.Seq)
	if err := f.obj.Copy(ctx, key, d.ObjectKey); err != nil {
		return d, fmt.Errorf("file document %d: %w", docID, err)
	}
	if err := f.db.FileReviewed(ctx, docID, storage.ReviewDecision{
		Actor: r.Actor, PatientID: p.ID, Type: t.Code, LOINC: t.LOINC, ObjectKey: key, ServiceDate: r.ServiceDate,
	}); err != nil {
		return d, err
	}
	f.log.Info("document filed by review", "document", docID, "patient", p.ID)
	return f.db.Document(ctx, docID)
}

// ConfirmType makes the type of a filed, preliminary document final: the
// type a person confirmed or chose (a classify type code). A type other than
// the suggested one is kept as a correction, for retraining.
func (f *Filer) ConfirmType(ctx context.Context, docID int64, actor, code string) (storage.Document, error) {
	if strings.TrimSpace(actor) == "" {
		return storage.Document{}, errors.New("confirm a document's type: who decided is required")
	}
	t, ok := classify.Lookup(code)
	if !ok {
		return storage.Document{}, fmt.Errorf("confirm a document's type: unknown document type %q", code)
	}
	if err := f.db.ConfirmType(ctx, docID, storage.TypeDecision{Actor: actor, Type: t.Code, LOINC: t.LOINC, Title: t.Name}); err != nil {
		return storage.Document{}, err
	}
	f.log.Info("document type confirmed", "document", docID)
	return f.db.Document(ctx, docID)
}

// fileSHA1 returns a file's size and SHA-1 (hex).
func fileSHA1(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha1.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
