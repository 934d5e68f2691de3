package workers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"paperchart/internal/harness"
	"paperchart/internal/testenv"
	"paperchart/ocr"
	"paperchart/scangen"
	"paperchart/split"
	"paperchart/storage"
	"paperchart/workers"
)

// Environment of a worker run as a child process by TestWorkerKilledMidBatch.
const (
	childDB     = "PCTEST_CHILD_WORKER_DB"
	childBucket = "PCTEST_CHILD_WORKER_BUCKET"
	childPrefix = "PCTEST_CHILD_WORKER_PREFIX"
)

func TestMain(m *testing.M) {
	if err := ocr.EnsureThreadLimit(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if os.Getenv(childDB) != "" {
		os.Exit(childWorker())
	}
	os.Exit(m.Run())
}

// childWorker is a worker process serving the pipeline named in the
// environment, until it is killed.
func childWorker() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db, err := storage.OpenDB(ctx, os.Getenv(childDB))
	if err != nil {
		log.Error("child", "err", err)
		return 1
	}
	objs, err := storage.OpenObjects(ctx, testenv.ObjectsConfig(os.Getenv(childBucket)))
	if err != nil {
		log.Error("child", "err", err)
		return 1
	}
	redis := asynq.RedisClientOpt{Addr: testenv.RedisAddr()}
	qc := workers.QueueConfig{Prefix: os.Getenv(childPrefix)}
	q := workers.NewQueue(redis, qc)
	w, err := workers.NewWorker(db, objs, q, workers.Config{Queue: qc, Concurrency: 2}, log)
	if err != nil {
		log.Error("child", "err", err)
		return 1
	}
	fmt.Println("child worker ready")
	if err := w.Run(ctx, redis); err != nil {
		log.Error("child", "err", err)
		return 1
	}
	return 0
}

func startPipeline(t *testing.T, opt harness.Options) *harness.Pipeline {
	t.Helper()
	opt.DatabaseURL = testenv.DatabaseURL()
	opt.Redis = asynq.RedisClientOpt{Addr: testenv.RedisAddr()}
	opt.Objects = testenv.ObjectsConfig("")
	if opt.Concurrency == 0 {
		opt.Concurrency = 2
	}
	if opt.Log == nil && testing.Verbose() {
		opt.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := harness.Start(ctx, opt)
	if err != nil {
		t.Fatalf("start pipeline: %v; %s", err, "start the services with `bash deploy/setup.sh` (make test does)")
	}
	t.Cleanup(p.Close)
	return p
}

func generate(t *testing.T, opt scangen.Options) ([]byte, scangen.Truth) {
	t.Helper()
	var buf bytes.Buffer
	truth, err := scangen.Generate(context.Background(), &buf, opt)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), truth
}

func wait(t *testing.T, p *harness.Pipeline, name string, d time.Duration) storage.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	b, err := p.WaitBatch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wordMiss is the share of the truth's words (as a multiset) that the read
// text lacks: an error rate that does not depend on reading order, since
// Tesseract may read a right-aligned or two-column letterhead after the body
// while the truth lists lines top to bottom.
func wordMiss(truth, read string) float64 {
	have := map[string]int{}
	for _, w := range strings.Fields(read) {
		have[w]++
	}
	words := strings.Fields(truth)
	miss := 0
	for _, w := range words {
		if have[w] > 0 {
			have[w]--
		} else {
			miss++
		}
	}
	return float64(miss) / float64(max(len(words), 1))
}

