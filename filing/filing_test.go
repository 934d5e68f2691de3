package filing_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"paperchart/classify"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"

	"github.com/jackc/pgx/v5"
)

type want struct {
	pages   []int
	state   string
	mrn     string // filed to (or, for review, the best candidate when not "")
	typ     string
	because string // a review reason must contain this
}

func TestFileBatch(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer

	tests := []struct {
		name  string
		pages []filingtest.Page
		want  []want
	}{
		{
			name:  "content: two patients, a blank page between",
			pages: []filingtest.Page{{Text: filingtest.Discharge}, {Blank: true}, {Text: filingtest.Lab}},
			want: []want{
				{pages: []int{1}, state: storage.DocFiled, mrn: "00410001", typ: "discharge-summary"},
				{pages: []int{3}, state: storage.DocFiled, mrn: "00410002", typ: "lab-report"},
			},
		},
		{
			name:  "cover sheet with a type, pages without identifiers",
			pages: []filingtest.Page{{Cover: "00410005", Type: "consult-note"}, {Text: filingtest.Consult}},
			want:  []want{{pages: []int{2}, state: storage.DocFiled, mrn: "00410005", typ: "consult-note"}},
		},
		{
			name:  "cover sheet on another patient's pages",
			pages: []filingtest.Page{{Cover: "00410001"}, {Text: filingtest.WrongPile}},
			want:  []want{{pages: []int{2}, state: storage.DocReview, mrn: "00410001", because: "another MRN than the cover sheet"}},
		},
		{
			name:  "separator sheets",
			pages: []filingtest.Page{{Text: filingtest.Lab}, {Sep: true}, {Text: filingtest.Discharge}},
			want: []want{
				{pages: []int{1}, state: storage.DocFiled, mrn: "00410002", typ: "lab-report"},
				{pages: []int{3}, state: storage.DocFiled, mrn: "00410001", typ: "discharge-summary"},
			},
		},
		{
			name:  "patient not in the index",
			pages: []filingtest.Page{{Text: filingtest.Stranger}},
			want:  []want{{pages: []int{1}, state: storage.DocReview}},
		},
		{
			name:  "a patient whose index record has no family name, by MRN and birth date",
			pages: []filingtest.Page{{Text: filingtest.NoFamily}},
			want:  []want{{pages: []int{1}, state: storage.DocFiled, mrn: "00410007", typ: "lab-report"}},
		},
		{
			// Name and birth date agree, but the MRN on the page is not
			// hers and not in the index: a namesake, never filed to her.
			name:  "namesake with another MRN not in the index",
			pages: []filingtest.Page{{Text: filingtest.Namesake}},
			want:  []want{{pages: []int{1}, state: storage.DocReview, mrn: "00410001", because: "an MRN that is not this patient's"}},
		},
		{
			name:  "name and birth date of one patient, MRN of another",
			pages: []filingtest.Page{{Text: filingtest.OthersMRN}},
			want:  []want{{pages: []int{1}, state: storage.DocReview, because: "an MRN that is not this patient's"}},
		},
		{
			name:  "cover sheet for an MRN not in the index",
			pages: []filingtest.Page{{Cover: "00777777"}, {Text: filingtest.Consult}},
			want:  []want{{pages: []int{2}, state: storage.DocReview, because: "not in the patient index"}},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := filingtest.Batch(t, db, obj, fmt.Sprintf("b%d-%s", i, testenv.Name("")), tc.pages)
			sum, err := f.FileBatch(ctx, id)
			testenv.Must(t, err, "file batch")
			docs, err := db.BatchDocuments(ctx, id)
			testenv.Must(t, err, "documents")
			if len(docs) != len(tc.want) || sum.Documents != len(tc.want) {
				t.Fatalf("%d documents (summary %d), want %d: %+v", len(docs), sum.Documents, len(tc.want), docs)
			}
			for j, w := range tc.want {
				d := docs[j]
				if !slices.Equal(d.Pages, w.pages) || d.State != w.state {
					t.Errorf("document %d: pages %v %s (reasons %q; split %.3f %q), want %v %s", j+1, d.Pages, d.State, d.ReviewReasons, d.SplitConfidence, d.SplitReasons, w.pages, w.state)
				}
				if w.typ != "" && d.Type != w.typ {
					t.Errorf("document %d: type %q (%.2f), want %q", j+1, d.Type, d.TypeConfidence, w.typ)
				}
				if w.because != "" && !slices.ContainsFunc(d.ReviewReasons, func(s string) bool { return strings.Contains(s, w.because) }) {
					t.Errorf("document %d: reasons %q, want one with %q", j+1, d.ReviewReasons, w.because)
				}
				var pid *int64 = d.PatientID
				if d.State == storage.DocReview {
					if d.PatientID != nil {
						t.Errorf("document %d in review has a patient", j+1)
					}
					pid = d.PatientSuggested
				}
				if w.mrn != "" {
					if pid == nil {
						t.Fatalf("document %d: no patient, want %s", j+1, w.mrn)
					}
					p, err := x.ByID(ctx, *pid)
					testenv.Must(t, err, "patient")
					if p.MRN != w.mrn {
						t.Errorf("document %d: patient %s, want %s", j+1, p.MRN, w.mrn)
					}
				}
				wantKey := storage.ReviewDocumentKey(id, d.Seq)
				if d.State == storage.DocFiled {
					wantKey = storage.PatientDocumentKey(*d.PatientID, id, d.Seq)
				}
				if d.ObjectKey != wantKey {
					t.Errorf("document %d stored at %s, want %s", j+1, d.ObjectKey, wantKey)
				}
				pdf, err := obj.Get(ctx, d.ObjectKey)
				testenv.Must(t, err, "document PDF")
				if sum := sha1.Sum(pdf); d.PDFSize != int64(len(pdf)) || d.PDFSHA1 != hex.EncodeToString(sum[:]) {
					t.Errorf("document %d: recorded size %d sha1 %s, stored %d bytes", j+1, d.PDFSize, d.PDFSHA1, len(pdf))
				}
				if n := bytes.Count(pdf, []byte("/Type /Page\n")) + bytes.Count(pdf, []byte("/Type /Page ")) + bytes.Count(pdf, []byte("/Type/Page")); n == 0 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
					t.Errorf("document %d: not a PDF with pages (%d bytes)", j+1, len(pdf))
				}
			}
			b, err := db.Batch(ctx, id)
			testenv.Must(t, err, "batch")
			if b.State != storage.StateDone {
				t.Errorf("batch %s, want done", b.State)
			}
			// A re-delivered task changes nothing.
			again, err := f.FileBatch(ctx, id)
			testenv.Must(t, err, "file again")
			docs2, err := db.BatchDocuments(ctx, id)
			testenv.Must(t, err, "documents")
			if again != (filing.Summary{}) || len(docs2) != len(docs) {
				t.Errorf("second run: %+v and %d documents, want nothing done and %d", again, len(docs2), len(docs))
			}
		})
	}
}

