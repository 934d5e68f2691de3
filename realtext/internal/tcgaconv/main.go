// Command tcgaconv converts OCR text of The Cancer Genome Atlas (TCGA)
// surgical pathology reports into realtext's layout:
// OUT/{train,heldout}/pathology-report/tcga-NNNN.txt, one report a file.
//
// The reports are TCGA's "Pathology Report" files, open-access data of the
// NCI Genomic Data Commons (scanned, redacted PDFs). Their OCR text comes
// from the CSV files of github.com/grasool/tcga-path-report (column
// ocr_text; the other columns, a language model's answers, are not used).
// It is a maintenance script, not part of the paperchart binary:
//
//	git --git-dir=PATH/tcga-path-report.git show HEAD:Reports/KIDNEY.csv > /tmp/tcga/KIDNEY.csv   # and so on
//	go run ./realtext/internal/tcgaconv -src /tmp/tcga -out realtext
//
// What it does (see realtext/README.md):
//   - keeps the rows whose file is a TCGA report (TCGA-*.PDF), one per
//     patient, whose OCR text is between minChars and maxChars long, reads
//     as words (at least minWordShare of its tokens are words) and names
//     at least two of a pathology report's parts (diagnosis, specimen,
//     gross, microscopic, ...): OCR that failed on a page is not a document
//     anyone could type;
//   - takes perSite of them from each CSV (cancer site), those whose
//     FNV-1a hash of the patient barcode is lowest: a fixed, reproducible
//     sample;
//   - removes identifiers: TCGA barcodes and UUIDs (also as the OCR misread
//     them), dates, and the lines they stood on when nothing else was
//     there;
//   - names each file by its rank in the sample (tcga-0001 ...), not by the
//     barcode;
//   - the split: a report is held out when FNV-1a-32("tcga/" + barcode) mod
//     100 < 30. Each patient has one report, so none straddles the split.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

const (
	minChars     = 700
	maxChars     = 12000
	minWordShare = 0.55
	heldOutShare = 30 // of 100
)

var (
	// barcode matches a TCGA barcode ("TCGA-2K-A9WE-01A-PR Redacted"),
	// also as the OCR misread it ("TOGA--38-A9HT", "A6]T").
	barcode = regexp.MustCompile(`(?i)[T7I][CO0Q][GC6][AR4] ?-{1,2} ?[A-Z0-9]{2} ?- ?[A-Z0-9\]\[]{4}([-. ]{1,2}[A-Z0-9]{1,4})*( ?-?PR)?( ?Redacted)?`)
	// uuid matches a UUID and the OCR's misreadings of one (a letter for a
	// digit, a dot or a space by a dash).
	uuid      = regexp.MustCompile(`(?i)[0-9A-Z]{7,9} ?[-.,•] ?[0-9A-Z]{4} ?[-.,•] ?[0-9A-Z]{4} ?[-.,•] ?[0-9A-Z]{4} ?[-.,•] ?[0-9A-Z]{11,13}`)
	uuidLabel = regexp.MustCompile(`(?i)[UQO0]UI[DbO0]\s*:?\s*`)
	// idRest is what is left of a misread barcode or UUID: a token that
	// starts like one, or hex groups joined by dashes.
	idRest   = regexp.MustCompile(`(?i)\b[T7I][CO0Q][GC6][AR4][-\s]\S+(\s\S*(PR|Redacted)\S*)?|\b[0-9A-Z_]{6,9} ?[-_.,] ?[0-9A-Z]{4}( ?[-_.,] ?[0-9A-Z']{2,13}){1,3}|\S*PRRedacted\S*|\S*Redacted\S*`)
	redacted = regexp.MustCompile(`(?i)\bredacted\b`)
	// idLine is a header line of a TCGA report: its barcode, its UUID and
	// "Redacted", however the OCR misread them.
	idLine      = regexp.MustCompile(`(?i)redacted|uuid|tcga|\b[0-9a-z]{4,}[-.][0-9a-z]{4}[-.][0-9a-z]{4}\b`)
	date        = regexp.MustCompile(`\b\d{1,2}[/-]\d{1,2}[/-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b`)
	word        = regexp.MustCompile(`^[A-Za-z][a-z]+[.,:;]?$|^[A-Z]{2,}[.,:;]?$`)
	requisition = regexp.MustCompile(`(?i)requisition form`)
	parts       = regexp.MustCompile(`(?i)\b(diagnosis|specimens?|gross|microscopic|clinical (history|data|information)|pathologic|carcinoma|margins?|received|sections?)\b`)
)

func main() {
	src := flag.String("src", "", "folder of the tcga-path-report CSV files")
	out := flag.String("out", "realtext", "realtext folder to write train/ and heldout/ under")
	perSite := flag.Int("per-site", 15, "reports taken from each CSV (cancer site)")
	flag.Parse()
	if err := run(*src, *out, *perSite); err != nil {
		slog.Error("tcgaconv failed", "err", err)
		os.Exit(1)
	}
}