// TestTwentyPageBatch is the acceptance run: a 20-page clean 300-dpi batch
// dropped into the folder ends with 20 pages OCR'd, the text holding the
// generator's words (under 3% missed), and a searchable PDF whose text layer
// holds the words.
func TestTwentyPageBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("OCRs 20 pages")
	}
	p := startPipeline(t, harness.Options{})
	data, truth := generate(t, scangen.Options{Pages: 20, Seed: 20, Format: scangen.FormatPDF, Clean: true, DPI: 300})
	if err := p.DropBytes(data, "twenty.pdf"); err != nil {
		t.Fatal(err)
	}
	b := wait(t, p, "twenty.pdf", 8*time.Minute)
	if b.State != storage.StateDone || b.Pages != 20 || b.PagesDone != 20 {
		t.Fatalf("batch %s, %d/%d pages: %s", b.State, b.PagesDone, b.Pages, b.Reason)
	}
	ctx := context.Background()
	var sum float64
	for i, pt := range truth.Pages {
		text, err := p.DB.PageText(ctx, b.ID, i+1)
		testenv.Must(t, err, "page text")
		miss := wordMiss(pt.Text, text)
		sum += miss
		if miss > 0.05 {
			t.Errorf("page %d: %.2f%% of the words missed (CER in reading order %.2f%%)", i+1, miss*100, scangen.CER(pt.Text, text)*100)
		}
	}
	mean := sum / float64(len(truth.Pages))
	t.Logf("mean share of words missed over 20 clean pages: %.2f%%", mean*100)
	if mean >= 0.03 {
		t.Errorf("mean share of words missed %.2f%%, want under 3%%", mean*100)
	}
	orig, err := p.Objects.Get(ctx, b.OriginalKey)
	if err != nil || !bytes.Equal(orig, data) {
		t.Fatalf("original not stored intact: %v", err)
	}
	pdf, err := p.Objects.Get(ctx, b.SearchableKey)
	testenv.Must(t, err, "searchable PDF")
	path := filepath.Join(t.TempDir(), "s.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, err := exec.Command("pdftotext", "-f", "3", "-l", "3", path, "-").Output()
	testenv.Must(t, err, "pdftotext")
	if miss := wordMiss(truth.Pages[2].Text, string(out)); miss > 0.05 {
		t.Errorf("text layer of page 3 lacks %.2f%% of the page's words", miss*100)
	}
	info, err := exec.Command("pdfinfo", path).Output()
	testenv.Must(t, err, "pdfinfo")
	if !strings.Contains(string(info), "Pages:           20") {
		t.Errorf("searchable PDF: %s", info)
	}
}

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRealisticTIFFBatch runs a degraded multi-page TIFF: skew, noise,
// bilevel pages, a page fed upside down, a blank sheet.
func TestRealisticTIFFBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("OCRs pages")
	}
	var logs lockedBuffer
	p := startPipeline(t, harness.Options{Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	opt := scangen.DefaultOptions()
	opt.Pages, opt.Seed, opt.Format, opt.RotateProb, opt.BlankProb = 5, 3, scangen.FormatTIFF, 0.4, 0.2
	data, truth := generate(t, opt)
	if err := p.DropBytes(data, "ward.tif"); err != nil {
		t.Fatal(err)
	}
	b := wait(t, p, "ward.tif", 5*time.Minute)
	if b.State != storage.StateDone || b.Pages != len(truth.Pages) {
		t.Fatalf("batch %s, %d/%d pages (truth %d): %s", b.State, b.PagesDone, b.Pages, len(truth.Pages), b.Reason)
	}
	pages, err := p.DB.Pages(context.Background(), b.ID)
	testenv.Must(t, err, "pages")
	rotated, blank := 0, 0
	for i, pt := range truth.Pages {
		pg := pages[i]
		if pt.Blank != pg.Blank {
			t.Errorf("page %d: blank %v, truth %v", i+1, pg.Blank, pt.Blank)
		}
		if pt.Blank {
			blank++
			continue
		}
		if pg.Rotation != pt.Rotation {
			t.Errorf("page %d: rotation %d, truth %d", i+1, pg.Rotation, pt.Rotation)
		}
		if pt.Rotation != 0 {
			rotated++
		}
		// Both say how far the upright page had to be turned clockwise.
		if d := pg.Skew - pt.Skew; d > 0.4 || d < -0.4 {
			t.Errorf("page %d: deskewed %.2f degrees, truth %.2f", i+1, pg.Skew, pt.Skew)
		}
		text, _ := p.DB.PageText(context.Background(), b.ID, i+1)
		if cer := scangen.CER(pt.Text, text); cer > 0.10 {
			t.Errorf("page %d (rotation %d, skew %.1f, bilevel %v): CER %.1f%%", i+1, pt.Rotation, pt.Skew, pt.Bilevel, cer*100)
		}
	}
	t.Logf("%d pages, %d rotated, %d blank", len(truth.Pages), rotated, blank)
	// Patient data never reaches the logs, even at debug level.
	all := logs.String()
	if !strings.Contains(all, "page done") {
		t.Fatal("no debug log captured; the check below would prove nothing")
	}
	for _, pt := range truth.Pages {
		secrets := []string{pt.Patient, pt.MRN}
		for _, line := range strings.Split(pt.Text, "\n") {
			if len(line) > 12 {
				secrets = append(secrets, line)
			}
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(all, s) {
				t.Errorf("the log contains patient data from page %d: %q", pt.Number, s)
			}
		}
	}
	if rotated == 0 || blank == 0 {
		t.Fatalf("the generated batch should have a rotated and a blank page (seed changed?): %d rotated, %d blank", rotated, blank)
	}
}

// TestWorkerKilledMidBatch kills a worker process with SIGKILL while it is
// OCRing a batch; another worker finishes it with no page lost or done twice.
func TestWorkerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for asynq to recover the killed worker's tasks")
	}
	p := startPipeline(t, harness.Options{NoWorker: true})
	data, _ := generate(t, scangen.Options{Pages: 8, Seed: 8, Format: scangen.FormatPDF, Clean: true, DPI: 200})
	exe, err := os.Executable()
	testenv.Must(t, err, "executable")
	child := exec.Command(exe, "-test.run=^$")
	child.Env = append(os.Environ(), childDB+"="+p.DBURL(), childBucket+"="+p.Objects.Bucket(), childPrefix+"="+p.Prefix)
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	testenv.Must(t, child.Start(), "start child worker")
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	ready := make([]byte, 64)
	n, _ := stdout.Read(ready)
	if !strings.Contains(string(ready[:n]), "ready") {
		t.Fatalf("child worker did not start: %q", ready[:n])
	}
	go io.Copy(io.Discard, stdout)

	testenv.Must(t, p.DropBytes(data, "killed.pdf"), "drop")
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	var b storage.Batch
	for {
		bs, _ := p.DB.ListBatches(ctx, storage.BatchFilter{})
		if len(bs) == 1 {
			b = bs[0]
			if b.PagesDone >= 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child worker did not OCR two pages in time: %+v", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	testenv.Must(t, child.Process.Signal(syscall.SIGKILL), "kill child")
	child.Wait()
	doneAtKill := b.PagesDone
	t.Logf("killed the worker with %d/%d pages done", doneAtKill, b.Pages)
	if doneAtKill == b.Pages {
		t.Fatal("every page was done before the kill; the test proves nothing")
	}

	testenv.Must(t, p.StartWorker(), "start second worker")
	b = wait(t, p, "killed.pdf", 5*time.Minute)
	if b.State != storage.StateDone || b.PagesDone != 8 {
		t.Fatalf("after the kill: %s, %d/8 pages: %s", b.State, b.PagesDone, b.Reason)
	}
	evs, err := p.DB.Events(ctx, b.ID)
	testenv.Must(t, err, "events")
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Event]++
	}
	if counts["split"] != 1 || counts["ocr done"] != 1 || counts["done"] != 1 {
		t.Fatalf("stages ran more than once: %v", counts)
	}
	pdf, err := p.Objects.Get(ctx, b.SearchableKey)
	testenv.Must(t, err, "searchable PDF")
	path := filepath.Join(t.TempDir(), "s.pdf")
	os.WriteFile(path, pdf, 0o600)
	info, _ := exec.Command("pdfinfo", path).Output()
	if !strings.Contains(string(info), "Pages:           8\n") {
		t.Fatalf("searchable PDF after the kill: %s", info)
	}
}

