package filing_test

import (
	"context"
	"maps"
	"testing"

	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

// TestPagesFetched counts what filing a batch on its own (the file task)
// and a person's edits read from the object store: the image and OCR
// result of each page that goes into a PDF, once, and nothing of sheets.
func TestPagesFetched(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	objs := testenv.Counting(su.Objects)
	f, err := filing.New(su.DB, objs, filing.Config{}, nil)
	testenv.Must(t, err, "filer")
	id := filingtest.Batch(t, su.DB, su.Objects, "fetch-"+testenv.Name(""), []filingtest.Page{
		{Sep: true}, {Text: filingtest.Stranger}, {Text: filingtest.Stranger}, {Text: filingtest.Stranger},
	})
	pageKeys := func(nos ...int) map[string]int {
		m := map[string]int{}
		for _, no := range nos {
			m[storage.PageImageKey(id, no)] = 1
			m[storage.PageOCRKey(id, no)] = 1
		}
		return m
	}
	_, err = f.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	if got, want := objs.Took(), pageKeys(2, 3, 4); !maps.Equal(got, want) {
		t.Errorf("filing the batch fetched %v, want %v", got, want)
	}
	docs, err := su.DB.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 3 {
		t.Fatalf("fixture: %d documents, want 3", len(docs))
	}
	_, err = f.MergeWithPrevious(ctx, docs[1].ID, "ann")
	testenv.Must(t, err, "merge")
	if got, want := objs.Took(), pageKeys(2, 3); !maps.Equal(got, want) {
		t.Errorf("merging fetched %v, want %v", got, want)
	}
	testenv.Must(t, f.MovePage(ctx, docs[0].ID, 3, docs[2].ID, "ann"), "move page")
	if got, want := objs.Took(), pageKeys(2, 3, 4); !maps.Equal(got, want) {
		t.Errorf("moving a page fetched %v, want %v", got, want)
	}
	_, err = f.SplitAt(ctx, docs[2].ID, 4, "ann")
	testenv.Must(t, err, "split")
	if got, want := objs.Took(), pageKeys(3, 4); !maps.Equal(got, want) {
		t.Errorf("splitting fetched %v, want %v", got, want)
	}
}