type report struct {
	barcode, site, text string
	hash                uint32
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func run(src, out string, perSite int) error {
	if src == "" {
		return errors.New("tcgaconv: -src is required")
	}
	files, err := filepath.Glob(filepath.Join(src, "*.csv"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("tcgaconv: no CSV files in %s: %v", src, err)
	}
	sort.Strings(files)
	var all []report
	for _, f := range files {
		rs, err := readSite(f)
		if err != nil {
			return err
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].hash < rs[j].hash })
		if len(rs) > perSite {
			rs = rs[:perSite]
		}
		all = append(all, rs...)
	}
	// Ranks follow the hash over the whole sample, so a file name says
	// nothing about the site or the patient.
	sort.Slice(all, func(i, j int) bool { return all[i].hash < all[j].hash })
	counts := map[string]int{}
	for i, r := range all {
		split := "train"
		if fnv32("tcga/"+r.barcode)%100 < heldOutShare {
			split = "heldout"
		}
		dir := filepath.Join(out, split, "pathology-report")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("tcgaconv: %w", err)
		}
		name := filepath.Join(dir, fmt.Sprintf("tcga-%04d.txt", i+1))
		if err := os.WriteFile(name, []byte(r.text), 0o644); err != nil {
			return fmt.Errorf("tcgaconv: write report: %w", err)
		}
		counts[split]++
	}
	slog.Info("tcgaconv wrote pathology reports", "train", counts["train"], "heldout", counts["heldout"])
	return nil
}

// readSite reads one CSV and returns its usable reports, one per patient.
func readSite(path string) ([]report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tcgaconv: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("tcgaconv: read %s header: %w", filepath.Base(path), err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	fileCol, okF := col["pdf_file_name_path"]
	textCol, okT := col["ocr_text"]
	if !okF || !okT {
		return nil, fmt.Errorf("tcgaconv: %s lacks pdf_file_name_path or ocr_text", filepath.Base(path))
	}
	site := strings.TrimSuffix(filepath.Base(path), ".csv")
	seen := map[string]bool{}
	var out []report
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tcgaconv: read %s: %w", filepath.Base(path), err)
		}
		if len(rec) <= max(fileCol, textCol) {
			continue
		}
		name := rec[fileCol]
		if !strings.HasPrefix(name, "TCGA-") || len(name) < 12 {
			continue
		}
		bc := name[:12] // TCGA-TSS-PARTICIPANT: the patient
		if seen[bc] {
			continue
		}
		text := clean(rec[textCol])
		if !usable(text) {
			continue
		}
		seen[bc] = true
		out = append(out, report{barcode: bc, site: site, text: text, hash: fnv32("tcga-sample/" + bc)})
	}
	return out, nil
}

// clean removes identifiers and blank runs.
func clean(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var lines []string
	for i, l := range strings.Split(text, "\n") {
		orig := strings.TrimSpace(l)
		if i < 6 && idLine.MatchString(l) || barcodeLike(orig) {
			continue
		}
		l = uuidLabel.ReplaceAllString(l, "")
		l = barcode.ReplaceAllString(l, "")
		l = uuid.ReplaceAllString(l, "")
		l = redacted.ReplaceAllString(l, "")
		l = idRest.ReplaceAllString(l, "")
		l = date.ReplaceAllString(l, "[date]")
		l = strings.TrimRight(l, " \t")
		t := strings.TrimSpace(l)
		// A line that held only an identifier (and "Redacted") goes.
		if orig != "" && (t == "" || strings.EqualFold(strings.Trim(t, " -.:"), "PR Redacted") || strings.EqualFold(strings.Trim(t, " -.:"), "Redacted")) && t != orig {
			continue
		}
		if t == "" && len(lines) > 0 && lines[len(lines)-1] == "" {
			continue
		}
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n")) + "\n"
}

// usable says whether OCR text reads as a pathology report.
func usable(text string) bool {
	if len(text) < minChars || len(text) > maxChars {
		return false
	}
	toks := strings.Fields(text)
	words := 0
	for _, t := range toks {
		if word.MatchString(t) {
			words++
		}
	}
	if float64(words) < minWordShare*float64(len(toks)) {
		return false
	}
	found := map[string]bool{}
	for _, m := range parts.FindAllString(text, -1) {
		k := strings.ToLower(m)
		if k != "diagnosis" {
			k = strings.TrimSuffix(k, "s")
		}
		found[k] = true
	}
	// A report states a diagnosis; TCGA's tissue requisition forms, filed
	// with some reports, do not.
	return len(found) >= 3 && found["diagnosis"] && !requisition.MatchString(text)
}

// barcodeLike says whether a line is the OCR's reading of a printed
// barcode: mostly I, l, 1 and |.
func barcodeLike(line string) bool {
	if len(line) < 12 {
		return false
	}
	bars := 0
	for _, c := range line {
		switch c {
		case 'I', 'l', '1', '|', 'i', '!':
			bars++
		}
	}
	return bars*10 >= len(line)*7
}
