package filing_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

func TestEdits(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	db, obj, _, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "edit-"+testenv.Name(""), []filingtest.Page{
		{Text: filingtest.Stranger}, {Text: filingtest.Stranger}, {Text: filingtest.Stranger},
	})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 3 {
		t.Fatalf("fixture: %d documents, want 3", len(docs))
	}
	d1, d2, d3 := docs[0].ID, docs[1].ID, docs[2].ID
	pagesOf := func(id int64) []int {
		d, err := db.Document(ctx, id)
		testenv.Must(t, err, "document")
		return d.Pages
	}
	stateOf := func(id int64) string {
		d, err := db.Document(ctx, id)
		testenv.Must(t, err, "document")
		return d.State
	}

	// A claim keeps others out.
	_, err = db.Claim(ctx, d1, "ann", time.Minute)
	testenv.Must(t, err, "claim")
	if _, err := db.Claim(ctx, d1, "bob", time.Minute); !errors.Is(err, storage.ErrClaimed) {
		t.Fatalf("second claim: %v, want ErrClaimed", err)
	}
	var ce *storage.ClaimError
	if _, err := f.MergeWithPrevious(ctx, d2, "bob"); !errors.As(err, &ce) || ce.By != "ann" {
		t.Fatalf("bob merging into ann's document: %v, want a claim error naming ann", err)
	}
	if _, err := f.MergeWithPrevious(ctx, d1, "ann"); !errors.Is(err, filing.ErrBadEdit) {
		t.Fatalf("merging the first document: %v, want ErrBadEdit", err)
	}

	merged, err := f.MergeWithPrevious(ctx, d2, "ann")
	testenv.Must(t, err, "merge")
	if merged.ID != d1 || !slices.Equal(merged.Pages, []int{1, 2}) || stateOf(d2) != storage.DocMerged {
		t.Fatalf("after merge: document %d pages %v, document %d %s", merged.ID, merged.Pages, d2, stateOf(d2))
	}
	if merged.SeparatedBy != "person" || merged.SplitReview {
		t.Errorf("a person's cut is sure: by %q review %v", merged.SeparatedBy, merged.SplitReview)
	}

	testenv.Must(t, f.MovePage(ctx, d1, 2, d3, "ann"), "move page")
	if !slices.Equal(pagesOf(d1), []int{1}) || !slices.Equal(pagesOf(d3), []int{2, 3}) {
		t.Fatalf("after move: %v and %v", pagesOf(d1), pagesOf(d3))
	}

	if _, err := f.SplitAt(ctx, d3, 2, "ann"); !errors.Is(err, filing.ErrBadEdit) {
		t.Fatalf("split at the first page: %v, want ErrBadEdit", err)
	}
	parts, err := f.SplitAt(ctx, d3, 3, "ann")
	testenv.Must(t, err, "split")
	if len(parts) != 2 || !slices.Equal(parts[0].Pages, []int{2}) || !slices.Equal(parts[1].Pages, []int{3}) || parts[1].State != storage.DocReview {
		t.Fatalf("after split: %+v", parts)
	}
	if _, err := obj.Get(ctx, parts[1].ObjectKey); err != nil {
		t.Fatalf("the new document's PDF: %v", err)
	}

	left, err := f.RemovePage(ctx, parts[1].ID, 3, "ann", "blank back side")
	testenv.Must(t, err, "remove page")
	if left.State != storage.DocDiscarded {
		t.Fatalf("a document with no page left is %s, want discarded", left.State)
	}
	if err := f.Reject(ctx, d1, "ann", ""); !errors.Is(err, filing.ErrBadEdit) {
		t.Fatalf("reject without reason: %v", err)
	}
	testenv.Must(t, f.Reject(ctx, d1, "ann", "not a medical record"), "reject")
	if stateOf(d1) != storage.DocDiscarded {
		t.Fatalf("rejected document is %s", stateOf(d1))
	}

	cs, err := db.Corrections(ctx, "split")
	testenv.Must(t, err, "corrections")
	if len(cs) != 3 { // merge, move, split
		t.Fatalf("%d split corrections, want 3: %+v", len(cs), cs)
	}
	evs, err := db.DocumentEvents(ctx, d3)
	testenv.Must(t, err, "history")
	var seen []string
	for _, e := range evs {
		seen = append(seen, e.Actor+":"+e.Event)
	}
	if want := "auto:to review ann:page 2 moved from document"; !strings.HasPrefix(strings.Join(seen, " "), want) {
		t.Fatalf("history of document %d: %q", d3, seen)
	}
}
