package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"paperchart/internal/evaluate"
	"paperchart/scangen"
	"paperchart/scangen/sheetprint"
)

const genUsage = `usage: paperchart gen [flags]

Gen writes a synthetic scanned batch of fictional medical records: a PDF or
multi-page TIFF (or a single-page JPEG or PNG) of rendered pages with
scanner effects (skew, noise, tone, bilevel pages, pages fed sideways or
upside down, blank sheets), and optionally its ground truth as JSON. The
same seed and flags always give the same file.

The file is written to FILE.tmp and renamed to FILE when complete, so a
drop folder never sees a partial batch. Keep --truth out of the drop
folder: it is not a scan.

Flags:
  --out FILE          file to write (required); its extension (.pdf, .tif,
                      .tiff, .jpg, .jpeg, .png) gives the format
  --format F          pdf, tiff, jpeg or png, overriding the extension
  --pages N           number of pages (default 10; 1 for jpeg and png,
                      which hold one page)
  --seed S            random seed, an unsigned integer (default 1)
  --dpi D             resolution; 0 means 300 with --clean, else one of 200,
                      240 or 300 drawn from the seed (default 0)
  --clean             no degradation: upright, unskewed, noiseless pages
                      and no blank sheets
  --bilevel P         share of pages stored black and white, 0..1 (default 0.3)
  --rotate-prob P     probability a page is rotated 90, 180 or 270 degrees,
                      0..1 (default 0.05)
  --blank-prob P      probability that a page is a blank sheet (noise
                      only), 0..1 (default 0.05)
  --truth FILE        also write the ground truth (text, rotation, skew, ...
                      per page) as JSON to FILE; default: none
  --sheets MODE       none (default), cover (a cover sheet before every
                      document), separator (a separator sheet between
                      documents) or mixed; sheets are added to --pages
  --patients FILE     draw the documents' patients from this CSV (the
                      header of paperchart patients import); default:
                      fictional patients not in any index
  --patients-per-batch N
                      how many of them a batch mixes (default 4)
  --bodies DIR        documents' bodies are real texts from DIR/<type>/*.txt
                      (the layout of realtext/train and realtext/heldout),
                      laid out under generated headers, patient blocks and
                      footers; only the types DIR holds are drawn
  --population N      instead of a batch, write N generated patients as a
                      CSV for paperchart patients import to --out (one in
                      eight a look-alike of another: twins, namesakes,
                      near-identical MRNs)

Corpus mode: --corpus DIR, instead of --out, writes a whole evaluation
corpus in the format paperchart eval --corpus reads (see paperchart eval
--help): DIR/patients.csv (a generated population with look-alikes),
DIR/batches/batch-NNN.pdf and DIR/truth.csv. DIR must be empty or absent.
The same seed and flags give the same corpus; paperchart eval without
--corpus scores exactly the corpus of gen --corpus with its seed and
defaults. --pages, --format, --dpi, --clean, --bilevel, --rotate-prob,
--blank-prob and --patients-per-batch apply to every batch, and:
  --corpus DIR        the folder to write
  --documents N       batches are generated until they hold at least N
                      documents (default 320)
  --batches N         and at least N batches (default 1)
  --population N      patients in the index (default 5000)
  --unknown P         share of the batches' patients not in the index,
                      0..1 (default 0.08)
  --sheets-share P    share of batches scanned with sheets, each drawn as
                      cover, separator or mixed, 0..1 (default 0.4);
                      --sheets MODE instead gives every batch that mode
  --separator CODE    the separator sheets' barcode value (default PATCHT)
  --pages N           pages per batch (default 16 here)

Examples:
  paperchart gen --out var/drop/batch-0001.pdf --pages 20 --seed 7 \
      --truth var/truth/batch-0001.json
  paperchart gen --corpus var/corpus --documents 100 --seed 3
  paperchart eval --corpus var/corpus
  paperchart gen --population 1000 --out var/patients.csv
  paperchart patients import var/patients.csv
  paperchart gen --patients var/patients.csv --sheets mixed \
      --out var/drop/inbox/batch-0002.pdf --pages 12
`

