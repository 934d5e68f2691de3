package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paperchart/internal/evaluate"
)

// smallCorpus is gen --corpus flags for a corpus of two small batches (8
// pages or fewer), one of them scanned with sheets.
var smallCorpus = []string{"--documents", "2", "--batches", "2", "--pages", "3", "--population", "40", "--seed", "5", "--sheets-share", "0.5"}

// cheapCorpus is a corpus quicker to generate (fewer, smaller pages), for
// the tests that do not OCR it.
var cheapCorpus = []string{"--documents", "1", "--batches", "2", "--pages", "2", "--population", "20", "--seed", "5", "--dpi", "150", "--sheets-share", "0.5"}

func genCorpus(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := runGen(context.Background(), append([]string{"--corpus", dir}, args...), &out); err != nil {
		t.Fatalf("gen --corpus: %v\n%s", err, out.String())
	}
	return out.String()
}

// truthStats reads truth.csv as a plain CSV: pages, documents (distinct
// file and document label), boundaries (documents after each file's first)
// and whether some file has sheets.
type truthStats struct {
	pages, documents, boundaries, strangers int
	files                                   map[string]bool
	sheets                                  bool
}

func readTruthStats(t *testing.T, dir string) truthStats {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, evaluate.TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "file,page,document,kind,type,mrn,conflict" {
		t.Fatalf("truth.csv header %q", rows[0])
	}
	s := truthStats{files: map[string]bool{}}
	docs := map[[2]string]bool{}
	perFile := map[string]int{}
	for _, r := range rows[1:] {
		s.pages++
		s.files[r[0]] = true
		if r[3] == "cover" || r[3] == "separator" {
			s.sheets = true
		}
		if r[2] != "" && !docs[[2]string{r[0], r[2]}] {
			docs[[2]string{r[0], r[2]}] = true
			perFile[r[0]]++
			if r[5] == "" {
				s.strangers++
			}
		}
	}
	s.documents = len(docs)
	for _, n := range perFile {
		s.boundaries += n - 1
	}
	return s
}

func TestGenCorpus(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	out := genCorpus(t, a, cheapCorpus...)
	genCorpus(t, b, cheapCorpus...)
	if !strings.Contains(out, "2 batches") || !strings.Contains(out, "20 patients") {
		t.Errorf("gen output:\n%s", out)
	}
	c, err := evaluate.LoadCorpus(context.Background(), a)
	if err != nil {
		t.Fatalf("gen --corpus wrote a corpus eval cannot read: %v", err)
	}
	st := readTruthStats(t, a)
	if len(c.Batches) != 2 || len(st.files) != 2 || c.PatientRows != 20 || c.Documents() != st.documents || st.documents < 2 {
		t.Errorf("batches %d (%d in truth.csv), patients %d, documents %d (%d), pages %d", len(c.Batches), len(st.files), c.PatientRows, c.Documents(), st.documents, st.pages)
	}
	// The same seed and flags: the same corpus, byte for byte.
	for _, name := range []string{evaluate.PatientsFile, evaluate.TruthFile, "batches/batch-001.pdf", "batches/batch-002.pdf"} {
		if sumOf(t, filepath.Join(a, name)) != sumOf(t, filepath.Join(b, name)) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}

	runCommandCases(t, runGen, []commandCase{
		{"not empty", []string{"--corpus", a}, "is not empty", nil, nil},
		{"with --out", []string{"--corpus", filepath.Join(t.TempDir(), "x"), "--out", "x.pdf"}, "--out does not go with --corpus", nil, nil},
		{"bad share", []string{"--corpus", filepath.Join(t.TempDir(), "x"), "--sheets-share", "2"}, "between 0 and 1", nil, nil},
		{"small population", []string{"--corpus", filepath.Join(t.TempDir(), "x"), "--population", "3"}, "at least 10", nil, nil},
		{"bad format", []string{"--corpus", filepath.Join(t.TempDir(), "x"), "--format", "gif"}, "use pdf, tiff, jpeg or png", nil, nil},
		{"tiff, every batch with cover sheets", []string{"--corpus", filepath.Join(t.TempDir(), "x"), "--format", "tiff", "--sheets", "cover",
			"--documents", "1", "--pages", "1", "--population", "20", "--dpi", "150", "--clean"}, "", []string{"batch-001.tif", "sheets: cover"}, nil},
	})
}

func sumOf(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestEvalFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	genCorpus(t, dir, cheapCorpus...)
	bad := t.TempDir()
	runCommandCases(t, runEval, []commandCase{
		{"generator flags with --corpus", []string{"--corpus", dir, "--seed", "3"}, "do not go with --corpus", nil, nil},
		{"--only past the end", []string{"--corpus", dir, "--only", "3"}, "--only 3: the corpus has 2 batches", nil, nil},
		{"not a corpus", []string{"--corpus", bad}, "patients.csv", nil, nil},
		{"bad generator flags", []string{"--unknown", "2"}, "between 0 and 1", nil, nil},
	})
}

