package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
)

// TestDocumentsMoveCommand moves a filed document with `paperchart
// documents move` as the operator: the move, its repeat (nothing more), a
// move to the same placement and the other refusals, both histories, and
// the audit entry by IDs.
func TestDocumentsMoveCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	obj := testenv.Objects(t)
	x := patients.New(db.Pool(), patients.Options{})
	_, err := x.Import(ctx, strings.NewReader(filingtest.Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	f, err := filing.New(db, obj, filing.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testenv.Must(t, err, "filer")
	id := filingtest.Batch(t, db, obj, "cmd-move-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Text: filingtest.Stranger}})
	_, err = f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 2 || docs[0].State != "filed" || docs[1].State != "review" {
		t.Fatalf("fixture: %+v", docs)
	}
	oka, err := x.ByMRN(ctx, "", "00410002")
	testenv.Must(t, err, "patient")
	oc := testenv.ObjectsConfig(obj.Bucket())
	flags := []string{"--database-url=" + url, "--s3-endpoint=" + oc.Endpoint, "--s3-access-key=" + oc.AccessKey,
		"--s3-secret-key=" + oc.SecretKey, "--s3-bucket=" + oc.Bucket}
	old := fmt.Sprint(docs[0].ID)
	next := fmt.Sprint(docs[len(docs)-1].ID + 1) // the new document's ID: the next of the table
	move := func(args ...string) []string { return append(append([]string{"move"}, args...), flags...) }
	runCommandCases(t, runDocuments, []commandCase{
		{"no reason", move(old, "--patient", "00410002"), "give --reason", nil, nil},
		{"nowhere to go", move(old, "--reason", "x"), "give --patient MRN and/or --type", nil, nil},
		{"unknown type", move(old, "--type", "poem", "--reason", "x"), "is not a document type", nil, nil},
		{"unknown patient", move(old, "--patient", "00000000", "--reason", "x"), "no patient with that MRN", nil, nil},
		{"same placement", move(old, "--patient", "00410001", "--reason", "x"), "filed to that patient with that type already", nil, nil},
		{"in review", move(fmt.Sprint(docs[1].ID), "--patient", "00410002", "--reason", "x"), "only a filed document can be moved", nil, nil},
		{"move", move(old, "--patient", "MRN|00410002", "--type", "lab-report", "--reason", "wrong patient: the label was misread"), "",
			[]string{"document " + old + " (patient", "moved: it is now document " + next, fmt.Sprintf("(patient %d, lab-report)", oka.ID)}, []string{"OKAFOR", "HARTMANN"}},
		{"the same move again", move(old, "--patient", "00410002", "--type", "lab-report", "--reason", "wrong patient", "--json"), "",
			[]string{`"moved": false`, `"replaces": ` + old}, nil},
		{"elsewhere after the move", move(old, "--patient", "00410001", "--reason", "x"), "moved already to other placement: it is now document " + next, nil, nil},
		{"show the old", []string{"show", old, "--database-url=" + url}, "", []string{"moved", "moved to  document " + next, "wrong patient: the label was misread", "was patient"}, nil},
		{"show the new", []string{"show", next, "--database-url=" + url}, "", []string{"filed", "replaces  document " + old, "moved here"}, nil},
		{"list moved", []string{"--state", "moved", "--database-url=" + url}, "", []string{old, "moved"}, nil},
	})
	// One move in the audit trail, as the operator, by IDs only.
	es, err := audit.New(db.Pool()).List(ctx, audit.Filter{Limit: 50})
	testenv.Must(t, err, "audit")
	var moves []audit.Entry
	for _, e := range es {
		if e.Action == audit.ActionDocumentMove {
			moves = append(moves, e)
		}
	}
	if len(moves) != 1 {
		t.Fatalf("%d moves audited, want 1", len(moves))
	}
	e := moves[0]
	if e.Actor != cliActor() || e.Resource != "DocumentReference/"+old || e.DocumentID == nil || fmt.Sprint(*e.DocumentID) != next ||
		e.PatientID == nil || *e.PatientID != oka.ID {
		t.Errorf("audit entry %+v", e)
	}
	if !strings.Contains(e.Detail, fmt.Sprintf("moved to DocumentReference/%s (Patient/%d, type lab-report)", next, oka.ID)) ||
		strings.Contains(e.Detail, "misread") || strings.Contains(e.Detail, "00410002") {
		t.Errorf("audit detail %q", e.Detail)
	}
}