func TestTwinsNeverFiledToTheOther(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "twins-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.ProgressTwin}})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	d := docs[0]
	// Name and birth date agree for Mai; her twin Linh shares the family
	// name, birth date and address. Either Mai, or a person decides.
	if d.State == storage.DocFiled {
		p, err := x.ByID(ctx, *d.PatientID)
		testenv.Must(t, err, "patient")
		if p.MRN != "00410004" {
			t.Fatalf("filed to %s, the twin", p.MRN)
		}
	}
	cands := d.Candidates
	if len(cands) < 2 {
		t.Fatalf("%d candidates, want both twins", len(cands))
	}
	best, err := x.ByID(ctx, cands[0].PatientID)
	testenv.Must(t, err, "patient")
	if best.MRN != "00410004" || cands[0].Probability <= cands[1].Probability || len(cands[0].Reasons) == 0 {
		t.Fatalf("best candidate %s p=%.4f over %.4f, reasons %q", best.MRN, cands[0].Probability, cands[1].Probability, cands[0].Reasons)
	}
	t.Logf("twin document: %s, p=%.4f, runner-up p=%.4f", d.State, cands[0].Probability, cands[1].Probability)
}

func TestFileReviewed(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "review-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Stranger}})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 1 || docs[0].State != storage.DocReview {
		t.Fatalf("want one document in review, got %+v", docs)
	}
	d := docs[0]
	p, err := x.ByMRN(ctx, "", "00410005")
	testenv.Must(t, err, "patient")

	if _, err := f.FileReviewed(ctx, d.ID, filing.ReviewDecision{Actor: "", PatientID: p.ID, Type: "progress-note"}); err == nil {
		t.Fatal("filed without saying who decided")
	}
	if _, err := f.FileReviewed(ctx, d.ID, filing.ReviewDecision{Actor: "hit1", PatientID: p.ID, Type: "no-such-type"}); err == nil {
		t.Fatal("filed with an unknown type")
	}
	got, err := f.FileReviewed(ctx, d.ID, filing.ReviewDecision{Actor: "hit1", PatientID: p.ID, Type: "consult-note"})
	testenv.Must(t, err, "file reviewed")
	if got.State != storage.DocFiled || got.PatientID == nil || *got.PatientID != p.ID || got.FiledBy != "hit1" || got.LOINC != "11488-4" {
		t.Fatalf("after review: %+v", got)
	}
	if got.ObjectKey != storage.PatientDocumentKey(p.ID, id, d.Seq) {
		t.Fatalf("stored at %s", got.ObjectKey)
	}
	if _, err := obj.Get(ctx, got.ObjectKey); err != nil {
		t.Fatalf("filed PDF: %v", err)
	}
	_, err = f.FileReviewed(ctx, d.ID, filing.ReviewDecision{Actor: "hit2", PatientID: p.ID, Type: "consult-note"})
	if !errors.Is(err, filing.ErrNotInReview) {
		t.Fatalf("filing twice: %v, want ErrNotInReview", err)
	}
	cs, err := db.Corrections(ctx, "type")
	testenv.Must(t, err, "corrections")
	if len(cs) != 1 || cs[0].Suggested != d.TypeSuggested || cs[0].Chosen != "consult-note" || cs[0].Actor != "hit1" {
		t.Fatalf("type corrections %+v (suggested %s)", cs, d.TypeSuggested)
	}
	ps, err := db.Corrections(ctx, "patient")
	testenv.Must(t, err, "corrections")
	if len(ps) != 1 || ps[0].Chosen != fmt.Sprint(p.ID) {
		t.Fatalf("patient corrections %+v", ps)
	}
	// What people filed is there to retrain the classifier on.
	lts, err := db.ReviewedTexts(ctx)
	testenv.Must(t, err, "reviewed texts")
	if len(lts) != 1 || lts[0].Type != "consult-note" || !strings.Contains(lts[0].Text, "hypertension") {
		t.Fatalf("reviewed texts %+v", lts)
	}
	// A merge moves the document with its patient.
	to, err := x.ByMRN(ctx, "", "00410006")
	testenv.Must(t, err, "patient")
	testenv.Must(t, x.Merge(ctx, patients.PatientRef{MRN: "00410005"}, patients.PatientRef{MRN: "00410006"}, "test"), "merge")
	moved, err := db.Document(ctx, d.ID)
	testenv.Must(t, err, "document")
	if *moved.PatientID != to.ID {
		t.Fatalf("after merge the document is filed to %d, want %d", *moved.PatientID, to.ID)
	}
}