// TestReconcilerRequeuesLostWork empties Redis of a batch's task, as a
// Redis restart without persistence would, and checks the reconciler puts
// the work back so the batch finishes.
func TestReconcilerRequeuesLostWork(t *testing.T) {
	p := startPipeline(t, harness.Options{NoWorker: true})
	data, _ := generate(t, scangen.Options{Pages: 1, Seed: 1, Format: scangen.FormatPNG, Clean: true, DPI: 150})
	testenv.Must(t, p.DropBytes(data, "lost.png"), "drop")
	ctx := context.Background()
	for start := time.Now(); ; {
		bs, _ := p.DB.ListBatches(ctx, storage.BatchFilter{})
		if len(bs) == 1 && bs[0].State == storage.StateQueued {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("batch not queued")
		}
		time.Sleep(50 * time.Millisecond)
	}
	testenv.Must(t, p.Queue.DeleteQueues(), "lose the queued work")
	r := &workers.Reconciler{DB: p.DB, Queue: p.Queue, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Grace: time.Nanosecond}
	n, err := r.Once(ctx)
	testenv.Must(t, err, "reconcile")
	if n != 1 {
		t.Fatalf("reconciler re-queued %d tasks, want 1", n)
	}
	if n, _ := r.Once(ctx); n != 0 {
		t.Fatalf("a second pass re-queued %d more: live tasks must be left alone", n)
	}
	testenv.Must(t, p.StartWorker(), "start worker")
	if b := wait(t, p, "lost.png", 2*time.Minute); b.State != storage.StateDone {
		t.Fatalf("batch %s: %s", b.State, b.Reason)
	}
}

