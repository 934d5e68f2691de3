package evaluate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"paperchart/scangen"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseTruthGood(t *testing.T) {
	tests := []struct {
		file string
		want []TruthBatch
	}{
		{"truth-good.csv", []TruthBatch{
			{File: "a.tif", Labels: []string{"A", "B"}, Pages: []TruthPage{
				{No: 1, Line: 10, Document: 1, Type: "consult-note", MRN: "1001"},
				{No: 2, Line: 9, Document: 2, Type: "progress-note", MRN: "2002", Conflict: true},
				{No: 3, Line: 11, Document: 2, Type: "progress-note", MRN: "2002", Conflict: true},
			}},
			{File: "b.pdf", Sheets: true, Labels: []string{"lab-1", "x"}, Pages: []TruthPage{
				{No: 1, Line: 2, Sheet: true},
				{No: 2, Line: 3, Document: 1, Type: "lab-report", MRN: "1001"},
				{No: 3, Line: 4, Document: 1, Blank: true, Type: "lab-report", MRN: "1001"},
				{No: 4, Line: 5, Document: 1, Type: "lab-report", MRN: "1001"},
				{No: 5, Line: 6, Sheet: true},
				// A LOINC code is read as its type code; no MRN: not in the index.
				{No: 6, Line: 7, Document: 2, Type: "discharge-summary"},
				{No: 7, Line: 8, Blank: true},
			}},
		}},
		// Columns in another order, a byte order mark.
		{"truth-reordered.csv", []TruthBatch{
			{File: "only.png", Labels: []string{"1"}, Pages: []TruthPage{{No: 1, Line: 2, Document: 1, Type: "lab-report", MRN: "1001"}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParseTruth(bytes.NewReader(readFixture(t, tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseTruthBad(t *testing.T) {
	const head = "file,page,document,kind,type,mrn,conflict\n"
	tests := []struct {
		name string
		csv  string
		want []string // each must be in the error
	}{
		{"empty", "", []string{"truth.csv is empty"}},
		{"header only", head, []string{"no rows"}},
		{"missing column", "file,page,document,kind,type,mrn\nb.pdf,1,1,,lab-report,1001\n", []string{"line 1: no conflict column"}},
		{"unknown column", "file,page,document,kind,type,mrn,conflict,patient\n", []string{`line 1: unknown column "patient"`}},
		{"field count", head + "b.pdf,1,1,,lab-report,1001\n", []string{"line 2: has 6 fields, the header has 7"}},
		{"bad page", head + "b.pdf,one,1,,lab-report,1001,\nb.pdf,0,1,,lab-report,1001,\n",
			[]string{"line 2: page must be a whole number", "line 3: page must be a whole number"}},
		{"folder in file", head + "x/b.pdf,1,1,,lab-report,1001,\n", []string{"line 2: file must be a file name"}},
		{"no file", head + ",1,1,,lab-report,1001,\n", []string{"line 2: file is empty"}},
		{"unknown kind", head + "b.pdf,1,1,sheet,lab-report,1001,\n", []string{`line 2: kind must be empty`, `"sheet"`}},
		{"content without document", head + "b.pdf,1,,,lab-report,1001,\n", []string{"line 2: a content page (kind empty) needs a document label"}},
		{"content without type", head + "b.pdf,1,1,,,1001,\n", []string{"line 2: type is empty", "discharge-summary"}},
		{"unknown type", head + "b.pdf,1,1,,letter,1001,\n", []string{`line 2: type "letter" is neither a type code`}},
		{"sheet with document", head + "b.pdf,1,1,cover,,,\n", []string{"line 2: a cover sheet belongs to no document"}},
		{"bad conflict", head + "b.pdf,1,1,,lab-report,1001,maybe\n", []string{`line 2: conflict must be "yes" or empty`}},
		{"page twice", head + "b.pdf,1,1,,lab-report,1001,\nb.pdf,1,1,,lab-report,1001,\n", []string{"line 3: page 1 of b.pdf is listed twice (also line 2)"}},
		{"page missing", head + "b.pdf,1,1,,lab-report,1001,\nb.pdf,3,1,,lab-report,1001,\n", []string{"b.pdf: no row for page 2 (the next row, line 3, is page 3)"}},
		{"document resumes", head + "b.pdf,1,1,,lab-report,1001,\nb.pdf,2,2,,lab-report,1001,\nb.pdf,3,1,,lab-report,1001,\n",
			[]string{"line 4: the pages of its document (from line 2) do not follow each other"}},
		{"document across a sheet", head + "b.pdf,1,1,,lab-report,1001,\nb.pdf,2,,separator,,,\nb.pdf,3,1,,lab-report,1001,\n",
			[]string{"line 4: the pages of its document (from line 2) do not follow each other"}},
		{"document disagrees with itself", head + "b.pdf,1,1,,lab-report,1001,\nb.pdf,2,1,,progress-note,1002,yes\n",
			[]string{"line 3: type differs", "line 3: mrn differs", "line 3: conflict differs"}},
		{"blank-only document", head + "b.pdf,1,1,blank,,,\n", []string{"line 2: its document has only blank pages"}},
		{"bad quoting", head + "b.pdf,1,\"1,,lab-report,1001,\n", []string{"not valid CSV"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTruth(strings.NewReader(tc.csv))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			// Errors never echo an MRN.
			if strings.Contains(err.Error(), "1001") || strings.Contains(err.Error(), "1002") {
				t.Errorf("error shows an MRN:\n%v", err)
			}
		})
	}
}

func TestParseTruthCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("file,page,document,kind,type,mrn,conflict\n")
	for range 40 {
		b.WriteString("b.pdf,x,1,,lab-report,,\n")
	}
	_, err := ParseTruth(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "40 problems") || !strings.Contains(err.Error(), "and 15 more") {
		t.Fatalf("error %v", err)
	}
}

func TestWriteTruthRoundTrip(t *testing.T) {
	rows := []TruthRow{
		{File: "b.pdf", Page: 1, Kind: KindSeparator},
		{File: "b.pdf", Page: 2, Document: "1", Type: "lab-report", MRN: "1001"},
		{File: "b.pdf", Page: 3, Kind: KindBlank},
		{File: "b.pdf", Page: 4, Document: "doc, two", Type: "consult-note", MRN: "2002", Conflict: true},
	}
	var buf bytes.Buffer
	if err := WriteTruth(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != strings.Join(TruthHeader, ",") {
		t.Fatalf("header %q", first)
	}
	got, err := ParseTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []TruthBatch{{File: "b.pdf", Sheets: false, Mixed: true, Labels: []string{"1", "doc, two"}, Pages: []TruthPage{
		{No: 1, Line: 2, Sheet: true},
		{No: 2, Line: 3, Document: 1, Type: "lab-report", MRN: "1001"},
		{No: 3, Line: 4, Blank: true},
		{No: 4, Line: 5, Document: 2, Type: "consult-note", MRN: "2002", Conflict: true},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestSheetUse(t *testing.T) {
	tests := []struct {
		name          string
		pages         string // one letter a page: d (new document), c (same document), s (sheet), b (blank)
		sheets, mixed bool
	}{
		{"no sheets", "dcdd", false, false},
		{"cover before every document", "sdcsdsd", true, false},
		{"separator between documents", "dcsdsd", true, false},
		{"blank between sheet and document", "dsbdc", true, false},
		{"one document forgot its sheet", "sdsdd", false, true},
		{"sheet only before the first", "sddc", false, true},
		{"one document with a cover", "sdc", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pages []TruthPage
			doc := 0
			for i, c := range tc.pages {
				p := TruthPage{No: i + 1}
				switch c {
				case 'd':
					doc++
					p.Document = doc
				case 'c':
					p.Document = doc
				case 's':
					p.Sheet = true
				case 'b':
					p.Blank = true
				}
				pages = append(pages, p)
			}
			if s, m := SheetUse(pages); s != tc.sheets || m != tc.mixed {
				t.Errorf("SheetUse = %v, %v; want %v, %v", s, m, tc.sheets, tc.mixed)
			}
		})
	}
}

// writeCorpus makes a corpus folder of one-page PNG batches: one per
// entry of pages, with truth rows lines.
func writeTestCorpus(t *testing.T, batches map[string]uint64, truth string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, BatchesDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PatientsFile), readFixture(t, "patients.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, seed := range batches {
		opt := scangen.Options{Pages: 1, Seed: seed, Format: scangen.FormatPNG, Clean: true, DPI: 100}
		if _, err := scangen.WriteFile(context.Background(), filepath.Join(dir, BatchesDir, name), opt); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), []byte("file,page,document,kind,type,mrn,conflict\n"+truth), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadCorpus(t *testing.T) {
	ctx := context.Background()
	good := "a.png,1,1,,lab-report,1001,\nb.png,1,x,,consult-note,,\n"
	t.Run("good", func(t *testing.T) {
		dir := writeTestCorpus(t, map[string]uint64{"a.png": 1, "b.png": 2}, good)
		os.WriteFile(filepath.Join(dir, BatchesDir, ".DS_Store"), []byte("x"), 0o644) // hidden: ignored
		c, err := LoadCorpus(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if c.PatientRows != 2 || len(c.Batches) != 2 || c.Documents() != 2 {
			t.Fatalf("patients %d, batches %d, documents %d", c.PatientRows, len(c.Batches), c.Documents())
		}
		if c.Batches[0].File != "a.png" || c.Batches[0].Path != filepath.Join(dir, BatchesDir, "a.png") || c.Batches[1].Pages[0].MRN != "" {
			t.Errorf("batches %+v", c.Batches)
		}
		if b := c.Batches[1].Batch(7); b.ID != 7 || len(b.Pages) != 1 || b.Pages[0].Type != "consult-note" {
			t.Errorf("Batch(7) = %+v", b)
		}
	})
	tests := []struct {
		name    string
		batches map[string]uint64
		truth   string
		setup   func(dir string)
		want    []string
	}{
		{"MRN not in patients.csv", map[string]uint64{"a.png": 1}, "a.png,1,1,,lab-report,9999,\n", nil,
			[]string{"truth.csv line 2: mrn is not a patient of patients.csv"}},
		{"truth names a missing file", map[string]uint64{"a.png": 1}, good, nil, []string{"truth.csv lists b.png, which is not in batches/"}},
		{"a file without truth", map[string]uint64{"a.png": 1, "b.png": 2, "c.png": 3}, good, nil, []string{"batches/c.png has no rows in truth.csv"}},
		{"page count", map[string]uint64{"a.png": 1, "b.png": 2}, good + "b.png,2,x,,consult-note,,\n", nil,
			[]string{"batches/b.png has 1 pages, truth.csv lists 2"}},
		{"same bytes twice", map[string]uint64{"a.png": 1, "b.png": 1}, good, nil, []string{"batches/b.png holds the same bytes as a.png"}},
		{"not a batch", map[string]uint64{"a.png": 1, "b.png": 2}, good, func(dir string) {
			os.WriteFile(filepath.Join(dir, BatchesDir, "notes.txt"), []byte("x"), 0o644)
		}, []string{"batches/notes.txt: not a batch"}},
		{"a sub-folder", map[string]uint64{"a.png": 1, "b.png": 2}, good, func(dir string) {
			os.Mkdir(filepath.Join(dir, BatchesDir, "more"), 0o755)
		}, []string{"batches/more is a folder"}},
		{"a broken file", map[string]uint64{"a.png": 1, "b.png": 2}, good, func(dir string) {
			os.WriteFile(filepath.Join(dir, BatchesDir, "b.png"), []byte("not a png"), 0o644)
		}, []string{"batches/b.png cannot be processed"}},
		{"no patients.csv", map[string]uint64{"a.png": 1, "b.png": 2}, good, func(dir string) {
			os.Remove(filepath.Join(dir, PatientsFile))
		}, []string{"patients.csv:"}},
		{"patients.csv without mrn", map[string]uint64{"a.png": 1, "b.png": 2}, good, func(dir string) {
			os.WriteFile(filepath.Join(dir, PatientsFile), []byte("id,family\n1,X\n"), 0o644)
		}, []string{"patients.csv: no mrn column"}},
		{"no truth.csv", map[string]uint64{"a.png": 1, "b.png": 2}, good, func(dir string) {
			os.Remove(filepath.Join(dir, TruthFile))
		}, []string{"truth.csv:"}},
		{"no batches folder", map[string]uint64{}, good, func(dir string) {
			os.Remove(filepath.Join(dir, BatchesDir))
		}, []string{"batches/:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTestCorpus(t, tc.batches, tc.truth)
			if tc.setup != nil {
				tc.setup(dir)
			}
			_, err := LoadCorpus(ctx, dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "9999") || strings.Contains(err.Error(), "1001") {
				t.Errorf("error shows an MRN:\n%v", err)
			}
		})
	}
	if _, err := LoadCorpus(ctx, filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing folder loads")
	}
}
