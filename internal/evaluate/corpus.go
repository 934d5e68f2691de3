package evaluate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"paperchart/classify"
	"paperchart/split"
)

// The files of a corpus folder.
const (
	PatientsFile = "patients.csv"
	BatchesDir   = "batches"
	TruthFile    = "truth.csv"
)

// Page kinds of truth.csv's kind column; "" is a content page.
const (
	KindCover     = "cover"
	KindSeparator = "separator"
	KindBlank     = "blank"
)

// TruthHeader is the header line of truth.csv, in the order WriteTruth
// writes it (a file may order its columns differently).
var TruthHeader = []string{"file", "page", "document", "kind", "type", "mrn", "conflict"}

// maxProblems is how many problems an error about a corpus lists.
const maxProblems = 25

// TruthRow is one row of truth.csv: one page of one batch.
type TruthRow struct {
	File     string // the batch's file name under batches/
	Page     int    // 1-based page in the file
	Document string // the document's label, unique within the file; "" for a sheet or a blank page of no document
	Kind     string // "", KindCover, KindSeparator or KindBlank
	Type     string // the document's type code (or its LOINC code)
	MRN      string // the true patient's MRN; "" when the patient is not in the index
	Conflict bool   // the document prints an identifier pointing to another person
}

// WriteTruth writes rows as truth.csv.
func WriteTruth(w io.Writer, rows []TruthRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(TruthHeader); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	for _, r := range rows {
		conflict := ""
		if r.Conflict {
			conflict = "yes"
		}
		if err := cw.Write([]string{r.File, strconv.Itoa(r.Page), r.Document, r.Kind, r.Type, r.MRN, conflict}); err != nil {
			return fmt.Errorf("write truth: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// TruthBatch is the truth of one batch file, as ParseTruth reads it.
type TruthBatch struct {
	File  string
	Pages []TruthPage // pages 1..n in order; Document numbers the file's documents 1, 2, ... in page order
	// Labels are the documents' labels in truth.csv: Labels[n-1] is
	// document n's.
	Labels []string
	// Sheets and Mixed say how the batch was scanned (see SheetUse).
	Sheets, Mixed bool
}

// ProblemsError lists what is wrong with a corpus or its truth.csv, by line
// and file name, never with patient data.
type ProblemsError struct {
	What     string   // what was checked: "truth.csv", "corpus DIR"
	Problems []string // the first maxProblems problems
	Total    int      // how many there are
}

func (e *ProblemsError) Error() string {
	s := fmt.Sprintf("%s: %d problem", e.What, e.Total)
	if e.Total > 1 {
		s += "s"
	}
	s += ":\n  " + strings.Join(e.Problems, "\n  ")
	if e.Total > len(e.Problems) {
		s += fmt.Sprintf("\n  ... and %d more", e.Total-len(e.Problems))
	}
	return s
}

// problems collects what is wrong with an input, up to maxProblems.
type problems struct {
	what  string
	list  []string
	total int
}

func (p *problems) add(format string, a ...any) {
	p.total++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, a...))
	}
}

// merge adds the problems of err, each prefixed, or err itself.
func (p *problems) merge(prefix string, err error) {
	var pe *ProblemsError
	if !errors.As(err, &pe) {
		p.add("%v", err)
		return
	}
	for _, s := range pe.Problems {
		p.add("%s%s", prefix, s)
	}
	p.total += pe.Total - len(pe.Problems)
}

func (p *problems) err() error {
	if p.total == 0 {
		return nil
	}
	return &ProblemsError{What: p.what, Problems: slices.Clone(p.list), Total: p.total}
}

// typeCode returns the type code of a type code or a LOINC document code.
func typeCode(s string) (string, bool) {
	if t, ok := classify.Lookup(s); ok {
		return t.Code, true
	}
	for _, t := range classify.Types() {
		if t.LOINC == s {
			return t.Code, true
		}
	}
	return "", false
}

func typeCodes() string {
	var codes []string
	for _, t := range classify.Types() {
		codes = append(codes, t.Code)
	}
	return strings.Join(codes, ", ")
}

func parseConflict(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "", "no", "n", "false", "0":
		return false, true
	case "yes", "y", "true", "1":
		return true, true
	}
	return false, false
}