// TestQueueKeysLostFoundBySweep deletes one pipeline queue's keys from
// Redis, the rest of Redis untouched, while a batch waits in it: the
// reconciler's sweep sees that queue's canary gone and queues the work
// again within seconds, not at its next full run.
func TestQueueKeysLostFoundBySweep(t *testing.T) {
	p := startPipeline(t, harness.Options{NoWorker: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Grace and Every far off: only the sweep can find the loss in time.
	r := &workers.Reconciler{DB: p.DB, Queue: p.Queue, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Grace: time.Hour, Every: time.Hour, Sweep: 200 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	data, _ := generate(t, scangen.Options{Pages: 1, Seed: 2, Format: scangen.FormatPNG, Clean: true, DPI: 150})
	testenv.Must(t, p.DropBytes(data, "lostqueue.png"), "drop")
	insp := p.Queue.Inspector()
	split := p.Queue.Names()[0]
	// work lists the split queue's tasks other than the canary.
	work := func() int {
		ts, err := insp.ListPendingTasks(split)
		if err != nil {
			return 0
		}
		n := 0
		for _, tk := range ts {
			if tk.Type != "paperchart:canary" {
				n++
			}
		}
		return n
	}
	for start := time.Now(); work() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatal("batch not queued")
		}
	}
	time.Sleep(time.Second) // the sweep has run a few times
	testenv.Must(t, insp.DeleteQueue(split, true), "delete the split queue's keys")
	lost := time.Now()
	for work() == 0 {
		if time.Since(lost) > 30*time.Second {
			t.Fatal("the lost split task was not queued again within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("lost work queued again %.1f s after its queue's keys went", time.Since(lost).Seconds())
	testenv.Must(t, p.StartWorker(), "start worker")
	if b := wait(t, p, "lostqueue.png", 2*time.Minute); b.State != storage.StateDone {
		t.Fatalf("batch %s: %s", b.State, b.Reason)
	}
}

// TestExhaustedRetriesFailBatch makes a page's task fail every time (its
// source is gone from storage) and checks the batch ends failed with a
// reason a person can read, while the worker keeps running.
func TestExhaustedRetriesFailBatch(t *testing.T) {
	p := startPipeline(t, harness.Options{MaxRetry: 1, NoWorker: true})
	data, _ := generate(t, scangen.Options{Pages: 1, Seed: 2, Format: scangen.FormatPNG, Clean: true, DPI: 150})
	ctx := context.Background()
	testenv.Must(t, p.DropBytes(data, "gone.png"), "drop")
	// Split by hand (the worker is not running yet), then remove the page
	// source from storage.
	var b storage.Batch
	for start := time.Now(); b.State != storage.StateQueued; time.Sleep(50 * time.Millisecond) {
		bs, _ := p.DB.ListBatches(ctx, storage.BatchFilter{})
		if len(bs) == 1 {
			b = bs[0]
		}
		if time.Since(start) > time.Minute {
			t.Fatal("batch not queued")
		}
	}
	srcKey := storage.PageSourceKey(b.ID, 1, ".png")
	testenv.Must(t, p.DB.AddPages(ctx, b.ID, "png", []storage.NewPage{{No: 1, SourceKey: srcKey, Kind: "image"}}), "add pages")
	testenv.Must(t, p.StartWorker(), "start worker")
	b = wait(t, p, "gone.png", 3*time.Minute)
	if b.State != storage.StateFailed {
		t.Fatalf("batch %s, want failed", b.State)
	}
	if !strings.Contains(b.Reason, "page 1") || !strings.Contains(b.Reason, "failed after 2 attempts") {
		t.Fatalf("reason %q does not say which page failed and how often", b.Reason)
	}
	// The worker still runs: a good batch dropped now completes.
	good, _ := generate(t, scangen.Options{Pages: 1, Seed: 3, Format: scangen.FormatPNG, Clean: true, DPI: 150})
	testenv.Must(t, p.DropBytes(good, "good.png"), "drop")
	if b := wait(t, p, "good.png", 2*time.Minute); b.State != storage.StateDone {
		t.Fatalf("good batch after a failure: %s %s", b.State, b.Reason)
	}

	// The cause is fixed and a person retries: the task that gave up is
	// queued again, and the batch completes.
	testenv.Must(t, p.Objects.Put(ctx, srcKey, data, "image/png"), "restore the page source")
	_, err := p.DB.RetryBatch(ctx, b.ID)
	testenv.Must(t, err, "retry")
	b, err = p.DB.Batch(ctx, b.ID)
	testenv.Must(t, err, "batch")
	r := &workers.Reconciler{DB: p.DB, Queue: p.Queue, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if n, err := r.Resume(ctx, b); err != nil || n != 1 {
		t.Fatalf("resume queued %d tasks: %v", n, err)
	}
	if b := wait(t, p, "gone.png", 2*time.Minute); b.State != storage.StateDone {
		t.Fatalf("after retry: %s %s", b.State, b.Reason)
	}
}

// TestBornDigitalHugePage drops a PDF with no scanned image, on a 30 x 30
// inch page: it is rasterized with pdftoppm at a resolution capped to fit
// the pixel limit, and OCR'd.
func TestBornDigitalHugePage(t *testing.T) {
	p := startPipeline(t, harness.Options{})
	lines := []string{"DISCHARGE SUMMARY", "The patient was admitted for observation", "and discharged home in stable condition."}
	testenv.Must(t, p.DropBytes(scangen.BornDigitalPDF(2160, 2160, 60, lines...), "poster.pdf"), "drop")
	b := wait(t, p, "poster.pdf", 3*time.Minute)
	if b.State != storage.StateDone {
		t.Fatalf("batch %s: %s", b.State, b.Reason)
	}
	pages, err := p.DB.Pages(context.Background(), b.ID)
	testenv.Must(t, err, "pages")
	if pages[0].SourceKind != "pdf" || pages[0].DPI >= 300 || pages[0].DPI < 72 {
		t.Errorf("page source %s rendered at %d dpi; want a pdf page rendered below 300 dpi", pages[0].SourceKind, pages[0].DPI)
	}
	text, _ := p.DB.PageText(context.Background(), b.ID, 1)
	if cer := scangen.CER(strings.Join(lines, "\n"), text); cer > 0.05 {
		t.Errorf("text of the born-digital page: CER %.1f%%", cer*100)
	}
}

// TestStreamedPDFBatch runs a PDF the way a big one goes (over
// split.Limits.StreamPDFBytes: inspected by pdfinfo, its pages separated
// by pdfseparate a few at a time): every page is OCR'd once, the
// searchable PDF has every page, and the documents cover them.
func TestStreamedPDFBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("OCRs 5 pages")
	}
	p := startPipeline(t, harness.Options{Limits: split.Limits{StreamPDFBytes: 1}})
	data, truth := generate(t, scangen.Options{Pages: 5, Seed: 31, Format: scangen.FormatPDF, DPI: 200, JPEGQuality: 60, Bilevel: 0.4, MaxSkew: 1})
	testenv.Must(t, p.DropBytes(data, "streamed.pdf"), "drop")
	b := wait(t, p, "streamed.pdf", 6*time.Minute)
	if b.State != storage.StateDone || b.Pages != 5 || b.PagesDone != 5 {
		t.Fatalf("batch %s, %d/%d pages: %s", b.State, b.PagesDone, b.Pages, b.Reason)
	}
	ctx := context.Background()
	for i, pt := range truth.Pages {
		text, err := p.DB.PageText(ctx, b.ID, i+1)
		testenv.Must(t, err, "page text")
		if miss := wordMiss(pt.Text, text); miss > 0.1 {
			t.Errorf("page %d: %.0f%% of the words missed", i+1, miss*100)
		}
	}
	pdf, err := p.Objects.Get(ctx, b.SearchableKey)
	testenv.Must(t, err, "searchable PDF")
	path := filepath.Join(t.TempDir(), "s.pdf")
	testenv.Must(t, os.WriteFile(path, pdf, 0o600), "write")
	info, err := exec.Command("pdfinfo", path).Output()
	testenv.Must(t, err, "pdfinfo")
	if !strings.Contains(string(info), "Pages:           5") {
		t.Errorf("searchable PDF: %s", info)
	}
	docs, err := p.DB.BatchDocuments(ctx, b.ID)
	testenv.Must(t, err, "documents")
	covered := 0
	for _, d := range docs {
		covered += len(d.Pages)
	}
	if covered != 5 {
		t.Errorf("documents cover %d pages, want 5", covered)
	}
}