// runGen implements "paperchart gen". It prints one line on success.
func runGen(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), genUsage) }
	def := scangen.DefaultOptions()
	var (
		out     = fs.String("out", "", "")
		format  = fs.String("format", "", "")
		pages   = fs.Int("pages", def.Pages, "")
		seed    = fs.Uint64("seed", 1, "")
		dpi     = fs.Int("dpi", 0, "")
		clean   = fs.Bool("clean", false, "")
		bilevel = fs.Float64("bilevel", def.Bilevel, "")
		rotate  = fs.Float64("rotate-prob", def.RotateProb, "")
		blank   = fs.Float64("blank-prob", def.BlankProb, "")
		truth   = fs.String("truth", "", "")
		sheets  = fs.String("sheets", "none", "")
		from    = fs.String("patients", "", "")
		perB    = fs.Int("patients-per-batch", 4, "")
		popN    = fs.Int("population", 0, "")
		corpus  = fs.String("corpus", "", "")
		docs    = fs.Int("documents", 320, "")
		batches = fs.Int("batches", 1, "")
		unknown = fs.Float64("unknown", 0.08, "")
		share   = fs.Float64("sheets-share", 0.4, "")
		sepCode = fs.String("separator", "", "")
		bodies  = fs.String("bodies", "", "")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *pages < 1 {
		return fmt.Errorf("--pages must be at least 1, not %d", *pages)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var texts *scangen.Bodies
	if *bodies != "" {
		var err error
		if texts, err = scangen.LoadBodies(*bodies); err != nil {
			return err
		}
	}
	if *corpus != "" {
		for _, f := range []string{"out", "truth", "patients"} {
			if set[f] {
				return fmt.Errorf("--%s does not go with --corpus", f)
			}
		}
		o := defaultCorpusOptions()
		o.Seed, o.Documents, o.Batches, o.Unknown, o.SheetsShare, o.PerBatchPeople = *seed, *docs, *batches, *unknown, *share, *perB
		o.Separator = *sepCode
		if set["population"] {
			o.Population = *popN
		}
		if set["pages"] {
			o.Batch.Pages = *pages
		}
		o.Batch.DPI, o.Batch.Clean, o.Batch.Bilevel, o.Batch.RotateProb, o.Batch.BlankProb = *dpi, *clean, *bilevel, *rotate, *blank
		o.Batch.Bodies = texts
		if *format != "" {
			f, err := parseFormat(*format)
			if err != nil {
				return err
			}
			o.Batch.Format = f
			if (f == scangen.FormatJPEG || f == scangen.FormatPNG) && !set["pages"] {
				o.Batch.Pages = 1
			}
		}
		if set["sheets"] {
			m, err := scangen.ParseSheetMode(*sheets)
			if err != nil {
				return err
			}
			o.Sheets = &m
		}
		sum, err := writeCorpus(ctx, *corpus, o, func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) })
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "wrote %s: %d patients in %s, %d batches (%d pages, %d documents) in %s/, their truth in %s\n",
			*corpus, sum.Patients, evaluate.PatientsFile, sum.Batches, sum.Pages, sum.Documents, evaluate.BatchesDir, evaluate.TruthFile)
		return err
	}
	if *out == "" {
		fs.Usage()
		return errors.New("--out is required")
	}
	if *popN > 0 {
		return writePopulation(*out, *seed, *popN, stdout)
	}
	opt := def
	opt.Pages, opt.Seed, opt.DPI, opt.Clean = *pages, *seed, *dpi, *clean
	opt.Bilevel, opt.RotateProb, opt.BlankProb = *bilevel, *rotate, *blank
	opt.Bodies = texts
	if *format != "" {
		opt.Format = scangen.Format(*format)
		if opt.Format == "tif" {
			opt.Format = scangen.FormatTIFF
		}
		if opt.Format == "jpg" {
			opt.Format = scangen.FormatJPEG
		}
	} else {
		f, err := scangen.FormatFromPath(*out)
		if err != nil {
			return fmt.Errorf("%w (use --format)", err)
		}
		opt.Format = f
	}
	if (opt.Format == scangen.FormatJPEG || opt.Format == scangen.FormatPNG) && !set["pages"] {
		opt.Pages = 1 // a single image; --pages defaults to 1 here
	}
	if *truth != "" && abs(*truth) == abs(*out) {
		return errors.New("--truth and --out name the same file")
	}
	var err error
	if opt.Sheets, err = scangen.ParseSheetMode(*sheets); err != nil {
		return err
	}
	if opt.Sheets != scangen.SheetsNone {
		opt.SheetPrinter = sheetprint.Printer{}
	}
	if *from != "" {
		if opt.Patients, err = pickPatients(*from, *seed, *perB); err != nil {
			return err
		}
	}
	t, err := scangen.WriteFile(ctx, *out, opt)
	if err != nil {
		return err
	}
	if *truth != "" {
		b, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*truth, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(stdout, "wrote %s: %d pages (%s)\n", *out, len(t.Pages), opt.Format)
	return err
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	return a
}

