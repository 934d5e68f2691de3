package filing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

// TestMoveFiled moves a filed document to another patient and type: the
// old row is kept (moved) with the old placement in both histories, the
// new one replaces it with the same PDF bytes under the new patient and
// the pipeline's decisions unchanged, the outbox holds the old T02, its
// T11, then the new T02 (and a webhook for the new document), and the
// same move again changes nothing. The refusals follow.
func TestMoveFiled(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "reindex-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Text: filingtest.Stranger}})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 2 || docs[0].State != storage.DocFiled || docs[1].State != storage.DocReview {
		t.Fatalf("fixture: %+v", docs)
	}
	before := docs[0]
	hart, oka := *before.PatientID, int64(0)
	p, err := x.ByMRN(ctx, "", "00410002")
	testenv.Must(t, err, "patient")
	oka = p.ID

	var hooked []storage.MoveResult
	hook := func(_ context.Context, _ pgx.Tx, r storage.MoveResult) error { hooked = append(hooked, r); return nil }
	m := filing.Move{Actor: "rob", PatientID: oka, Type: "lab-report", Reason: "wrong patient: the label was misread"}
	res, err := f.MoveFiled(ctx, before.ID, m, hook)
	testenv.Must(t, err, "move")
	from, to := res.From, res.To
	if !res.Moved || from.ID != before.ID || from.State != storage.DocMoved || to.ID == from.ID || to.State != storage.DocFiled {
		t.Fatalf("moved %v: from %d %s, to %d %s", res.Moved, from.ID, from.State, to.ID, to.State)
	}
	if *from.PatientID != hart || from.Type != "discharge-summary" || from.ObjectKey != before.ObjectKey {
		t.Errorf("the old placement changed: patient %d type %s at %s", *from.PatientID, from.Type, from.ObjectKey)
	}
	if *to.PatientID != oka || to.Type != "lab-report" || to.LOINC != "11502-2" || to.Replaces == nil || *to.Replaces != from.ID ||
		to.FiledBy != "rob" || to.BatchID != from.BatchID || to.Seq != from.Seq || to.DocStatus != storage.DocStatusFinal {
		t.Errorf("new document: %+v", to)
	}
	if to.ObjectKey != storage.PatientDocumentKey(oka, id, to.Seq) {
		t.Errorf("new PDF at %s, want under the new patient", to.ObjectKey)
	}
	a, err := obj.Get(ctx, from.ObjectKey)
	testenv.Must(t, err, "old PDF")
	b, err := obj.Get(ctx, to.ObjectKey)
	testenv.Must(t, err, "new PDF")
	if !bytes.Equal(a, b) || to.PDFSize != from.PDFSize || to.PDFSHA1 != from.PDFSHA1 {
		t.Errorf("the new document's PDF differs from the old one's")
	}
	// The pipeline's patient match decisions stay as they were.
	if !reflect.DeepEqual(to.Candidates, before.Candidates) || !reflect.DeepEqual(to.Identifiers, before.Identifiers) ||
		*to.PatientSuggested != *before.PatientSuggested || to.PatientConfidence != before.PatientConfidence {
		t.Errorf("match decisions changed")
	}
	var corrections int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM document_corrections`).Scan(&corrections), "corrections")
	if corrections != 0 {
		t.Errorf("%d corrections recorded: a move is not a match decision", corrections)
	}
	if len(hooked) != 1 || hooked[0].To.ID != to.ID {
		t.Errorf("hook ran %d times", len(hooked))
	}

	// Both histories keep the old placement: patient, type, when, by whom, why.
	filedAt := before.FiledAt.UTC().Format("2006-01-02T15:04:05Z")
	for _, c := range []struct {
		doc   int64
		event string
	}{{from.ID, "moved"}, {to.ID, "moved here"}} {
		evs, err := db.DocumentEvents(ctx, c.doc)
		testenv.Must(t, err, "history")
		last := evs[len(evs)-1]
		for _, want := range []string{fmt.Sprintf("was patient %d, type discharge-summary, filed %s by auto", hart, filedAt),
			fmt.Sprintf("patient %d, type lab-report", oka), "reason: wrong patient: the label was misread"} {
			if last.Event != c.event || last.Actor != "rob" || !strings.Contains(last.Detail, want) {
				t.Errorf("history of %d ends %+v, want %s with %q", c.doc, last, c.event, want)
			}
		}
	}

	// The outbox: old T02, its T11, the new T02, in that order; a webhook
	// for the new document.
	type row struct {
		Doc int64
		Typ string
	}
	outbox := func() []row {
		rows, err := db.Pool().Query(ctx, `SELECT document_id, message_type FROM hl7_outbox ORDER BY id`)
		testenv.Must(t, err, "outbox")
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		testenv.Must(t, err, "outbox")
		return out
	}
	want := []row{{from.ID, "MDM^T02"}, {from.ID, "MDM^T11"}, {to.ID, "MDM^T02"}}
	if got := outbox(); !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
	var hooks int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_outbox WHERE document_id = $1`, to.ID).Scan(&hooks), "webhooks")
	if hooks != 1 {
		t.Errorf("%d webhooks for the new document, want 1", hooks)
	}

	// The same move again: nothing more.
	again, err := f.MoveFiled(ctx, before.ID, filing.Move{Actor: "ann", PatientID: oka, Type: "lab-report", Reason: "again"}, hook)
	testenv.Must(t, err, "move again")
	if again.Moved || again.To.ID != to.ID || len(hooked) != 1 {
		t.Errorf("repeat: moved %v to %d (hook %d times)", again.Moved, again.To.ID, len(hooked))
	}
	if got := outbox(); !reflect.DeepEqual(got, want) {
		t.Errorf("outbox after the repeat %v", got)
	}
	var n int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM documents WHERE batch_id = $1`, id).Scan(&n), "count")
	if n != 3 {
		t.Errorf("%d documents in the batch after the repeat, want 3", n)
	}

	// Refusals.
	failing := func(context.Context, pgx.Tx, storage.MoveResult) error { return errors.New("the audit trail is down") }
	tests := []struct {
		name string
		doc  int64
		m    filing.Move
		hook storage.MoveHook
		want func(error) bool
	}{
		{"same placement", to.ID, filing.Move{Actor: "rob", PatientID: oka, Type: "lab-report", Reason: "x"}, nil,
			func(err error) bool { return errors.Is(err, storage.ErrSamePlacement) }},
		{"type kept, patient kept", to.ID, filing.Move{Actor: "rob", Reason: "x"}, nil,
			func(err error) bool { return errors.Is(err, storage.ErrSamePlacement) }},
		{"moved elsewhere already", from.ID, filing.Move{Actor: "rob", PatientID: hart, Reason: "x"}, nil,
			func(err error) bool { var me *storage.MovedError; return errors.As(err, &me) && me.To == to.ID }},
		{"in review", docs[1].ID, filing.Move{Actor: "rob", PatientID: oka, Reason: "x"}, nil,
			func(err error) bool { return errors.Is(err, storage.ErrNotFiled) }},
		{"no reason", to.ID, filing.Move{Actor: "rob", PatientID: hart, Reason: "  "}, nil,
			func(err error) bool { return errors.Is(err, filing.ErrBadMove) }},
		{"unknown type", to.ID, filing.Move{Actor: "rob", Type: "poem", Reason: "x"}, nil,
			func(err error) bool { return errors.Is(err, filing.ErrBadMove) }},
		{"missing", 999999, filing.Move{Actor: "rob", PatientID: hart, Reason: "x"}, nil,
			func(err error) bool { return errors.Is(err, storage.ErrNotFound) }},
		{"audit fails: no move", to.ID, filing.Move{Actor: "rob", PatientID: hart, Reason: "x"}, failing,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "audit trail is down") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hs []storage.MoveHook
			if tc.hook != nil {
				hs = append(hs, tc.hook)
			}
			_, err := f.MoveFiled(ctx, tc.doc, tc.m, hs...)
			if !tc.want(err) {
				t.Fatalf("error %v", err)
			}
			if got := outbox(); !reflect.DeepEqual(got, want) {
				t.Errorf("outbox after a refused move %v", got)
			}
			d, err := db.Document(ctx, to.ID)
			testenv.Must(t, err, "document")
			if d.State != storage.DocFiled {
				t.Errorf("the current document is %s after a refused move", d.State)
			}
		})
	}
}
