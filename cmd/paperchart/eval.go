package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"paperchart/internal/evaluate"
	"paperchart/internal/harness"
	"paperchart/patients"
	"paperchart/scangen"
	"paperchart/scangen/sheetprint"
	"paperchart/storage"
)

// evalSeed is the default seed of paperchart eval. The classifier, the
// separation rules and the matcher were trained and tuned on other seeds
// (see README.md), so its corpus is held out.
const evalSeed = 9_000_001

// evalOptions is what paperchart eval runs.
type evalOptions struct {
	Documents      int     // at least this many documents in all
	Seed           uint64  // corpus seed
	Population     int     // patients in the index
	Unknown        float64 // share of batch patients not in the index
	BatchPages     int     // pages per batch
	SheetsShare    float64 // share of batches scanned with cover or separator sheets
	PerBatchPeople int     // patients per batch
	Only           int     `json:"-"` // run only this batch (1-based); 0 all
}

// evalResult is what `paperchart eval --json` prints.
type evalResult struct {
	Options         evalOptions     `json:"options"`
	Report          evaluate.Report `json:"report"`
	ReviewReasons   map[string]int  `json:"review_reasons"` // why documents went to review (a document may have several)
	PagesPerMinute  float64         `json:"pages_per_minute"`
	WallSeconds     float64         `json:"wall_seconds"`
	TypeAccuracy    float64         `json:"type_accuracy"`
	AutoFileRate    float64         `json:"auto_file_rate"`
	ReviewShare     float64         `json:"review_share"`
	BoundaryF1None  float64         `json:"boundary_f1_without_sheets"`
	BoundaryF1Sheet float64         `json:"boundary_f1_with_sheets"`
	BoundaryF1Mixed float64         `json:"boundary_f1_sheets_on_some"`
}

func runEval(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("eval", "[flags]",
		"Runs the real pipeline (ingest, split, barcodes, OCR, separation, classification, patient matching,\n"+
			"filing) on a generated held-out corpus and prints how well it did against the ground truth:\n"+
			"separation precision/recall of document boundaries with and without cover/separator sheets,\n"+
			"type accuracy and macro-F1, auto-file rate, wrong-patient auto-files, review-queue share and\n"+
			"pages per minute. The patient index holds a generated population with look-alikes (twins, same\n"+
			"names, near-identical MRNs), and some documents belong to patients it does not hold. It works in a\n"+
			"database, bucket and queues of its own, removed after. Needs the services running (make run).")
	c.register(fs, useDB|useRedis|useS3|useWorker|useFiling)
	var o evalOptions
	fs.IntVar(&o.Documents, "documents", 320, "generate batches until they hold at least this many documents")
	fs.Uint64Var(&o.Seed, "seed", evalSeed, "corpus seed (the default is held out from training and tuning)")
	fs.IntVar(&o.Population, "population", 5000, "patients in the generated patient index")
	fs.Float64Var(&o.Unknown, "unknown", 0.08, "share of the batches' patients who are not in the index")
	fs.IntVar(&o.BatchPages, "batch-pages", 16, "pages per generated batch")
	fs.Float64Var(&o.SheetsShare, "sheets", 0.4, "share of batches scanned with cover or separator sheets")
	fs.IntVar(&o.PerBatchPeople, "patients-per-batch", 4, "patients whose documents a batch mixes")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	fs.IntVar(&o.Only, "only", 0, "run only the Nth generated batch (to look into one); 0: all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Documents < 1 || o.Population < 10 || o.BatchPages < 1 || o.Unknown < 0 || o.Unknown > 1 || o.SheetsShare < 0 || o.SheetsShare > 1 {
		return fmt.Errorf("eval: --documents, --population (≥10), --batch-pages must be positive; --unknown and --sheets between 0 and 1")
	}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}
	res, err := evaluateCorpus(ctx, &c, o, progress)
	if err != nil {
		return err
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
	if len(res.ReviewReasons) > 0 {
		fmt.Fprintln(stdout, "why documents went to review:")
		reasons := make([]string, 0, len(res.ReviewReasons))
		for r := range res.ReviewReasons {
			reasons = append(reasons, r)
		}
		slices.SortFunc(reasons, func(a, b string) int { return res.ReviewReasons[b] - res.ReviewReasons[a] })
		for _, r := range reasons {
			fmt.Fprintf(stdout, "  %4d  %s\n", res.ReviewReasons[r], r)
		}
	}
	for _, d := range res.Report.WrongPatientDocuments {
		fmt.Fprintf(stdout, "WRONG PATIENT: batch %d pages %v filed to MRN %s\n", d.BatchID, d.Pages, d.PatientMRN)
	}
	return nil
}