// Filed documents, and only they, wait in the MDM^T02 outbox for the EHR.
func TestFiledDocumentsAnnounced(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "mdm-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Text: filingtest.Stranger}})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	queued := func() []int64 {
		rows, err := db.Pool().Query(ctx, `SELECT document_id FROM hl7_outbox ORDER BY document_id`)
		testenv.Must(t, err, "outbox")
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		testenv.Must(t, err, "outbox")
		return ids
	}
	if got := queued(); !slices.Equal(got, []int64{docs[0].ID}) {
		t.Fatalf("outbox %v, want the filed document %d only", got, docs[0].ID)
	}
	p, err := x.ByMRN(ctx, "", "00410005")
	testenv.Must(t, err, "patient")
	_, err = f.FileReviewed(ctx, docs[1].ID, filing.ReviewDecision{Actor: "hit1", PatientID: p.ID, Type: "progress-note"})
	testenv.Must(t, err, "file reviewed")
	if got := queued(); !slices.Equal(got, []int64{docs[0].ID, docs[1].ID}) {
		t.Fatalf("outbox %v after review, want both documents", got)
	}
}

// A document whose split and patient are sure is filed under its patient
// even when its type is in doubt: preliminary, in the type-check queue,
// until a person confirms or corrects the type. --type-doubt review keeps
// it in the review queue instead.
func TestTypeDoubt(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	db, obj, x := su.DB, su.Objects, su.Index

	id := filingtest.Batch(t, db, obj, "vague-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.VagueType}})
	_, err := su.Filer.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	d := docs[0]
	if !d.TypeReview {
		t.Fatalf("the classifier is sure (%.2f) of a text meant to be vague: pick another", d.TypeConfidence)
	}
	if d.State != storage.DocFiled || d.DocStatus != storage.DocStatusPreliminary || d.PatientID == nil {
		t.Fatalf("document %s/%s patient %v, want filed preliminary (reasons %q)", d.State, d.DocStatus, d.PatientID, d.ReviewReasons)
	}
	p, err := x.ByID(ctx, *d.PatientID)
	testenv.Must(t, err, "patient")
	if p.MRN != "00410001" {
		t.Fatalf("filed to %s", p.MRN)
	}
	if d.ObjectKey != storage.PatientDocumentKey(p.ID, id, d.Seq) {
		t.Errorf("PDF at %s, want under the patient", d.ObjectKey)
	}
	queue, err := db.TypeCheckList(ctx, 0, 0)
	testenv.Must(t, err, "type-check queue")
	if len(queue) != 1 || queue[0].ID != d.ID {
		t.Fatalf("type-check queue %v, want document %d", queue, d.ID)
	}
	review, err := db.ReviewQueue(ctx, storage.ReviewFilter{})
	testenv.Must(t, err, "review queue")
	if len(review) != 0 {
		t.Errorf("review queue has %d documents, want none", len(review))
	}

	// A person corrects the type (to another than the suggested one):
	// final, the correction kept.
	want, _ := classify.Lookup("progress-note")
	if d.Type == want.Code {
		want, _ = classify.Lookup("correspondence")
	}
	got, err := su.Filer.ConfirmType(ctx, d.ID, "ann", want.Code)
	testenv.Must(t, err, "confirm type")
	if got.DocStatus != storage.DocStatusFinal || got.Type != want.Code || got.LOINC != want.LOINC || got.TypeReview {
		t.Errorf("after the type check: %s %s %s review=%v, want final %s %s", got.DocStatus, got.Type, got.LOINC, got.TypeReview, want.Code, want.LOINC)
	}
	var n int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM document_corrections WHERE document_id = $1 AND field = 'type'
		AND chosen = $2 AND actor = 'ann'`, d.ID, want.Code).Scan(&n), "corrections")
	if n != 1 {
		t.Errorf("%d type corrections, want 1", n)
	}
	if _, err := su.Filer.ConfirmType(ctx, d.ID, "ann", want.Code); !errors.Is(err, storage.ErrNotInTypeCheck) {
		t.Errorf("confirming twice: %v, want ErrNotInTypeCheck", err)
	}
	if queue, _ := db.TypeCheckList(ctx, 0, 0); len(queue) != 0 {
		t.Errorf("type-check queue still has %d", len(queue))
	}

	// The site that wants a person to decide every doubtful type.
	strict, err := filing.New(db, obj, filing.Config{TypeDoubt: filing.TypeDoubtReview}, nil)
	testenv.Must(t, err, "filer")
	id2 := filingtest.Batch(t, db, obj, "vague2-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.VagueType}})
	_, err = strict.FileBatch(ctx, id2)
	testenv.Must(t, err, "file batch")
	docs, err = db.BatchDocuments(ctx, id2)
	testenv.Must(t, err, "documents")
	if len(docs) != 1 || docs[0].State != storage.DocReview || docs[0].PatientID != nil {
		t.Errorf("with --type-doubt review: %+v, want one document in review", docs)
	}
	if _, err := filing.ParseTypeDoubt("maybe"); err == nil {
		t.Error("ParseTypeDoubt accepts anything")
	}
}