// ParseTruth reads and checks truth.csv (see the package documentation for
// the format). Batches come back in file-name order. Its errors name lines,
// columns, file names and type codes, never an MRN or a document label.
func ParseTruth(r io.Reader) ([]TruthBatch, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", TruthFile, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	bad := &problems{what: TruthFile}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: it needs the header %s and one row per page", TruthFile, strings.Join(TruthHeader, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", TruthFile, csvProblem(err))
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(TruthHeader, h) {
			bad.add("line 1: unknown column %q (the header is %s)", h, strings.Join(TruthHeader, ","))
			continue
		}
		if _, dup := col[h]; dup {
			bad.add("line 1: column %s appears twice", h)
		}
		col[h] = i
	}
	for _, h := range TruthHeader {
		if _, ok := col[h]; !ok {
			bad.add("line 1: no %s column (the header is %s)", h, strings.Join(TruthHeader, ","))
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}

	type lineRow struct {
		TruthRow
		line int
	}
	byFile := map[string][]lineRow{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bad.add("%v", csvProblem(err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			bad.add("line %d: has %d fields, the header has %d", line, len(rec), len(header))
			continue
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // an empty row
		}
		get := func(k string) string { return strings.TrimSpace(rec[col[k]]) }
		row := TruthRow{File: get("file"), Document: get("document"), Kind: strings.ToLower(get("kind")),
			Type: strings.ToLower(get("type")), MRN: strings.Join(strings.Fields(get("mrn")), " ")}
		fail := func(format string, a ...any) { bad.add("line %d: "+format, append([]any{line}, a...)...) }
		switch {
		case row.File == "":
			fail("file is empty")
		case strings.ContainsAny(row.File, `/\`) || row.File == "." || row.File == "..":
			fail("file must be a file name under %s/, without folders", BatchesDir)
		}
		page, err := strconv.Atoi(get("page"))
		if err != nil || page < 1 {
			fail("page must be a whole number from 1")
		}
		row.Page = page
		var conflictOK bool
		if row.Conflict, conflictOK = parseConflict(get("conflict")); !conflictOK {
			fail(`conflict must be "yes" or empty`)
		}
		switch row.Kind {
		case "":
			if row.Document == "" {
				fail("a content page (kind empty) needs a document label; give pages of no document the kind blank, cover or separator")
			}
			if row.Type == "" {
				fail("type is empty: give the document's type code (%s) or its LOINC code", typeCodes())
			}
		case KindCover, KindSeparator:
			if row.Document != "" {
				fail("a %s sheet belongs to no document: leave document empty", row.Kind)
			}
		case KindBlank:
		default:
			fail("kind must be empty (a content page), cover, separator or blank, not %q", row.Kind)
		}
		if row.Type != "" && row.Kind == "" {
			if code, known := typeCode(row.Type); known {
				row.Type = code
			} else {
				fail("type %q is neither a type code (%s) nor one of their LOINC codes", row.Type, typeCodes())
			}
		}
		if row.File != "" && row.Page >= 1 {
			byFile[row.File] = append(byFile[row.File], lineRow{row, line})
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	if len(byFile) == 0 {
		return nil, fmt.Errorf("%s has a header but no rows: it needs one row per page of every batch", TruthFile)
	}

	type docInfo struct {
		no, line          int // number in the file; first row
		typ, mrn          string
		conflict, content bool
		closed            bool // another document or a sheet began after it
	}
	var out []TruthBatch
	files := make([]string, 0, len(byFile))
	for file := range byFile {
		files = append(files, file)
	}
	slices.Sort(files)
	for _, file := range files {
		rows := byFile[file]
		slices.SortStableFunc(rows, func(a, b lineRow) int { return a.Page - b.Page })
		tb := TruthBatch{File: file}
		docs := map[string]*docInfo{}
		var order []*docInfo
		var current *docInfo
		for i, r := range rows {
			if i > 0 && rows[i-1].Page == r.Page {
				bad.add("line %d: page %d of %s is listed twice (also line %d)", r.line, r.Page, file, rows[i-1].line)
				continue
			}
			if want := len(tb.Pages) + 1; r.Page != want {
				bad.add("%s: no row for page %d (the next row, line %d, is page %d)", file, want, r.line, r.Page)
				break
			}
			tp := TruthPage{No: r.Page, Line: r.line, Sheet: r.Kind == KindCover || r.Kind == KindSeparator, Blank: r.Kind == KindBlank}
			if tp.Sheet && current != nil {
				current.closed, current = true, nil
			}
			if r.Document != "" {
				d := docs[r.Document]
				switch {
				case d == nil:
					if current != nil {
						current.closed = true
					}
					d = &docInfo{no: len(order) + 1, line: r.line}
					docs[r.Document] = d
					order = append(order, d)
					tb.Labels = append(tb.Labels, r.Document)
					current = d
				case d.closed:
					bad.add("line %d: the pages of its document (from line %d) do not follow each other: another document or a sheet comes between; a document's pages must be consecutive, blank pages aside", r.line, d.line)
					continue
				}
				if r.Kind == "" {
					if !d.content {
						d.content, d.typ, d.mrn, d.conflict = true, r.Type, r.MRN, r.Conflict
					} else {
						for _, diff := range []struct {
							col string
							bad bool
						}{{"type", r.Type != d.typ}, {"mrn", r.MRN != d.mrn}, {"conflict", r.Conflict != d.conflict}} {
							if diff.bad {
								bad.add("line %d: %s differs from the earlier pages of its document (from line %d)", r.line, diff.col, d.line)
							}
						}
					}
				}
				tp.Document = d.no
			}
			tb.Pages = append(tb.Pages, tp)
		}
		for _, d := range order {
			if !d.content {
				bad.add("line %d: its document has only blank pages: leave document empty on them", d.line)
			}
		}
		// Every page of a document takes its document's type, patient and
		// conflict (a blank page inside one too).
		for i := range tb.Pages {
			p := &tb.Pages[i]
			if p.Document > 0 {
				d := order[p.Document-1]
				p.Type, p.MRN, p.Conflict = d.typ, d.mrn, d.conflict
			}
		}
		tb.Sheets, tb.Mixed = SheetUse(tb.Pages)
		out = append(out, tb)
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// csvProblem words a CSV syntax error by its line.
func csvProblem(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: not valid CSV (%w)", pe.Line, pe.Err)
	}
	return err
}

// SheetUse says how a batch was scanned, from its pages: sheets when it
// holds a cover or separator sheet and every document but the first has one
// before it (blank pages between are allowed; the first document needs
// none, as after a separator-sheet scan); mixed when it holds sheets but
// some later document has none; neither when it holds no sheet.
func SheetUse(pages []TruthPage) (sheets, mixed bool) {
	hasSheet, missing := false, false
	seen := map[int]bool{}
	lastNonBlank := TruthPage{}
	started := false
	for _, p := range pages {
		if p.Sheet {
			hasSheet = true
		}
		if p.Document > 0 && !p.Sheet && !seen[p.Document] {
			seen[p.Document] = true
			if started && !lastNonBlank.Sheet {
				missing = true
			}
			started = true
		}
		if !p.Blank {
			lastNonBlank = p
		}
	}
	if !hasSheet {
		return false, false
	}
	return !missing, missing
}

// Corpus is a corpus folder, read and checked by LoadCorpus.
type Corpus struct {
	Dir      string
	Patients string // path of patients.csv
	// PatientRows is the number of patient rows in patients.csv.
	PatientRows int
	Batches     []CorpusBatch // in file-name order
}

// CorpusBatch is one batch file of a corpus and its truth.
type CorpusBatch struct {
	TruthBatch
	Path string
}

// Documents counts the documents of the corpus's truth.
func (c Corpus) Documents() int {
	n := 0
	for _, b := range c.Batches {
		_, docs := Batch{Pages: b.Pages}.starts()
		n += docs
	}
	return n
}

// Batch returns the truth of the corpus batch for scoring, with the ID the
// pipeline gave it.
func (b CorpusBatch) Batch(id int64) Batch {
	return Batch{ID: id, Sheets: b.Sheets, Mixed: b.Mixed, Pages: slices.Clone(b.Pages)}
}

// batchExts are the file name extensions of batches.
var batchExts = []string{".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"}

// LoadCorpus reads and checks a corpus folder: patients.csv, batches/ and
// truth.csv (see the package documentation). Every batch file must have
// exactly the pages truth.csv lists, and every MRN of truth.csv must be a
// patient of patients.csv. The error lists what is wrong, by line and file
// name, never with patient data.
func LoadCorpus(ctx context.Context, dir string) (Corpus, error) {
	c := Corpus{Dir: dir, Patients: filepath.Join(dir, PatientsFile)}
	if st, err := os.Stat(dir); err != nil {
		return c, fmt.Errorf("corpus folder: %w", err)
	} else if !st.IsDir() {
		return c, fmt.Errorf("corpus folder %s is not a folder", dir)
	}
	bad := &problems{what: "corpus " + dir}
	mrns, rows, err := readPatientMRNs(c.Patients)
	if err != nil {
		bad.add("%v", err)
	}
	c.PatientRows = rows

	tf, err := os.Open(filepath.Join(dir, TruthFile))
	var truth []TruthBatch
	if err != nil {
		bad.add("%s: %v", TruthFile, err)
	} else {
		truth, err = ParseTruth(tf)
		tf.Close()
		if err != nil {
			bad.merge(TruthFile+" ", err)
		}
	}

	bdir := filepath.Join(dir, BatchesDir)
	entries, err := os.ReadDir(bdir)
	if err != nil {
		bad.add("%s/: %v", BatchesDir, err)
	}
	onDisk := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // hidden: .DS_Store and the like
		}
		if e.IsDir() {
			bad.add("%s/%s is a folder: put every batch file directly in %s/", BatchesDir, name, BatchesDir)
			continue
		}
		if !slices.Contains(batchExts, strings.ToLower(filepath.Ext(name))) {
			bad.add("%s/%s: not a batch (a batch is a %s file)", BatchesDir, name, strings.Join(batchExts, ", "))
			continue
		}
		onDisk[name] = true
	}
	if err := bad.err(); err != nil {
		return c, err
	}

	inTruth := map[string]bool{}
	for _, t := range truth {
		inTruth[t.File] = true
		if !onDisk[t.File] {
			bad.add("%s lists %s, which is not in %s/", TruthFile, t.File, BatchesDir)
		}
		for _, p := range t.Pages {
			if p.MRN != "" && p.Document > 0 && !mrns[p.MRN] {
				bad.add("%s line %d: mrn is not a patient of %s (leave it empty for a patient the index does not hold)", TruthFile, p.Line, PatientsFile)
			}
		}
	}
	var names []string
	for name := range onDisk {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !inTruth[name] {
			bad.add("%s/%s has no rows in %s", BatchesDir, name, TruthFile)
		}
	}
	if err := bad.err(); err != nil {
		return c, err
	}

	sums := map[[32]byte]string{}
	for _, t := range truth {
		path := filepath.Join(bdir, t.File)
		info, err := split.Inspect(ctx, path, split.Limits{})
		if err != nil {
			if ctx.Err() != nil {
				return c, ctx.Err()
			}
			bad.add("%s/%s cannot be processed: %v", BatchesDir, t.File, err)
			continue
		}
		if info.Pages != len(t.Pages) {
			bad.add("%s/%s has %d pages, %s lists %d", BatchesDir, t.File, info.Pages, TruthFile, len(t.Pages))
		}
		sum, err := fileSum(path)
		if err != nil {
			bad.add("%s/%s: %v", BatchesDir, t.File, err)
			continue
		}
		if other, dup := sums[sum]; dup {
			bad.add("%s/%s holds the same bytes as %s: paperchart would take it as a duplicate", BatchesDir, t.File, other)
		}
		sums[sum] = t.File
		c.Batches = append(c.Batches, CorpusBatch{TruthBatch: t, Path: path})
	}
	if err := bad.err(); err != nil {
		return c, err
	}
	return c, nil
}

func fileSum(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// readPatientMRNs reads the mrn column of a patient CSV: the set of MRNs
// (white space collapsed, as the import stores them) and the row count.
func readPatientMRNs(path string) (map[string]bool, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", PatientsFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", PatientsFile, err)
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: no header line (%w)", PatientsFile, csvProblem(err))
	}
	mrnCol := -1
	for i, h := range header {
		if strings.ToLower(strings.TrimSpace(h)) == "mrn" {
			mrnCol = i
		}
	}
	if mrnCol < 0 {
		return nil, 0, fmt.Errorf("%s: no mrn column in its header (it is the CSV paperchart patients import reads: mrn,family,given,birth_date,...)", PatientsFile)
	}
	mrns := map[string]bool{}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", PatientsFile, csvProblem(err))
		}
		rows++
		if mrnCol < len(rec) {
			if m := strings.Join(strings.Fields(rec[mrnCol]), " "); m != "" {
				mrns[m] = true
			}
		}
	}
	if rows == 0 {
		return nil, 0, fmt.Errorf("%s has no patients", PatientsFile)
	}
	return mrns, rows, nil
}
