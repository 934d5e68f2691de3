package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"paperchart/internal/evaluate"
	"paperchart/internal/harness"
	"paperchart/patients"
	"paperchart/storage"
)

// evalSeed is the default seed of paperchart eval. The classifier, the
// separation rules and the matcher were trained and tuned on other seeds
// (see README.md), so its corpus is held out.
const evalSeed = 9_000_001

// evalOptions is the generated corpus paperchart eval runs without --corpus.
type evalOptions struct {
	Documents      int     // at least this many documents in all
	Seed           uint64  // corpus seed
	Population     int     // patients in the index
	Unknown        float64 // share of batch patients not in the index
	BatchPages     int     // pages per batch
	SheetsShare    float64 // share of batches scanned with cover or separator sheets
	PerBatchPeople int     // patients per batch
}

// corpusOptions is the gen --corpus equivalent of o.
func (o evalOptions) corpusOptions(separator string) corpusOptions {
	co := defaultCorpusOptions()
	co.Documents, co.Seed, co.Population, co.Unknown = o.Documents, o.Seed, o.Population, o.Unknown
	co.Batch.Pages, co.SheetsShare, co.PerBatchPeople, co.Separator = o.BatchPages, o.SheetsShare, o.PerBatchPeople, separator
	return co
}

// evalResult is what `paperchart eval --json` prints.
type evalResult struct {
	Options *evalOptions    `json:"options,omitempty"` // the generated corpus; absent with --corpus
	Corpus  string          `json:"corpus,omitempty"`  // the --corpus folder
	Only    int             `json:"only,omitempty"`    // the one batch run (1-based, in file-name order)
	Report  evaluate.Report `json:"report"`
	// ReviewReasons counts the held documents by kind of reason (a
	// document held for several kinds counts under each).
	ReviewReasons       map[string]int `json:"review_reasons"`
	PagesPerMinute      float64        `json:"pages_per_minute"`
	WallSeconds         float64        `json:"wall_seconds"`
	TypeAccuracy        float64        `json:"type_accuracy"`
	TypeMacroF1         float64        `json:"type_macro_f1"`
	AutoFileRate        float64        `json:"auto_file_rate"`
	InIndexAutoFileRate float64        `json:"in_index_auto_file_rate"` // patient in the index, no conflicting identifier; goal ≥ 0.95
	WrongPatient        int            `json:"wrong_patient_auto_files"`
	WrongPatientConfl   int            `json:"wrong_patient_auto_files_conflict"` // of those, documents with conflict=yes
	ReviewShare         float64        `json:"review_share"`
	BoundaryF1None      float64        `json:"boundary_f1_without_sheets"`
	BoundaryF1Sheet     float64        `json:"boundary_f1_with_sheets"`
	BoundaryF1Mixed     float64        `json:"boundary_f1_sheets_on_some"`

	fileOf   map[int64]string   // batch ID → file name
	labelsOf map[int64][]string // batch ID → its truth documents' labels
}

const evalAbout = `Runs the real pipeline (ingest, split, barcodes, OCR, separation, classification, patient matching,
filing) on a corpus and prints how well it did against the corpus's ground truth: separation
precision/recall of document boundaries without sheets, with a cover or separator sheet on every
document and with sheets on some; type accuracy, macro-F1, per-type precision/recall/F1 and a
confusion matrix; the auto-file rate, overall and among documents whose patient is in the index and
that carry no conflicting identifier (the goal: at least 95%); wrong-patient auto-files (also those
of documents with a conflicting identifier); the review-queue share and why documents were held, by
kind of reason; and pages per minute. It works in a database, bucket and queues of its own, removed
after. Needs the services running (make run).

Without --corpus it scores a generated held-out corpus, exactly the one
  paperchart gen --corpus DIR --seed 9000001
writes (eval's --batch-pages and --sheets are gen's --pages and --sheets-share; the other flags
below have the same names): a patient index of generated patients with look-alikes (twins, same
names, near-identical MRNs) and batches of which some documents belong to patients it does not hold.

With --corpus DIR it scores your own scanned paper, in this format:
  DIR/patients.csv  the patient index: the CSV paperchart patients import reads
                    (mrn,family,given,birth_date,sex,address,city,postal_code,phone)
  DIR/batches/      the scanned batches, one file per batch (PDF, TIFF, JPEG, PNG)
  DIR/truth.csv     one row per page of every batch, with the header
                    file,page,document,kind,type,mrn,conflict
    file      the batch's file name under batches/
    page      1-based page in the file
    document  the document this page belongs to, any label unique within the file; empty for a
              sheet or a blank page that belongs to no document; a document's pages follow each
              other (blank pages may lie between)
    kind      empty for a content page, or cover, separator, blank
    type      the document's type: a type code (discharge-summary, history-physical, progress-note,
              consult-note, operative-report, lab-report, pathology-report, imaging-report,
              medication-list, referral-letter, consent-form, insurance-card, correspondence, other)
              or its LOINC code
    mrn       the true patient's MRN as in patients.csv; empty when the patient is not in the index
    conflict  "yes" when the document prints an identifier pointing to another person (another
              facility's MRN that belongs to someone else in the index, ...); else empty
  A batch counts as scanned with sheets when every document but the first has a cover or separator
  sheet just before it, with sheets on some when only some have. The corpus is checked before
  anything runs; problems are listed by line and file name.`