// writePopulation writes n generated patients as an import CSV.
func writePopulation(path string, seed uint64, n int, stdout io.Writer) error {
	var buf bytes.Buffer
	if err := scangen.WritePatientsCSV(&buf, scangen.Population(seed, n)); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o640); err != nil {
		return fmt.Errorf("write patients: %w", err)
	}
	_, err := fmt.Fprintf(stdout, "wrote %s: %d patients\n", path, n)
	return err
}

// pickPatients draws n patients from an import CSV, by seed.
func pickPatients(path string, seed uint64, n int) ([]scangen.Patient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read patients: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("read patients from %s: want a CSV with a header and at least one patient (%v)", path, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"mrn", "family", "given", "birth_date"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("read patients from %s: no %s column", path, need)
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x9a71))
	var out []scangen.Patient
	for range max(n, 1) {
		row := rows[1+r.IntN(len(rows)-1)]
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		p := scangen.Patient{MRN: get("mrn"), Family: get("family"), Given: get("given"), Sex: get("sex")}
		if len(p.Sex) > 0 {
			p.Sex = strings.ToUpper(p.Sex[:1])
		}
		if p.BirthDate, err = time.Parse("2006-01-02", get("birth_date")); err != nil {
			return nil, fmt.Errorf("read patients from %s: birth_date must be YYYY-MM-DD", path)
		}
		out = append(out, p)
	}
	return out, nil
}

// corpusOptions is what gen --corpus (and eval without --corpus) writes.
type corpusOptions struct {
	Documents      int                // batches are generated until they hold at least this many documents
	Batches        int                // and at least this many batches
	Seed           uint64             // corpus seed
	Population     int                // patients in the index
	Unknown        float64            // share of the batches' patients who are not in the index
	SheetsShare    float64            // share of batches scanned with sheets (cover, separator or mixed, drawn)
	Sheets         *scangen.SheetMode // when set, every batch is scanned so instead
	PerBatchPeople int                // patients whose documents a batch mixes
	Separator      string             // separator sheets' barcode value; "" the default
	// Batch is every batch's generator options; Seed, Patients, Sheets and
	// SheetPrinter are set per batch.
	Batch scangen.Options
}

func defaultCorpusOptions() corpusOptions {
	b := scangen.DefaultOptions()
	b.Pages, b.Format = 16, scangen.FormatPDF
	return corpusOptions{Documents: 320, Batches: 1, Population: 5000, Unknown: 0.08, SheetsShare: 0.4, PerBatchPeople: 4, Batch: b}
}

// corpusSummary is what writeCorpus wrote.
type corpusSummary struct {
	Patients, Batches, Pages, Documents int
}

func parseFormat(s string) (scangen.Format, error) {
	switch strings.ToLower(s) {
	case "pdf":
		return scangen.FormatPDF, nil
	case "tif", "tiff":
		return scangen.FormatTIFF, nil
	case "jpg", "jpeg":
		return scangen.FormatJPEG, nil
	case "png":
		return scangen.FormatPNG, nil
	}
	return "", fmt.Errorf("--format %q: use pdf, tiff, jpeg or png", s)
}

func formatExt(f scangen.Format) string {
	switch f {
	case scangen.FormatTIFF:
		return "tif"
	case scangen.FormatJPEG:
		return "jpg"
	}
	return string(f)
}