// evaluateCorpus generates the corpus, runs it through a pipeline of its
// own and scores the result.
func evaluateCorpus(ctx context.Context, c *config, o evalOptions, progress func(string, ...any)) (evalResult, error) {
	res := evalResult{Options: o, ReviewReasons: map[string]int{}}
	p, err := harness.Start(ctx, harness.Options{
		DatabaseURL: c.DatabaseURL, Redis: c.redis(),
		Objects:     storage.ObjectsConfig{Endpoint: c.S3Endpoint, AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, UseTLS: c.S3TLS},
		Concurrency: c.Concurrency, Filing: c.filingConfig(), Log: c.logger().With("eval", true),
	})
	if err != nil {
		return res, fmt.Errorf("start pipeline: %w", err)
	}
	defer p.Close()

	// The patient index: a population with look-alikes.
	pop := scangen.Population(o.Seed, o.Population)
	var csv bytes.Buffer
	if err := scangen.WritePatientsCSV(&csv, pop); err != nil {
		return res, err
	}
	idx := patients.New(p.DB.Pool(), patients.Options{})
	rep, err := idx.Import(ctx, &csv, patients.FormatCSV, patients.ImportOptions{})
	if err != nil {
		return res, fmt.Errorf("import the generated patient index: %w", err)
	}
	progress("patient index: %d patients imported", rep.Inserted)
	inIndex := map[string]bool{}
	for _, pt := range pop {
		inIndex[pt.MRN] = true
	}
	// Patients the index does not hold.
	var strangers []scangen.Patient
	for _, pt := range scangen.Population(o.Seed^0x5eed, 500) {
		if !inIndex[pt.MRN] {
			strangers = append(strangers, pt)
		}
	}

	// The batches.
	r := rand.New(rand.NewPCG(o.Seed, 0xe7a1))
	tmp, err := os.MkdirTemp("", "paperchart-eval-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	type genBatch struct {
		name  string
		mode  scangen.SheetMode
		truth scangen.Truth
	}
	var batches []genBatch
	docs := 0
	for i := 0; docs < o.Documents; i++ {
		opt := scangen.DefaultOptions()
		opt.Pages, opt.Seed, opt.Format = o.BatchPages, o.Seed+uint64(i)+1, scangen.FormatPDF
		for range o.PerBatchPeople {
			if r.Float64() < o.Unknown {
				opt.Patients = append(opt.Patients, strangers[r.IntN(len(strangers))])
			} else {
				opt.Patients = append(opt.Patients, pop[r.IntN(len(pop))])
			}
		}
		if r.Float64() < o.SheetsShare {
			opt.Sheets = []scangen.SheetMode{scangen.SheetsCover, scangen.SheetsSeparator, scangen.SheetsMixed}[r.IntN(3)]
			opt.SheetPrinter = sheetprint.Printer{Separator: c.Separator}
		}
		name := fmt.Sprintf("eval-%03d.pdf", i+1)
		truth, err := scangen.WriteFile(ctx, filepath.Join(tmp, name), opt)
		if err != nil {
			return res, fmt.Errorf("generate batch %d: %w", i+1, err)
		}
		seen := map[int]bool{}
		for _, pg := range truth.Pages {
			if pg.Document > 0 && pg.Sheet == "" {
				seen[pg.Document] = true
			}
		}
		docs += len(seen)
		batches = append(batches, genBatch{name, opt.Sheets, truth})
		progress("generated %s: %d pages, %d documents (sheets: %s); %d documents so far", name, len(truth.Pages), len(seen), opt.Sheets, docs)
	}

	if o.Only > 0 {
		if o.Only > len(batches) {
			return res, fmt.Errorf("--only %d: the corpus has %d batches", o.Only, len(batches))
		}
		batches = batches[o.Only-1 : o.Only]
	}
	start := time.Now()
	for _, b := range batches {
		if err := p.Drop(filepath.Join(tmp, b.name), b.name); err != nil {
			return res, err
		}
	}
	progress("dropped %d batches; running the pipeline", len(batches))
	var truths []evaluate.Batch
	var made []evaluate.Doc
	var first, last time.Time
	mrnOf := map[int64]string{}
	for i, gb := range batches {
		wctx, cancel := context.WithTimeout(ctx, time.Duration(len(gb.truth.Pages))*2*time.Minute)
		b, err := p.WaitBatch(wctx, gb.name)
		cancel()
		if err != nil {
			return res, err
		}
		if b.State != storage.StateDone {
			return res, fmt.Errorf("batch %s (%d) ended %s: %s", gb.name, b.ID, b.State, b.Reason)
		}
		if first.IsZero() || b.CreatedAt.Before(first) {
			first = b.CreatedAt
		}
		if b.FinishedAt != nil && b.FinishedAt.After(last) {
			last = *b.FinishedAt
		}
		tb := evaluate.Batch{ID: b.ID, Sheets: gb.mode == scangen.SheetsCover || gb.mode == scangen.SheetsSeparator,
			Mixed: gb.mode == scangen.SheetsMixed}
		for _, pg := range gb.truth.Pages {
			tb.Pages = append(tb.Pages, evaluate.TruthPage{No: pg.Number, Document: pg.Document, Sheet: pg.Sheet != "",
				Blank: pg.Blank, Type: pg.Type, MRN: pg.MRN})
		}
		truths = append(truths, tb)
		ds, err := p.DB.BatchDocuments(ctx, b.ID)
		if err != nil {
			return res, err
		}
		filed := 0
		for _, d := range ds {
			ed := evaluate.Doc{BatchID: b.ID, Pages: d.Pages, Filed: d.State == storage.DocFiled, Type: d.Type}
			if ed.Type == "" {
				ed.Type = d.TypeSuggested
			}
			for _, why := range d.ReviewReasons {
				if i := strings.Index(why, " ("); i > 0 && strings.HasPrefix(why, "document type uncertain") {
					why = why[:i]
				}
				if i := strings.Index(why, ": match probability"); i > 0 {
					why = why[:i] + ": match probability below what automatic filing needs"
				}
				res.ReviewReasons[why]++
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
		progress("batch %d/%d (%s): %d pages, %d documents, %d filed", i+1, len(batches), gb.name, b.Pages, len(ds), filed)
	}
	res.Report = evaluate.Score(truths, made)
	res.WallSeconds = last.Sub(first).Seconds()
	if res.WallSeconds <= 0 {
		res.WallSeconds = time.Since(start).Seconds()
	}
	res.PagesPerMinute = float64(res.Report.Pages) / res.WallSeconds * 60
	res.TypeAccuracy = res.Report.TypeAccuracy()
	res.AutoFileRate = res.Report.AutoFileRate()
	res.ReviewShare = res.Report.ReviewShare()
	res.BoundaryF1None = res.Report.BoundariesNoSheets.F1()
	res.BoundaryF1Sheet = res.Report.BoundariesWithSheets.F1()
	res.BoundaryF1Mixed = res.Report.BoundariesMixed.F1()
	return res, nil
}
