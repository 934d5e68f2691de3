package workers_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"paperchart/internal/evaluate"
	"paperchart/internal/harness"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/scangen"
	"paperchart/scangen/sheetprint"
	"paperchart/storage"
)

// TestDocumentsFiled runs generated batches through the whole pipeline —
// barcodes, OCR, separation, classification, matching, filing — against a
// patient index with look-alikes, and checks the result against the truth:
// sheets cut exactly, no document filed to a wrong patient, and every
// document not filed waiting in the review queue.
func TestDocumentsFiled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OCR on two batches")
	}
	ctx := context.Background()
	p := startPipeline(t, harness.Options{})
	pop := scangen.Population(77, 300)
	var csv bytes.Buffer
	testenv.Must(t, scangen.WritePatientsCSV(&csv, pop), "write index")
	idx := patients.New(p.DB.Pool(), patients.Options{})
	_, err := idx.Import(ctx, &csv, patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import index")

	tests := []struct {
		name   string
		sheets scangen.SheetMode
		seed   uint64
	}{
		{"content.pdf", scangen.SheetsNone, 4101},
		{"mixed-sheets.pdf", scangen.SheetsMixed, 4102},
	}
	var truths []evaluate.Batch
	var made []evaluate.Doc
	for i, tc := range tests {
		opt := scangen.DefaultOptions()
		opt.Pages, opt.Seed, opt.Format, opt.DPI = 8, tc.seed, scangen.FormatPDF, 240
		opt.Patients = []scangen.Patient{pop[3*i], pop[3*i+1], pop[3*i+2]}
		opt.Sheets = tc.sheets
		if tc.sheets != scangen.SheetsNone {
			opt.SheetPrinter = sheetprint.Printer{}
		}
		data, truth := generate(t, opt)
		testenv.Must(t, p.DropBytes(data, tc.name), "drop")
		b := wait(t, p, tc.name, 5*time.Minute)
		if b.State != storage.StateDone {
			t.Fatalf("%s ended %s: %s", tc.name, b.State, b.Reason)
		}
		pages, err := p.DB.Pages(ctx, b.ID)
		testenv.Must(t, err, "pages")
		tb := evaluate.Batch{ID: b.ID, Mixed: tc.sheets == scangen.SheetsMixed, Sheets: tc.sheets == scangen.SheetsCover || tc.sheets == scangen.SheetsSeparator}
		for i, pt := range truth.Pages {
			tb.Pages = append(tb.Pages, evaluate.TruthPage{No: pt.Number, Document: pt.Document, Sheet: pt.Sheet != "", Blank: pt.Blank, Type: pt.Type, MRN: pt.MRN})
			// A sheet is recognised and not OCR'd.
			if pt.Sheet != "" && (pages[i].Kind != pt.Sheet || pages[i].WordCount != 0) {
				t.Errorf("%s page %d: kind %q with %d words, want a %s sheet, not OCR'd", tc.name, pt.Number, pages[i].Kind, pages[i].WordCount, pt.Sheet)
			}
		}
		truths = append(truths, tb)
		docs, err := p.DB.BatchDocuments(ctx, b.ID)
		testenv.Must(t, err, "documents")
		for _, d := range docs {
			ed := evaluate.Doc{BatchID: b.ID, Pages: d.Pages, Filed: d.State == storage.DocFiled, Type: d.Type}
			if d.PatientID != nil {
				pt, err := idx.ByID(ctx, *d.PatientID)
				testenv.Must(t, err, "patient")
				ed.PatientMRN = pt.MRN
			}
			if d.State == storage.DocReview && len(d.ReviewReasons) == 0 {
				t.Errorf("document %d waits for review without a reason", d.ID)
			}
			made = append(made, ed)
		}
	}
	r := evaluate.Score(truths, made)
	var out bytes.Buffer
	r.Print(&out)
	t.Logf("\n%s", out.String())
	if r.WrongPatient != 0 {
		t.Errorf("%d documents filed to a wrong patient: %+v", r.WrongPatient, r.WrongPatientDocuments)
	}
	if f1 := r.BoundariesMixed.F1(); f1 != 1 {
		t.Errorf("boundaries with sheets: F1 %.3f, want 1 (%+v)", f1, r.BoundariesMixed)
	}
	if f1 := r.BoundariesNoSheets.F1(); f1 < 0.9 {
		t.Errorf("boundaries without sheets: F1 %.3f (%+v)", f1, r.BoundariesNoSheets)
	}
	if r.Filed == 0 {
		t.Error("nothing filed itself")
	}
	n, err := p.DB.ReviewCount(ctx)
	testenv.Must(t, err, "review count")
	if n != r.Review {
		t.Errorf("review queue holds %d documents, want the %d not filed", n, r.Review)
	}
}
