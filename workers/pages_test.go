package workers_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"paperchart/extract"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
	"paperchart/workers"
)

// TestPagesFetchedOnce runs a batch's assembly and filing tasks, as a worker
// does once OCR is done, and counts what they read from the object store:
// each page's image and OCR result once, whichever task uses them; and how
// often a page's text is read for identifiers: once for each content page,
// by separation, whose findings filing takes.
func TestPagesFetchedOnce(t *testing.T) {
	ctx := context.Background()
	s := filingtest.New(t, nil)
	objs := testenv.Counting(s.Objects)
	redis := asynq.RedisClientOpt{Addr: testenv.RedisAddr()}
	qc := workers.QueueConfig{Prefix: testenv.Name("pctest") + ":"}
	q := workers.NewQueue(redis, qc)
	t.Cleanup(func() {
		q.DeleteQueues()
		q.Close()
	})
	var reads atomic.Int64
	fc := filing.Config{Extract: &extract.Config{MRNWidth: 8, Read: func() { reads.Add(1) }}}
	w, err := workers.NewWorker(s.DB, objs, q, workers.Config{Queue: qc, Concurrency: 1, Filing: fc}, nil)
	testenv.Must(t, err, "worker")
	t.Cleanup(func() { w.Close() })

	pages := []filingtest.Page{
		{Cover: "00410001", Type: "discharge-summary"}, {Text: filingtest.Discharge},
		{Sep: true}, {Text: filingtest.Lab}, {Text: filingtest.Lab},
		{Sep: true}, {Text: filingtest.Stranger},
	}
	id := filingtest.OCRed(t, s.DB, s.Objects, "count.pdf", pages)
	payload, err := json.Marshal(map[string]int64{"batch": id})
	testenv.Must(t, err, "payload")
	h := w.Handler()
	// The file task runs too: queued by assembly, or re-delivered after it.
	for _, typ := range []string{workers.TypeAssemble, workers.TypeFile} {
		testenv.Must(t, h.ProcessTask(ctx, asynq.NewTask(typ, payload)), "task %s", typ)
	}
	b, err := s.DB.Batch(ctx, id)
	testenv.Must(t, err, "batch")
	if b.State != storage.StateDone {
		t.Fatalf("batch %s, want done", b.State)
	}
	docs, err := s.DB.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	inDoc := map[int]int{}
	for _, d := range docs {
		for _, no := range d.Pages {
			inDoc[no]++
		}
	}
	for no, p := range pages {
		sheet := p.Sep || p.Cover != ""
		if want := map[bool]int{true: 0, false: 1}[sheet]; inDoc[no+1] != want {
			t.Errorf("page %d is in %d documents, want %d", no+1, inDoc[no+1], want)
		}
	}

	content := 0
	for _, p := range pages {
		if p.Text != "" {
			content++
		}
	}
	if n := reads.Load(); n != int64(content) {
		t.Errorf("page texts read for identifiers %d times, want %d (once for each of the %d content pages)", n, content, content)
	}

	gets := objs.Took()
	total := 0
	for no := 1; no <= len(pages); no++ {
		for _, key := range []string{storage.PageImageKey(id, no), storage.PageOCRKey(id, no)} {
			if n := gets[key]; n != 1 {
				t.Errorf("%s fetched %d times, want once", key, n)
			}
		}
	}
	for _, n := range gets {
		total += n
	}
	t.Logf("%d pages: %d GETs in all (%.1f a page)", len(pages), total, float64(total)/float64(len(pages)))
	if total != 2*len(pages) {
		t.Errorf("%d GETs for %d pages, want %d: %v", total, len(pages), 2*len(pages), gets)
	}
}
