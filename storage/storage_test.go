package storage_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"paperchart/internal/testenv"
	"paperchart/storage"
)

func TestMigrateTwice(t *testing.T) {
	db := testenv.DB(t) // migrated once
	did, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(did) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", did)
	}
}

func newBatch(key, sha string) storage.NewBatch {
	return storage.NewBatch{Source: "ward3", Name: "scan.pdf", IngestKey: key, SHA256: sha, Size: 10, OriginalKey: storage.OriginalKey(sha)}
}

func TestRecordBatch(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	tests := []struct {
		name        string
		key, sha    string
		wantCreated bool
		wantState   string
		wantDupOf   int // index into earlier results, -1 none
	}{
		{"first drop", "k1", "aaa", true, storage.StateReceived, -1},
		{"ingest ran again on the same file", "k1", "aaa", false, storage.StateReceived, -1},
		{"same bytes dropped again", "k2", "aaa", true, storage.StateDuplicate, 0},
		{"other bytes", "k3", "bbb", true, storage.StateReceived, -1},
	}
	var got []storage.Batch
	for _, tc := range tests {
		b, created, err := db.RecordBatch(ctx, newBatch(tc.key, tc.sha))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got = append(got, b)
		if created != tc.wantCreated || b.State != tc.wantState {
			t.Errorf("%s: created %v state %s, want %v %s", tc.name, created, b.State, tc.wantCreated, tc.wantState)
		}
		if tc.wantDupOf >= 0 {
			if b.DuplicateOf == nil || *b.DuplicateOf != got[tc.wantDupOf].ID {
				t.Errorf("%s: duplicate_of %v, want %d", tc.name, b.DuplicateOf, got[tc.wantDupOf].ID)
			}
		} else if b.DuplicateOf != nil {
			t.Errorf("%s: duplicate_of %d, want none", tc.name, *b.DuplicateOf)
		}
	}
	if got[0].ID != got[1].ID {
		t.Errorf("re-run of ingest made batch %d, want the same batch %d", got[1].ID, got[0].ID)
	}
}

func TestRecordBatchConcurrentSameBytes(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	var wg sync.WaitGroup
	states := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _, err := db.RecordBatch(ctx, newBatch(fmt.Sprint("key", i), "same"))
			if err != nil {
				t.Error(err)
				return
			}
			states <- b.State
		}()
	}
	wg.Wait()
	close(states)
	firsts := 0
	for s := range states {
		if s == storage.StateReceived {
			firsts++
		}
	}
	if firsts != 1 {
		t.Fatalf("%d batches recorded as first of the same bytes, want 1", firsts)
	}
}

