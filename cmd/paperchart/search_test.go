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
	"paperchart/search"
)

func TestSearchCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	obj := testenv.Objects(t)
	_, err := patients.New(db.Pool(), patients.Options{}).Import(ctx, strings.NewReader(filingtest.Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	f, err := filing.New(db, obj, filing.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testenv.Must(t, err, "filer")
	id := filingtest.Batch(t, db, obj, "cmd-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Sep: true}, {Text: filingtest.Lab}})
	_, err = f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 2 {
		t.Fatalf("fixture: %d documents", len(docs))
	}
	disch, lab := fmt.Sprintf("document %d ", docs[0].ID), fmt.Sprintf("document %d ", docs[1].ID)

	dbFlag := "--database-url=" + url
	runCommandCases(t, runSearch, []commandCase{
		{"words", []string{"pneumonia", dbFlag}, "", []string{"1 documents found", disch, "page 1 of 1", "MRN 00410001", "discharge-summary", "2024-03-14", "[pneumonia]"}, []string{lab}},
		{"stemmed, flags after the words", []string{"treated", "improves", dbFlag, "--limit", "5"}, "", []string{disch, "[treated]", "[improved]"}, []string{lab}},
		{"patient", []string{"page", "--patient", "00410002", dbFlag}, "", []string{lab}, []string{disch}},
		{"type", []string{"page", "--type=lab-report", dbFlag}, "", []string{lab}, []string{disch}},
		{"dates", []string{"page", "--from", "2024-03-15", dbFlag}, "", []string{"no documents found"}, nil},
		{"dates around", []string{"page", "--from", "03/01/2024", "--to", "2024-03-31", dbFlag}, "", []string{"2 documents found"}, nil},
		{"batch", []string{"page", "--batch", fmt.Sprint(id + 1), dbFlag}, "", []string{"no documents found"}, nil},
		{"limit", []string{"page", "--limit", "1", dbFlag}, "", []string{"2 documents found, the best 1 shown"}, nil},
		{"json", []string{`"productive cough"`, "--json", dbFlag}, "", []string{`"total": 1`, `"document_id"`, `"mark": true`, `"text": "productive"`}, nil},
		{"nothing typed", []string{dbFlag}, "give the words to search for", nil, nil},
		{"bad type", []string{"x", "--type", "novel", dbFlag}, "not a document type code", nil, nil},
		{"bad date", []string{"x", "--from", "someday", dbFlag}, "give a date", nil, nil},
		{"reindex", []string{"--reindex", dbFlag}, "", []string{"2 filed documents indexed"}, nil},
		{"reindex takes no query", []string{"--reindex", "x", dbFlag}, "takes no query", nil, nil},
	})
	// Every search is audited as the person at the command line, with the
	// query text.
	es, err := audit.New(db.Pool()).List(ctx, audit.Filter{Limit: 50})
	testenv.Must(t, err, "audit list")
	var found bool
	n := 0
	for _, e := range es {
		if e.Action != search.ActionSearch {
			continue
		}
		n++
		if !strings.HasPrefix(e.Actor, "cli") {
			t.Errorf("search audited as %q", e.Actor)
		}
		if e.Detail == fmt.Sprintf(`q="pneumonia"; 1 found: DocumentReference/%d`, docs[0].ID) {
			found = true
		}
	}
	if n != 9 || !found {
		t.Errorf("%d searches audited (want 9), the first one's entry found: %v", n, found)
	}
}
