package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"paperchart/internal/testenv"
	"paperchart/scangen"
	"paperchart/storage"
	"paperchart/workers"
)

// endpoints are the services a cluster runs on: the shared ones of make
// test (testenv), or private ones the fault suite may stop and break.
type endpoints struct {
	dbAdminURL string // the server; the cluster gets a database of its own on it
	redisAddr  string
	objects    storage.ObjectsConfig // Bucket is replaced by one of the cluster's own
}

func sharedEndpoints() endpoints {
	return endpoints{dbAdminURL: testenv.DatabaseURL(), redisAddr: testenv.RedisAddr(), objects: testenv.ObjectsConfig("")}
}

// cluster is the pipeline as several machines run it: each role its own
// process, sharing one database, bucket and queue prefix of the test's own
// on the services of ep.
type cluster struct {
	t      *testing.T
	ep     endpoints
	env    []string
	dbURL  string
	bucket string
	drop   string
	prefix string
}

func newCluster(t *testing.T, ep endpoints) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Not under t.TempDir(): a subtest's name may hold a comma, and
	// PAPERCHART_DROP is a comma-separated list.
	root, err := os.MkdirTemp("", "paperchart-drop-")
	testenv.Must(t, err, "make drop folder")
	t.Cleanup(func() { os.RemoveAll(root) })
	c := &cluster{t: t, ep: ep, drop: filepath.Join(root, "inbox"), prefix: testenv.Name("pcdist") + ":"}
	name := testenv.Name("pctest_")
	c.dbURL, err = storage.CreateDatabase(ctx, ep.dbAdminURL, name)
	testenv.Must(t, err, "create database")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		storage.DropDatabase(ctx, ep.dbAdminURL, name)
	})
	// The bucket exists before the roles race to create it.
	oc := ep.objects
	oc.Bucket, oc.RetentionDays = strings.ReplaceAll(testenv.Name("pctest-"), "_", "-"), 1
	objs, err := storage.OpenObjects(ctx, oc)
	testenv.Must(t, err, "open object store")
	_, err = objs.EnsureBucket(ctx)
	testenv.Must(t, err, "create bucket")
	c.bucket = oc.Bucket
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		objs.RemoveBucket(ctx)
	})
	testenv.Must(t, os.MkdirAll(c.drop, 0o750), "make drop folder")
	q := workers.NewQueue(asynq.RedisClientOpt{Addr: ep.redisAddr}, workers.QueueConfig{Prefix: c.prefix})
	t.Cleanup(func() { q.DeleteQueues(); q.Close() })
	c.env = []string{
		"PAPERCHART_DATABASE_URL=" + c.dbURL,
		"PAPERCHART_S3_ENDPOINT=" + oc.Endpoint,
		"PAPERCHART_S3_ACCESS_KEY=" + oc.AccessKey,
		"PAPERCHART_S3_SECRET_KEY=" + oc.SecretKey,
		"PAPERCHART_S3_BUCKET=" + oc.Bucket,
		"PAPERCHART_RETENTION_DAYS=1",
		"PAPERCHART_QUEUE_PREFIX=" + c.prefix,
		"PAPERCHART_REDIS_ADDR=" + ep.redisAddr,
		"PAPERCHART_DROP=" + c.drop,
		"PAPERCHART_STABLE_FOR=300ms",
		"PAPERCHART_SCAN_EVERY=200ms",
	}
	return c
}

// start starts one role; it announces the address it listens on.
func (c *cluster) start(name string, args ...string) *proc {
	return startRole(c.t, name, c.env, args...)
}

// dropFile puts data in the drop folder the way a scanner's share does:
// written under a dot name, then renamed.
func (c *cluster) dropFile(data []byte, name string) {
	c.t.Helper()
	tmp := filepath.Join(c.drop, ".incoming-"+name)
	testenv.Must(c.t, os.WriteFile(tmp, data, 0o640), "write %s", name)
	testenv.Must(c.t, os.Rename(tmp, filepath.Join(c.drop, name)), "drop %s", name)
}