func TestPageLifecycleJoinsOnce(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	b, _, err := db.RecordBatch(ctx, newBatch("k", "sha"))
	testenv.Must(t, err, "record")
	if ok, err := db.MarkQueued(ctx, b.ID, "pdf"); err != nil || !ok {
		t.Fatalf("mark queued: %v %v", ok, err)
	}
	if ok, err := db.StartSplit(ctx, b.ID); err != nil || !ok {
		t.Fatalf("start split: %v %v", ok, err)
	}
	const n = 12
	var pages []storage.NewPage
	for i := 1; i <= n; i++ {
		pages = append(pages, storage.NewPage{No: i, SourceKey: storage.PageSourceKey(b.ID, i, ".pdf"), Kind: "image", DPI: 300})
	}
	testenv.Must(t, db.AddPages(ctx, b.ID, "pdf", pages), "add pages")
	testenv.Must(t, db.AddPages(ctx, b.ID, "pdf", pages), "add pages again") // a re-run of the split
	got, err := db.Pages(ctx, b.ID)
	testenv.Must(t, err, "pages")
	if len(got) != n {
		t.Fatalf("%d pages after adding twice, want %d", len(got), n)
	}
	// Every page completed twice, concurrently: exactly one call joins.
	var wg sync.WaitGroup
	joins := make(chan bool, 2*n)
	for i := 1; i <= n; i++ {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j, err := db.CompletePage(ctx, storage.PageResult{BatchID: b.ID, No: i, Text: "words", WordCount: 1})
				if err != nil {
					t.Error(err)
				}
				joins <- j
			}()
		}
	}
	wg.Wait()
	close(joins)
	count := 0
	for j := range joins {
		if j {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d joins, want exactly 1", count)
	}
	b, err = db.Batch(ctx, b.ID)
	testenv.Must(t, err, "batch")
	if b.State != storage.StateAssembling || b.PagesDone != n {
		t.Fatalf("batch %s with %d done, want assembling with %d", b.State, b.PagesDone, n)
	}
	if ok, err := db.Assembled(ctx, b.ID, storage.SearchableKey(b.ID)); err != nil || !ok {
		t.Fatalf("assembled: %v %v", ok, err)
	}
	if ok, _ := db.Assembled(ctx, b.ID, storage.SearchableKey(b.ID)); ok {
		t.Fatal("a batch assembled twice")
	}
	docs := []storage.NewDocument{
		{Seq: 1, State: storage.DocReview, Pages: []int{1, 2}, ObjectKey: storage.ReviewDocumentKey(b.ID, 1), SeparatedBy: "first",
			SplitConfidence: 0.99, TypeSuggested: "lab-report", TypeConfidence: 0.4, TypeReview: true},
		{Seq: 2, State: storage.DocReview, Pages: []int{3}, ObjectKey: storage.ReviewDocumentKey(b.ID, 2), SeparatedBy: "content",
			SplitConfidence: 0.6, SplitReview: true},
	}
	sum, moved, err := db.FinishFiling(ctx, b.ID, docs)
	if err != nil || !moved || sum.Documents != 2 || sum.Review != 2 {
		t.Fatalf("finish filing: %+v %v %v", sum, moved, err)
	}
	// A re-delivered filing task neither moves the batch again nor adds
	// documents.
	if _, moved, err := db.FinishFiling(ctx, b.ID, docs); err != nil || moved {
		t.Fatalf("finish filing again: moved %v, %v", moved, err)
	}
	made, err := db.BatchDocuments(ctx, b.ID)
	testenv.Must(t, err, "documents")
	if len(made) != 2 || made[1].Pages[0] != 3 || !made[1].SplitReview || made[0].TypeSuggested != "lab-report" {
		t.Fatalf("documents %+v", made)
	}
	evs, err := db.Events(ctx, b.ID)
	testenv.Must(t, err, "events")
	var names []string
	for _, e := range evs {
		names = append(names, e.Event)
	}
	want := fmt.Sprint([]string{"received", "queued", "splitting", "split", "ocr done", "assembled", "done"})
	if fmt.Sprint(names) != want {
		t.Fatalf("events %v, want %s", names, want)
	}
}

func TestFailAndRetry(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	b, _, err := db.RecordBatch(ctx, newBatch("k", "sha"))
	testenv.Must(t, err, "record")
	db.MarkQueued(ctx, b.ID, "pdf")
	testenv.Must(t, db.AddPages(ctx, b.ID, "pdf", []storage.NewPage{{No: 1, SourceKey: storage.PageSourceKey(b.ID, 1, ".pdf"), Kind: "image"}, {No: 2, SourceKey: storage.PageSourceKey(b.ID, 2, ".pdf"), Kind: "image"}}), "add")
	_, err = db.CompletePage(ctx, storage.PageResult{BatchID: b.ID, No: 1})
	testenv.Must(t, err, "complete")
	testenv.Must(t, db.FailPage(ctx, b.ID, 2, "reading the page (OCR) failed after 6 attempts: disk full"), "fail page")
	b, _ = db.Batch(ctx, b.ID)
	if b.State != storage.StateFailed || b.Reason != "page 2: reading the page (OCR) failed after 6 attempts: disk full" {
		t.Fatalf("batch %s %q", b.State, b.Reason)
	}
	if _, err := db.RetryBatch(ctx, 999999); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("retry of a missing batch: %v", err)
	}
	state, err := db.RetryBatch(ctx, b.ID)
	testenv.Must(t, err, "retry")
	if state != storage.StateOCR {
		t.Fatalf("resumes at %s, want ocr", state)
	}
	pending, _ := db.PendingPages(ctx, b.ID)
	if fmt.Sprint(pending) != "[2]" {
		t.Fatalf("pending %v, want [2]", pending)
	}
	if _, err := db.RetryBatch(ctx, b.ID); err == nil {
		t.Fatal("retry of a batch that is not failed succeeded")
	}
}