// evalGenFlags are the flags that describe a generated corpus.
var evalGenFlags = []string{"documents", "seed", "population", "unknown", "batch-pages", "sheets", "patients-per-batch"}

func runEval(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("eval", "[--corpus DIR] [flags]", evalAbout)
	c.register(fs, useDB|useRedis|useS3|useWorker|useFiling)
	var o evalOptions
	fs.IntVar(&o.Documents, "documents", 320, "generate batches until they hold at least this many documents")
	fs.Uint64Var(&o.Seed, "seed", evalSeed, "corpus seed (the default is held out from training and tuning)")
	fs.IntVar(&o.Population, "population", 5000, "patients in the generated patient index")
	fs.Float64Var(&o.Unknown, "unknown", 0.08, "share of the batches' patients who are not in the index")
	fs.IntVar(&o.BatchPages, "batch-pages", 16, "pages per generated batch")
	fs.Float64Var(&o.SheetsShare, "sheets", 0.4, "share of batches scanned with cover or separator sheets")
	fs.IntVar(&o.PerBatchPeople, "patients-per-batch", 4, "patients whose documents a batch mixes")
	corpus := fs.String("corpus", "", "score the corpus in this folder (format above) instead of a generated one")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	only := fs.Int("only", 0, "run only the Nth batch, in file-name order (to look into one); 0: all")
	outcomes := fs.String("outcomes", "", "also write what became of each document (file, pages, truth document, types, result, why held) as CSV to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval: unexpected arguments %q", fs.Args())
	}
	if *only < 0 {
		return errors.New("eval: --only must be 0 (all batches) or a batch number")
	}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}
	var res evalResult
	if *corpus != "" {
		var set []string
		fs.Visit(func(f *flag.Flag) {
			if slices.Contains(evalGenFlags, f.Name) {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			return fmt.Errorf("eval: %v describe a generated corpus; they do not go with --corpus", set)
		}
		var err error
		if res, err = scoreCorpus(ctx, &c, *corpus, *only, progress); err != nil {
			return err
		}
		res.Corpus = *corpus
	} else {
		if o.Documents < 1 || o.Population < 10 || o.BatchPages < 1 || o.PerBatchPeople < 1 || o.Unknown < 0 || o.Unknown > 1 || o.SheetsShare < 0 || o.SheetsShare > 1 {
			return fmt.Errorf("eval: --documents, --population (≥10), --batch-pages, --patients-per-batch must be positive; --unknown and --sheets between 0 and 1")
		}
		tmp, err := os.MkdirTemp("", "paperchart-eval-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir := filepath.Join(tmp, "corpus")
		if _, err := writeCorpus(ctx, dir, o.corpusOptions(c.Separator), progress); err != nil {
			return err
		}
		if res, err = scoreCorpus(ctx, &c, dir, *only, progress); err != nil {
			return err
		}
		res.Options = &o
	}
	if *outcomes != "" {
		var buf bytes.Buffer
		labelOf := func(id int64, n int) string {
			if l := res.labelsOf[id]; n >= 1 && n <= len(l) {
				return l[n-1]
			}
			return ""
		}
		if err := evaluate.WriteOutcomes(&buf, res.Report, func(id int64) string { return res.fileOf[id] }, labelOf); err != nil {
			return err
		}
		if err := os.WriteFile(*outcomes, buf.Bytes(), 0o640); err != nil {
			return fmt.Errorf("eval: write outcomes: %w", err)
		}
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintln(stdout)
	if err := res.Report.Print(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pages per minute: %.1f (%d pages in %.0f s, %d workers, from the first batch taken to the last filed)\n",
		res.PagesPerMinute, res.Report.Pages, res.WallSeconds, c.Concurrency)
	for _, d := range res.Report.WrongPatientDocuments {
		// The file and pages, to look up in truth.csv; the MRN it went to
		// is in --json, not on the screen.
		fmt.Fprintf(stdout, "WRONG PATIENT: %s pages %v filed to another patient\n", res.fileOf[d.BatchID], d.Pages)
	}
	return nil
}

// scoreCorpus checks the corpus in dir, runs its batches (all, or the
// only-th) through a pipeline of its own and scores the result.
func scoreCorpus(ctx context.Context, c *config, dir string, only int, progress func(string, ...any)) (evalResult, error) {
	res := evalResult{Only: only, fileOf: map[int64]string{}, labelsOf: map[int64][]string{}}
	corpus, err := evaluate.LoadCorpus(ctx, dir)
	if err != nil {
		return res, err
	}
	batches := corpus.Batches
	progress("corpus %s: %d patients, %d batches, %d documents", dir, corpus.PatientRows, len(batches), corpus.Documents())
	if only > 0 {
		if only > len(batches) {
			return res, fmt.Errorf("--only %d: the corpus has %d batches", only, len(batches))
		}
		batches = batches[only-1 : only]
	}

	p, err := harness.Start(ctx, harness.Options{
		DatabaseURL: c.DatabaseURL, Redis: c.redis(),
		Objects:     c.objectsConfig(),
		Concurrency: c.Concurrency, Filing: c.filingConfig(), Log: c.logger().With("eval", true),
	})
	if err != nil {
		return res, fmt.Errorf("start pipeline: %w", err)
	}
	defer p.Close()

	idx := patients.New(p.DB.Pool(), patients.Options{})
	if err := importCorpusPatients(ctx, idx, corpus, c.Authority, progress); err != nil {
		return res, err
	}

	start := time.Now()
	for _, b := range batches {
		if err := p.Drop(b.Path, b.File); err != nil {
			return res, err
		}
	}
	progress("dropped %d batches; running the pipeline", len(batches))
	var truths []evaluate.Batch
	var made []evaluate.Doc
	var first, last time.Time
	mrnOf := map[int64]string{}
	for i, cb := range batches {
		wctx, cancel := context.WithTimeout(ctx, time.Duration(len(cb.Pages))*2*time.Minute)
		b, err := p.WaitBatch(wctx, cb.File)
		cancel()
		if err != nil {
			return res, err
		}
		if b.State != storage.StateDone {
			return res, fmt.Errorf("batch %s (%d) ended %s: %s", cb.File, b.ID, b.State, b.Reason)
		}
		if b.Pages != len(cb.Pages) {
			return res, fmt.Errorf("batch %s: the pipeline found %d pages, %s lists %d", cb.File, b.Pages, evaluate.TruthFile, len(cb.Pages))
		}
		if first.IsZero() || b.CreatedAt.Before(first) {
			first = b.CreatedAt
		}
		if b.FinishedAt != nil && b.FinishedAt.After(last) {
			last = *b.FinishedAt
		}
		truths = append(truths, cb.Batch(b.ID))
		res.fileOf[b.ID] = cb.File
		res.labelsOf[b.ID] = cb.Labels
		ds, err := p.DB.BatchDocuments(ctx, b.ID)
		if err != nil {
			return res, err
		}
		filed := 0
		for _, d := range ds {
			ed := evaluate.Doc{BatchID: b.ID, Pages: d.Pages, Filed: d.State == storage.DocFiled, Type: d.Type,
				Preliminary: d.DocStatus == storage.DocStatusPreliminary, ReviewReasons: d.ReviewReasons}
			if ed.Type == "" {
				ed.Type = d.TypeSuggested
			}
			ed.Review.Split, ed.Review.Type, ed.Review.Patient = d.SplitReview, d.TypeReview, d.PatientReview
			if d.PatientID != nil {
				mrn, ok := mrnOf[*d.PatientID]
				if !ok {
					pt, err := idx.ByID(ctx, *d.PatientID)
					if err != nil {
						return res, err
					}
					mrn = pt.MRN
					mrnOf[*d.PatientID] = mrn
				}
				ed.PatientMRN = mrn
				filed++
			}
			made = append(made, ed)
		}
		progress("batch %d/%d (%s): %d pages, %d documents, %d filed", i+1, len(batches), cb.File, b.Pages, len(ds), filed)
	}
	res.Report = evaluate.Score(truths, made)
	res.WallSeconds = last.Sub(first).Seconds()
	if res.WallSeconds <= 0 {
		res.WallSeconds = time.Since(start).Seconds()
	}
	res.PagesPerMinute = float64(res.Report.Pages) / res.WallSeconds * 60
	res.ReviewReasons = res.Report.Held
	res.TypeAccuracy = res.Report.TypeAccuracy()
	res.TypeMacroF1 = res.Report.TypeMacroF1
	res.AutoFileRate = res.Report.AutoFileRate()
	res.InIndexAutoFileRate = res.Report.InIndexAutoFileRate()
	res.WrongPatient, res.WrongPatientConfl = res.Report.WrongPatient, res.Report.WrongPatientConflict
	res.ReviewShare = res.Report.ReviewShare()
	res.BoundaryF1None = res.Report.BoundariesNoSheets.F1()
	res.BoundaryF1Sheet = res.Report.BoundariesWithSheets.F1()
	res.BoundaryF1Mixed = res.Report.BoundariesMixed.F1()
	return res, nil
}

// importCorpusPatients imports the corpus's patients.csv into the index
// and checks that every patient truth.csv names was imported.
func importCorpusPatients(ctx context.Context, idx *patients.Index, corpus evaluate.Corpus, authority string, progress func(string, ...any)) error {
	f, err := os.Open(corpus.Patients)
	if err != nil {
		return fmt.Errorf("open %s: %w", evaluate.PatientsFile, err)
	}
	defer f.Close()
	rep, err := idx.Import(ctx, f, patients.FormatCSV, patients.ImportOptions{Authority: authority})
	if err != nil {
		return fmt.Errorf("import %s: %w", evaluate.PatientsFile, err)
	}
	progress("patient index: %d patients imported from %s, %d rows rejected", rep.Inserted+rep.Updated+rep.Unchanged, evaluate.PatientsFile, rep.Rejected)
	for i, r := range rep.Rejections { // where and why, never the values
		if i == 10 {
			progress("  ... and %d more", rep.Rejected-10)
			break
		}
		progress("  %s %s", evaluate.PatientsFile, r)
	}
	checked := map[string]bool{}
	var missing []string
	for _, b := range corpus.Batches {
		for _, pg := range b.Pages {
			if pg.MRN == "" || pg.Document == 0 || checked[pg.MRN] {
				continue
			}
			checked[pg.MRN] = true
			_, err := idx.ByMRN(ctx, authority, pg.MRN)
			if errors.Is(err, patients.ErrNotFound) {
				missing = append(missing, fmt.Sprintf("%s line %d", evaluate.TruthFile, pg.Line))
				continue
			}
			if err != nil {
				return fmt.Errorf("look up a patient of %s: %w", evaluate.TruthFile, err)
			}
		}
	}
	if len(missing) > 0 {
		n := len(missing)
		if n > 10 {
			missing = append(missing[:10], "...")
		}
		return fmt.Errorf("%d patients named in %s were not imported: %d rows of %s were rejected (%v); the first rows naming them: %v",
			n, evaluate.TruthFile, rep.Rejected, evaluate.PatientsFile, firstRejections(rep.Rejections, 5), missing)
	}
	return nil
}

// firstRejections words up to n import rejections (where and why, never
// the values).
func firstRejections(rs []patients.Rejection, n int) string {
	var out []string
	for i, r := range rs {
		if i == n {
			out = append(out, "...")
			break
		}
		out = append(out, r.String())
	}
	return strings.Join(out, "; ")
}