// TestEvalCorpus writes a small corpus with gen --corpus and scores it with
// eval --corpus: the real pipeline OCRs its pages.
func TestEvalCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline")
	}
	dir := filepath.Join(t.TempDir(), "corpus")
	genCorpus(t, dir, smallCorpus...)
	st := readTruthStats(t, dir)
	if len(st.files) != 2 || st.pages > 8 || !st.sheets {
		t.Fatalf("the corpus has %d batches, %d pages, sheets %v: want 2 small batches, one with sheets", len(st.files), st.pages, st.sheets)
	}

	var out bytes.Buffer
	if err := runEval(context.Background(), []string{"--corpus", dir, "--json", "--concurrency", "2", "--log-level", "warn"}, &out); err != nil {
		t.Fatalf("eval --corpus: %v\n%s", err, out.String())
	}
	var res evalResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, out.String())
	}
	r := res.Report
	t.Logf("eval: %d documents made of %d, %d filed (in index %d/%d), %d held %v, boundaries none %+v sheets %+v mixed %+v",
		r.Documents, r.TruthDocuments, r.Filed, r.InIndexFiled, r.InIndex, r.Review, r.Held, r.BoundariesNoSheets, r.BoundariesWithSheets, r.BoundariesMixed)
	if res.Corpus != dir || res.Options != nil {
		t.Errorf("corpus %q, options %+v", res.Corpus, res.Options)
	}
	if r.Batches != len(st.files) || r.Pages != st.pages || r.TruthDocuments != st.documents {
		t.Errorf("batches %d pages %d truth documents %d; truth.csv has %d, %d, %d", r.Batches, r.Pages, r.TruthDocuments, len(st.files), st.pages, st.documents)
	}
	// Every truth document falls in one sheet category, every boundary
	// is found or missed once.
	if n := r.DocumentsNoSheets + r.DocumentsWithSheets + r.DocumentsMixed; n != st.documents {
		t.Errorf("documents by sheet use add up to %d, truth.csv has %d", n, st.documents)
	}
	if st.sheets && r.DocumentsWithSheets+r.DocumentsMixed == 0 {
		t.Error("truth.csv has sheets, but no document counts as scanned with them")
	}
	found := 0
	for _, b := range []evaluate.Boundaries{r.BoundariesNoSheets, r.BoundariesWithSheets, r.BoundariesMixed} {
		found += b.TruePositive + b.FalseNegative
	}
	if found != st.boundaries {
		t.Errorf("boundaries found or missed: %d; truth.csv has %d", found, st.boundaries)
	}
	// Every document the pipeline made is counted once in each breakdown.
	if r.Documents == 0 || r.Filed+r.Review != r.Documents {
		t.Errorf("made %d documents, filed %d, held %d", r.Documents, r.Filed, r.Review)
	}
	support, predicted := 0, 0
	for _, ts := range r.Types {
		support += ts.Support
		predicted += ts.Predicted
	}
	if support != r.Documents || predicted != r.Documents || r.Confusion.Total() != r.Documents {
		t.Errorf("per type: support %d, predicted %d, confusion %d; made %d", support, predicted, r.Confusion.Total(), r.Documents)
	}
	diagonal := 0
	for i := range r.Confusion.Types {
		diagonal += r.Confusion.Counts[i][i]
	}
	if diagonal != r.TypeCorrect {
		t.Errorf("confusion diagonal %d, type correct %d", diagonal, r.TypeCorrect)
	}
	if r.InIndex+r.NotInIndex+r.Conflicting != r.Documents || r.InIndexFiled+r.NotInIndexFiled+r.ConflictingFiled != r.Filed {
		t.Errorf("in index %d/%d, not %d/%d, conflicting %d/%d; made %d, filed %d",
			r.InIndexFiled, r.InIndex, r.NotInIndexFiled, r.NotInIndex, r.ConflictingFiled, r.Conflicting, r.Documents, r.Filed)
	}
	if (st.strangers == 0 && r.NotInIndex > 0) || r.Conflicting > 0 {
		t.Errorf("%d documents of patients not in the index, %d conflicting; truth.csv has %d and none", r.NotInIndex, r.Conflicting, st.strangers)
	}
	if r.InIndex > 0 && res.InIndexAutoFileRate != float64(r.InIndexFiled)/float64(r.InIndex) {
		t.Errorf("in-index auto-file rate %v for %d/%d", res.InIndexAutoFileRate, r.InIndexFiled, r.InIndex)
	}
	if r.WrongPatient != r.WrongPatientConflict+r.WrongPatientNotInIndex+r.WrongPatientOther || res.WrongPatient != r.WrongPatient {
		t.Errorf("wrong patient %d = %d + %d + %d", r.WrongPatient, r.WrongPatientConflict, r.WrongPatientNotInIndex, r.WrongPatientOther)
	}
	// Every held document has at least one kind of reason.
	held := 0
	for _, n := range res.ReviewReasons {
		held += n
	}
	if held < r.Review || (r.Review == 0 && held > 0) || len(res.ReviewReasons) != len(r.Held) {
		t.Errorf("held %d documents, reasons %v", r.Review, res.ReviewReasons)
	}
	if res.PagesPerMinute <= 0 || res.WallSeconds <= 0 {
		t.Errorf("pages per minute %v in %v s", res.PagesPerMinute, res.WallSeconds)
	}
}
