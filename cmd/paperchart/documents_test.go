package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
)

func TestDocumentsCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	obj := testenv.Objects(t)
	_, err := patients.New(db.Pool(), patients.Options{}).Import(ctx, strings.NewReader(filingtest.Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	f, err := filing.New(db, obj, filing.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testenv.Must(t, err, "filer")
	id := filingtest.Batch(t, db, obj, "cmd-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Text: filingtest.Stranger}})
	_, err = f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 2 {
		t.Fatalf("fixture: %d documents", len(docs))
	}

	dbFlag := "--database-url=" + url
	runCommandCases(t, runDocuments, []commandCase{
		{"list", []string{dbFlag}, "", []string{"1 documents wait for review", "filed", "review", "discharge-summary", "1"}, []string{"HARTMANN"}},
		{"review only", []string{dbFlag, "--state", "review"}, "", []string{"review", "no patient"}, []string{"discharge-summary"}},
		{"by batch json", []string{"list", dbFlag, "--batch", fmt.Sprint(id), "--json"}, "", []string{`"state": "filed"`, `"split_confidence"`}, nil},
		{"bad state", []string{dbFlag, "--state", "lost"}, "use filed, review, discarded or moved", nil, nil},
		{"show", []string{"show", fmt.Sprint(docs[1].ID), dbFlag}, "", []string{"review", "Why a person must look", "History:", "viewed"}, nil},
		{"show json", []string{"show", dbFlag, fmt.Sprint(docs[0].ID), "--json"}, "", []string{`"events"`, `"loinc": "18842-5"`}, nil},
		{"show missing", []string{"show", "99999", dbFlag}, "not found", nil, nil},
		{"unknown", []string{"frobnicate"}, "unknown subcommand", nil, nil},
	})
	// Each show is in the audit trail too, by ID.
	es, err := audit.New(db.Pool()).List(ctx, audit.Filter{Limit: 10})
	testenv.Must(t, err, "audit list")
	var views []string
	for _, e := range es {
		if e.Action == audit.ActionDocumentView && strings.HasPrefix(e.Actor, "cli") && e.DocumentID != nil {
			views = append(views, e.Resource)
		}
	}
	if want := []string{fmt.Sprintf("DocumentReference/%d", docs[0].ID), fmt.Sprintf("DocumentReference/%d", docs[1].ID)}; !slices.Equal(views, want) {
		t.Errorf("audited document views %v, want %v (newest first)", views, want)
	}
	if got := pageList([]int{1, 2, 3, 5, 7, 8}); got != "1-3,5,7-8" {
		t.Errorf("pageList = %q", got)
	}
}