// TestSeparateProcesses runs two workers, a watcher and the HTTP server as
// four OS processes (not `paperchart all`) on the same services, and checks
// that a batch's pages spread over both workers, that every page is OCR'd
// exactly once and that the batch finishes once, its documents covering
// each page once.
func TestSeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four paperchart processes")
	}
	const pages = 8
	c := newCluster(t, sharedEndpoints())
	var data bytes.Buffer
	_, err := scangen.Generate(context.Background(), &data, scangen.Options{Pages: pages, Seed: 10, Format: scangen.FormatPDF, Clean: true, DPI: 150})
	testenv.Must(t, err, "generate batch")

	// Concurrency 1 each: two workers, two pages at a time, as two
	// one-core machines would.
	w1 := c.start("worker 1", "worker", "--concurrency=1", "--health-addr=127.0.0.1:0", "--work-dir="+t.TempDir())
	w2 := c.start("worker 2", "worker", "--concurrency=1", "--health-addr=127.0.0.1:0", "--work-dir="+t.TempDir())
	watch := c.start("watch", "watch", "--health-addr=127.0.0.1:0")
	serve := c.start("serve", "serve", "--http-addr=127.0.0.1:0")
	health := map[*proc]string{}
	for _, p := range []*proc{w1, w2, watch, serve} {
		health[p] = "http://" + p.waitAddr(t, time.Minute)
	}
	for p, base := range health {
		body := getOK(t, base+"/healthz", 30*time.Second)
		if !strings.Contains(string(body), `"ok": true`) && !strings.Contains(string(body), `"ok":true`) {
			t.Fatalf("%s /healthz: %s", p.name, body)
		}
		getOK(t, base+"/livez", 5*time.Second)
	}

	start := time.Now()
	c.dropFile(data.Bytes(), "distributed.pdf")

	// Follow the batch through serve's API, as a client would.
	var b storage.Batch
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var list []storage.Batch
		body := getOK(t, health[serve]+"/api/batches", 10*time.Second)
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("GET /api/batches: %v: %s", err, body)
		}
		if len(list) > 1 {
			t.Fatalf("one file dropped, %d batches", len(list))
		}
		if len(list) == 1 && list[0].Finished() {
			b = list[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the batch did not finish in time: %+v", list)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("batch of %d pages done %.1fs after the drop", pages, time.Since(start).Seconds())
	if b.State != storage.StateDone || b.Pages != pages || b.PagesDone != pages {
		t.Fatalf("batch ended %s with %d/%d pages done (want %d): %s", b.State, b.PagesDone, b.Pages, pages, b.Reason)
	}

	per := c.verify(b, w1, w2)
	if per[w1.name] == 0 || per[w2.name] == 0 {
		t.Errorf("the pages did not spread over both workers: %v", per)
	}
	t.Logf("pages per worker: %v", per)

	// The workers' own counters say the same: their sum is the page count.
	var sum float64
	for _, w := range []*proc{w1, w2} {
		n := counter(t, getOK(t, health[w]+"/metrics", 10*time.Second), "paperchart_pages_total")
		if int(n) != per[w.name] {
			t.Errorf("%s counts %v pages in /metrics, logged %d", w.name, n, per[w.name])
		}
		sum += n
	}
	if int(sum) != pages {
		t.Errorf("the workers counted %v pages, the batch has %d", sum, pages)
	}
}

// verify checks a finished batch went through each stage once: every page
// done, and done (OCR'd, or read as a sheet) by exactly one of the workers'
// logs; split, OCR and done recorded once each; the searchable PDF
// assembled once; its documents covering each page of a document exactly
// once. It returns the pages each worker did.
func (c *cluster) verify(b storage.Batch, workers ...*proc) map[string]int {
	t := c.t
	t.Helper()
	done := map[int]string{}
	per := map[string]int{}
	for _, w := range workers {
		// A cover or separator sheet is a page done without OCR.
		for _, l := range append(w.logged("page done"), w.logged("sheet page")...) {
			if l.num("batch") != b.ID {
				continue
			}
			pg := int(l.num("page"))
			if other, twice := done[pg]; twice {
				t.Errorf("batch %d: page %d done by %s and again by %s", b.ID, pg, other, w.name)
			}
			done[pg] = w.name
			per[w.name]++
		}
	}
	if len(done) != b.Pages {
		t.Errorf("batch %d: pages done %v, want each of 1..%d", b.ID, done, b.Pages)
	}

	ctx := context.Background()
	db, err := storage.OpenDB(ctx, c.dbURL)
	testenv.Must(t, err, "open database")
	defer db.Close()
	evs, err := db.Events(ctx, b.ID)
	testenv.Must(t, err, "events")
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Event]++
	}
	for _, ev := range []string{"split", "ocr done", "done"} {
		if counts[ev] != 1 {
			t.Errorf("batch %d: event %q %d times, want once: %v", b.ID, ev, counts[ev], counts)
		}
	}

	pgs, err := db.Pages(ctx, b.ID)
	testenv.Must(t, err, "pages")
	var want []int
	for _, p := range pgs {
		if p.State != storage.PageDone {
			t.Errorf("batch %d: page %d is %s", b.ID, p.No, p.State)
		}
		if !p.Blank && p.Kind == storage.PageKindPage {
			want = append(want, p.No)
		}
	}
	docs, err := db.BatchDocuments(ctx, b.ID)
	testenv.Must(t, err, "documents")
	var got []int
	for _, d := range docs {
		got = append(got, d.Pages...)
	}
	slices.Sort(got)
	if len(docs) == 0 || !slices.Equal(got, want) {
		t.Errorf("batch %d: %d documents cover pages %v, want each of %v once", b.ID, len(docs), got, want)
	}
	var assembled []string
	for _, w := range workers {
		for _, l := range w.logged("batch assembled") {
			if l.num("batch") == b.ID {
				assembled = append(assembled, w.name)
			}
		}
	}
	if len(assembled) != 1 {
		t.Errorf("batch %d assembled %d times: %v", b.ID, len(assembled), assembled)
	}
	return per
}