func TestOriginalsStoredVerifiedAndLocked(t *testing.T) {
	ctx := context.Background()
	objs := testenv.Objects(t)
	data := []byte("%PDF-1.4 not really\n%%EOF\n")
	path := filepath.Join(t.TempDir(), "x.pdf")
	os.WriteFile(path, data, 0o600)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	key, err := objs.PutOriginal(ctx, path, sha)
	testenv.Must(t, err, "put original")
	if key2, err := objs.PutOriginal(ctx, path, sha); err != nil || key2 != key {
		t.Fatalf("second put: %s %v", key2, err)
	}
	got, err := objs.Get(ctx, key)
	testenv.Must(t, err, "get")
	if string(got) != string(data) {
		t.Fatal("stored bytes differ")
	}
	info, err := objs.Stat(ctx, key)
	testenv.Must(t, err, "stat")
	if info.SHA256 != sha {
		t.Errorf("stored sha256 metadata %q", info.SHA256)
	}
	if !objs.Locked() {
		t.Fatal("bucket has no object lock; the S3 server started by deploy/setup.sh supports it")
	}
	if !info.RetentionSet || info.RetainUntil.Before(time.Now()) {
		t.Fatalf("original has no retention: %+v", info)
	}
	// The locked version cannot be deleted.
	if err := objs.Remove(ctx, key, info.VersionID); err == nil {
		t.Fatal("the server deleted an original under retention")
	}
	if got, err := objs.Get(ctx, key); err != nil || string(got) != string(data) {
		t.Fatalf("original gone after a refused delete: %v", err)
	}

	// A wrong checksum is refused: the read-back finds the difference.
	if _, err := objs.PutOriginal(ctx, path, "00"+sha[2:]); err == nil {
		t.Fatal("PutOriginal accepted a checksum that does not match the bytes")
	}
}

func TestObjectsMissingKey(t *testing.T) {
	objs := testenv.Objects(t)
	if _, err := objs.Get(context.Background(), storage.PageImageKey(1<<40, 1)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := objs.Stat(context.Background(), storage.PageImageKey(1<<40, 1)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("stat missing: %v", err)
	}
}

// TestDocumentQueriesLargeIDs: IDs past 2^31 (patients and batches are
// bigint) find nothing rather than fail: a query that compares a parameter
// with 0 alone would type it integer (found by fhir.FuzzSearchParameters,
// patient=2170000000).
func TestDocumentQueriesLargeIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	for _, id := range []int64{1<<31 + 1, 2170000000, 1<<62 + 7} {
		docs, total, err := db.FiledDocuments(ctx, storage.FiledQuery{PatientID: id})
		if err != nil || total != 0 || len(docs) != 0 {
			t.Errorf("FiledDocuments(patient %d): %d documents (%d in all), %v", id, len(docs), total, err)
		}
		for _, f := range []storage.DocumentFilter{{PatientID: id}, {BatchID: id}} {
			if docs, err := db.ListDocuments(ctx, f); err != nil || len(docs) != 0 {
				t.Errorf("ListDocuments(%+v): %d documents, %v", f, len(docs), err)
			}
		}
	}
}