// writeCorpus writes a generated corpus into dir (empty or absent) in the
// format of package evaluate: a population with look-alikes as the index,
// batches mixing its patients with some it does not hold, and the truth.
func writeCorpus(ctx context.Context, dir string, o corpusOptions, progress func(string, ...any)) (corpusSummary, error) {
	var sum corpusSummary
	switch {
	case o.Documents < 1 || o.Batches < 1:
		return sum, errors.New("--documents and --batches must be at least 1")
	case o.Population < 10:
		return sum, fmt.Errorf("--population must be at least 10, not %d", o.Population)
	case o.Batch.Pages < 1:
		return sum, errors.New("--pages must be at least 1")
	case o.PerBatchPeople < 1:
		return sum, errors.New("--patients-per-batch must be at least 1")
	case o.Unknown < 0 || o.Unknown > 1 || o.SheetsShare < 0 || o.SheetsShare > 1:
		return sum, errors.New("--unknown and --sheets-share must be between 0 and 1")
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return sum, fmt.Errorf("corpus folder %s is not empty: give a new or empty one", dir)
	}
	bdir := filepath.Join(dir, evaluate.BatchesDir)
	if err := os.MkdirAll(bdir, 0o750); err != nil {
		return sum, fmt.Errorf("make corpus folder: %w", err)
	}

	// The patient index: a population with look-alikes.
	pop := scangen.Population(o.Seed, o.Population)
	var buf bytes.Buffer
	if err := scangen.WritePatientsCSV(&buf, pop); err != nil {
		return sum, err
	}
	if err := writeCorpusFile(filepath.Join(dir, evaluate.PatientsFile), buf.Bytes()); err != nil {
		return sum, err
	}
	sum.Patients = len(pop)
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
	if len(strangers) == 0 && o.Unknown > 0 {
		return sum, errors.New("no generated patient lies outside the index: use --unknown 0")
	}

	// The batches, drawn as paperchart eval always has, so that a seed
	// gives the same corpus.
	r := rand.New(rand.NewPCG(o.Seed, 0xe7a1))
	var rows []evaluate.TruthRow
	for i := 0; sum.Documents < o.Documents || i < o.Batches; i++ {
		opt := o.Batch
		opt.Seed, opt.Patients = o.Seed+uint64(i)+1, nil
		for range o.PerBatchPeople {
			if r.Float64() < o.Unknown {
				opt.Patients = append(opt.Patients, strangers[r.IntN(len(strangers))])
			} else {
				opt.Patients = append(opt.Patients, pop[r.IntN(len(pop))])
			}
		}
		opt.Sheets = scangen.SheetsNone
		if r.Float64() < o.SheetsShare {
			opt.Sheets = []scangen.SheetMode{scangen.SheetsCover, scangen.SheetsSeparator, scangen.SheetsMixed}[r.IntN(3)]
		}
		if o.Sheets != nil {
			opt.Sheets = *o.Sheets
		}
		opt.SheetPrinter = nil
		if opt.Sheets != scangen.SheetsNone {
			opt.SheetPrinter = sheetprint.Printer{Separator: o.Separator}
		}
		name := fmt.Sprintf("batch-%03d.%s", i+1, formatExt(opt.Format))
		truth, err := scangen.WriteFile(ctx, filepath.Join(bdir, name), opt)
		if err != nil {
			return sum, fmt.Errorf("generate batch %d: %w", i+1, err)
		}
		seen := map[int]bool{}
		for _, pg := range truth.Pages {
			row := evaluate.TruthRow{File: name, Page: pg.Number}
			switch {
			case pg.Sheet != "":
				row.Kind = pg.Sheet
			case pg.Blank:
				row.Kind = evaluate.KindBlank
			default:
				seen[pg.Document] = true
				row.Document, row.Type = fmt.Sprint(pg.Document), pg.Type
				if inIndex[pg.MRN] {
					row.MRN = pg.MRN
				}
				row.Conflict = pg.IDConflict
			}
			rows = append(rows, row)
		}
		sum.Batches++
		sum.Pages += len(truth.Pages)
		sum.Documents += len(seen)
		progress("generated %s: %d pages, %d documents (sheets: %s); %d documents so far", name, len(truth.Pages), len(seen), opt.Sheets, sum.Documents)
	}
	buf.Reset()
	if err := evaluate.WriteTruth(&buf, rows); err != nil {
		return sum, err
	}
	if err := writeCorpusFile(filepath.Join(dir, evaluate.TruthFile), buf.Bytes()); err != nil {
		return sum, err
	}
	return sum, nil
}

// writeCorpusFile writes path through a temporary file renamed into place.
func writeCorpusFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
