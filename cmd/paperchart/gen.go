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
  --population N      instead of a batch, write N generated patients as a
                      CSV for paperchart patients import to --out (one in
                      eight a look-alike of another: twins, namesakes,
                      near-identical MRNs)

Examples:
  paperchart gen --out var/drop/batch-0001.pdf --pages 20 --seed 7 \
      --truth var/truth/batch-0001.json
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
	if *out == "" {
		fs.Usage()
		return errors.New("--out is required")
	}
	if *popN > 0 {
		return writePopulation(*out, *seed, *popN, stdout)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opt := def
	opt.Pages, opt.Seed, opt.DPI, opt.Clean = *pages, *seed, *dpi, *clean
	opt.Bilevel, opt.RotateProb, opt.BlankProb = *bilevel, *rotate, *blank
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
