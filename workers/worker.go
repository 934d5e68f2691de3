package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/hibiken/asynq"

	"paperchart/filing"
	"paperchart/internal/fastjpeg"
	"paperchart/metrics"
	"paperchart/ocr"
	"paperchart/pagesource"
	"paperchart/sheets"
	"paperchart/split"
	"paperchart/storage"
)

// Config sets how a worker runs.
type Config struct {
	Queue QueueConfig
	// Concurrency is how many tasks run at once, each OCR task with its own
	// Tesseract engine. Default: the number of CPU cores.
	Concurrency int
	// Ahead is how many tasks run beyond Concurrency: they download,
	// decode and search their page for barcodes while every engine is
	// busy, then wait for one, so that no core idles while a task waits
	// on the object store or the database. Default 1; negative: none.
	Ahead int
	// ShutdownTimeout is how long a stopping worker waits for running tasks;
	// it must exceed the slowest page, or asynq re-queues a task while its
	// handler still runs. Default 60 s.
	ShutdownTimeout time.Duration
	// WorkDir holds temporary files. Default: the system's.
	WorkDir string
	// DPI is the resolution pages without one are rendered at. Default 300.
	DPI    int
	Limits split.Limits
	OCR    ocr.Options
	// Filing configures the last stage (separator value, MRN patterns,
	// models).
	Filing filing.Config
	// Filer is the last stage, shared with the rest of the process (the
	// web handlers file reviewed documents with it). Nil: NewWorker makes
	// one from Filing.
	Filer *filing.Filer
	// NoBarcodes turns barcode reading off: no cover or separator sheets
	// and no patient labels are recognised. It saves about 65 ms a page.
	NoBarcodes bool
	// Metrics, when set, counts the pages the OCR task finishes and times
	// their OCR and the task.
	Metrics *metrics.Metrics
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = runtime.NumCPU()
	}
	if c.Ahead == 0 {
		c.Ahead = 1
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 60 * time.Second
	}
	if c.WorkDir == "" {
		c.WorkDir = os.TempDir()
	}
	if c.DPI <= 0 {
		c.DPI = 300
	}
	c.Queue = c.Queue.withDefaults()
	if c.Filing.WorkDir == "" {
		c.Filing.WorkDir = c.WorkDir
	}
	if c.Filing.Separator == "" {
		c.Filing.Separator = sheets.DefaultSeparator
	}
	return c
}

// Objects is what the worker reads and writes in the object store;
// *storage.Objects has it.
type Objects interface {
	filing.Objects
	Put(ctx context.Context, key string, data []byte, contentType string) error
	Download(ctx context.Context, key, path string) error
}

// Worker runs paperchart's tasks.
type Worker struct {
	db    *storage.DB
	obj   Objects
	queue *Queue
	cfg   Config
	log   *slog.Logger
	pool  *ocr.Pool
	filer *filing.Filer
}

// NewWorker prepares a worker with one Tesseract engine per concurrent task,
// and the filing stage (cfg.Filer, or one loaded from cfg.Filing). A nil
// log logs nowhere.
func NewWorker(db *storage.DB, obj Objects, queue *Queue, cfg Config, log *slog.Logger) (*Worker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	filer := cfg.Filer
	if filer == nil {
		var err error
		if filer, err = filing.New(db, obj, cfg.Filing, log); err != nil {
			return nil, fmt.Errorf("prepare filing: %w", err)
		}
	}
	pool, err := ocr.NewPool(cfg.Concurrency, cfg.OCR)
	if err != nil {
		return nil, fmt.Errorf("start %d OCR engines: %w", cfg.Concurrency, err)
	}
	return &Worker{db: db, obj: obj, queue: queue, cfg: cfg, log: log, pool: pool, filer: filer}, nil
}

// Close releases the OCR engines.
func (w *Worker) Close() error { return w.pool.Close() }

// Handler routes tasks to their stage.
func (w *Worker) Handler() asynq.Handler {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeSplit, w.handleSplit)
	mux.HandleFunc(TypeOCR, w.handleOCR)
	mux.HandleFunc(TypeAssemble, w.handleAssemble)
	mux.HandleFunc(TypeFile, w.handleFile)
	mux.Use(w.resumed)
	return mux
}

// resumed clears a batch's waiting reason (see handleError) when a retried
// task of it succeeds.
func (w *Worker) resumed(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		err := next.ProcessTask(ctx, t)
		if n, _ := asynq.GetRetryCount(ctx); err == nil && n > 0 {
			if p, perr := decode(t); perr == nil {
				if uerr := w.db.Unhold(ctx, p.Batch); uerr != nil {
					w.log.Warn("could not clear the batch's waiting reason", "batch", p.Batch, "err", uerr)
				}
			}
		}
		return err
	})
}

// Run serves tasks until ctx is done, then shuts down gracefully: no new
// task starts, running ones get ShutdownTimeout to finish.
func (w *Worker) Run(ctx context.Context, redis asynq.RedisConnOpt) error {
	q := w.cfg.Queue
	srv := asynq.NewServer(redis, asynq.Config{
		// Tasks beyond the engines (Ahead) prepare their pages meanwhile.
		Concurrency: w.cfg.Concurrency + max(w.cfg.Ahead, 0),
		// Finishing work already started comes first, so batches complete
		// rather than all advancing slowly.
		Queues: map[string]int{
			q.Prefix + stageFile:     6,
			q.Prefix + stageAssemble: 6,
			q.Prefix + stageOCR:      3,
			q.Prefix + stageSplit:    2,
		},
		// asynq sleeps this long when every queue is empty; its 1 s default
		// delays the first pages after a split and every assembly.
		TaskCheckInterval: 100 * time.Millisecond,
		// How soon a task due for its retry is put back in its queue; asynq's
		// 5 s default adds up to 5 s to every recovery from a failure
		// (a database restart, a full disk).
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           retryDelay,
		ErrorHandler:             asynq.ErrorHandlerFunc(w.handleError),
		ShutdownTimeout:          w.cfg.ShutdownTimeout,
		Logger:                   asynqLogger{w.log},
		LogLevel:                 asynq.WarnLevel,
	})
	if err := srv.Start(w.Handler()); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	w.log.Info("worker started", "concurrency", w.cfg.Concurrency, "ahead", max(w.cfg.Ahead, 0), "queues", q.Prefix+"{split,ocr,assemble,file}")
	<-ctx.Done()
	w.log.Info("worker stopping", "grace", w.cfg.ShutdownTimeout)
	srv.Shutdown()
	return nil
}

func decode(t *asynq.Task) (payload, error) {
	var p payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Batch <= 0 {
		return p, fmt.Errorf("bad %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return p, nil
}

// final reports whether this failure is the task's last: it will not be
// retried.
func final(ctx context.Context, err error) bool {
	if errors.Is(err, asynq.SkipRetry) {
		return true
	}
	n, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= max
}

// handleError runs after every failed attempt. On the last one it marks the
// batch failed with a reason a person can read, so nothing fails silently.
func (w *Worker) handleError(ctx context.Context, t *asynq.Task, err error) {
	p, perr := decode(t)
	if perr != nil {
		w.log.Error("task with bad payload", "type", t.Type())
		return
	}
	retried, _ := asynq.GetRetryCount(ctx)
	last := final(ctx, err)
	w.log.Warn("task failed", "type", t.Type(), "batch", p.Batch, "page", p.Page, "attempt", retried+1, "final", last, "err", err)
	// The task's context may be past its deadline; the database write must
	// still happen.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if !last {
		if errors.Is(err, syscall.ENOSPC) {
			// Nothing is lost (the original and every stored page stay in
			// the bucket): the batch waits, and people see why.
			reason := fmt.Sprintf("waiting for disk space: a worker's disk is full (%s could not write its files); it goes on by itself when there is room", taskWhat(t.Type()))
			if herr := w.db.Hold(dctx, p.Batch, reason); herr != nil {
				w.log.Error("could not record why the batch waits", "batch", p.Batch, "err", herr)
			}
		}
		return
	}
	reason := failureReason(t.Type(), retried, err)
	var ferr error
	switch t.Type() {
	case TypeOCR:
		ferr = w.db.FailPage(dctx, p.Batch, p.Page, reason)
	default:
		_, ferr = w.db.FailBatch(dctx, p.Batch, reason)
	}
	if ferr != nil {
		w.log.Error("could not record failure; the reconciler will find the batch", "batch", p.Batch, "err", ferr)
	}
}

// taskWhat says in plain words what a task does.
func taskWhat(typ string) string {
	switch typ {
	case TypeSplit:
		return "splitting the file into pages"
	case TypeOCR:
		return "reading the page (OCR)"
	case TypeAssemble:
		return "building the searchable PDF"
	case TypeFile:
		return "filing the documents"
	}
	return typ
}

func failureReason(typ string, retried int, err error) string {
	var rej *split.Rejection
	if errors.As(err, &rej) {
		return rej.Reason
	}
	what := taskWhat(typ)
	if errors.Is(err, asynq.SkipRetry) {
		return fmt.Sprintf("%s failed: %v", what, err)
	}
	return fmt.Sprintf("%s failed after %d attempts: %v", what, retried+1, err)
}

func (w *Worker) tempDir(prefix string) (string, func(), error) {
	dir, err := os.MkdirTemp(w.cfg.WorkDir, prefix)
	if err != nil {
		return "", nil, fmt.Errorf("make work folder: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// handleSplit splits a batch's original into page sources, stores them,
// records the pages and queues one OCR task per page.
func (w *Worker) handleSplit(ctx context.Context, t *asynq.Task) error {
	p, err := decode(t)
	if err != nil {
		return err
	}
	b, err := w.db.Batch(ctx, p.Batch)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("batch %d does not exist: %w", p.Batch, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	switch b.State {
	case storage.StateReceived, storage.StateQueued, storage.StateSplitting:
	case storage.StateOCR:
		return w.enqueuePending(ctx, b.ID) // split done before; make sure its pages are queued
	default:
		return nil // finished, or past this stage: nothing to do
	}
	if _, err := w.db.StartSplit(ctx, b.ID); err != nil {
		return err
	}
	start := time.Now()
	dir, cleanup, err := w.tempDir(fmt.Sprintf("split-%d-", b.ID))
	if err != nil {
		return err
	}
	defer cleanup()
	orig := filepath.Join(dir, "original")
	if err := w.obj.Download(ctx, b.OriginalKey, orig); err != nil {
		return fmt.Errorf("batch %d: %w", b.ID, err)
	}
	pagesDir := filepath.Join(dir, "pages")
	if err := os.Mkdir(pagesDir, 0o700); err != nil {
		return fmt.Errorf("batch %d: %w", b.ID, err)
	}
	info, srcs, err := split.Split(ctx, orig, pagesDir, w.cfg.Limits)
	if err != nil {
		return w.splitFailed(ctx, b.ID, err)
	}
	pages := make([]storage.NewPage, 0, len(srcs))
	for _, s := range srcs {
		key := storage.PageSourceKey(b.ID, s.No, filepath.Ext(s.Path))
		if err := w.obj.PutFile(ctx, key, s.Path, "application/octet-stream"); err != nil {
			return fmt.Errorf("batch %d page %d: %w", b.ID, s.No, err)
		}
		pages = append(pages, storage.NewPage{No: s.No, SourceKey: key, Kind: s.Kind, DPI: s.DPI, Rotate: s.Rotate, Width: s.Width, Height: s.Height})
	}
	if err := w.db.AddPages(ctx, b.ID, string(info.Format), pages); err != nil {
		return err
	}
	w.log.Info("batch split", "batch", b.ID, "pages", len(pages), "ms", time.Since(start).Milliseconds())
	return w.enqueuePending(ctx, b.ID)
}

// splitFailed turns a Rejection into a rejected batch (never retried) and
// passes other errors on for retry.
func (w *Worker) splitFailed(ctx context.Context, batch int64, err error) error {
	var rej *split.Rejection
	if !errors.As(err, &rej) {
		return fmt.Errorf("batch %d: %w", batch, err)
	}
	if _, derr := w.db.Reject(ctx, batch, rej.Code, rej.Reason); derr != nil {
		return derr
	}
	w.log.Warn("batch rejected by split", "batch", batch, "code", rej.Code)
	return nil
}

func (w *Worker) enqueuePending(ctx context.Context, batch int64) error {
	nos, err := w.db.PendingPages(ctx, batch)
	if err != nil {
		return err
	}
	for _, no := range nos {
		if err := w.queue.EnqueueOCR(ctx, batch, no); err != nil {
			return err
		}
	}
	if len(nos) == 0 {
		joined, err := w.db.JoinIfDone(ctx, batch)
		if err != nil {
			return err
		}
		if joined {
			return w.queue.EnqueueAssemble(ctx, batch)
		}
	}
	return nil
}

// handleOCR renders one page, corrects its orientation and skew, OCRs it,
// stores the normalised image and the result, and joins the batch when it
// was the last page.
func (w *Worker) handleOCR(ctx context.Context, t *asynq.Task) error {
	p, err := decode(t)
	if err != nil {
		return err
	}
	pg, err := w.db.Page(ctx, p.Batch, p.Page)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("page %d of batch %d does not exist: %w", p.Page, p.Batch, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if pg.State == storage.PageDone {
		return nil // a re-delivered task: the work is done
	}
	b, err := w.db.Batch(ctx, p.Batch)
	if err != nil {
		return err
	}
	if b.State != storage.StateOCR {
		return nil // the batch failed or was rejected meanwhile; `batches retry` resumes it
	}
	dir, cleanup, err := w.tempDir(fmt.Sprintf("ocr-%d-%d-", p.Batch, p.Page))
	if err != nil {
		return err
	}
	defer cleanup()
	t0 := time.Now()
	srcKey, err := storage.ParseKey(pg.SourceKey)
	if err != nil || srcKey.Kind != storage.KeyPageSource {
		return fmt.Errorf("page %d of batch %d: the source key is not a page source's: %w", p.Page, p.Batch, asynq.SkipRetry)
	}
	src := filepath.Join(dir, "page"+srcKey.Ext)
	if err := w.obj.Download(ctx, pg.SourceKey, src); err != nil {
		return fmt.Errorf("page %d of batch %d: %w", p.Page, p.Batch, err)
	}
	img, dpi, err := split.Render(ctx, PageSource(pg, src, w.cfg.Limits), w.cfg.DPI)
	if err != nil {
		if _, ok := split.IsRejection(err); ok {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return fmt.Errorf("render page %d of batch %d: %w", p.Page, p.Batch, err)
	}
	t1 := time.Now()
	var codes []sheets.Code
	if !w.cfg.NoBarcodes {
		if codes, err = sheets.Detect(ctx, img); err != nil {
			return fmt.Errorf("read barcodes of page %d of batch %d: %w", p.Page, p.Batch, err)
		}
		if sheet, ok := sheets.Classify(codes, w.cfg.Filing.Separator); ok {
			err := w.completeSheet(ctx, p.Batch, p.Page, img, dpi, sheet, codes)
			if err == nil {
				w.cfg.Metrics.ObservePage(metrics.OutcomeSheet, 0)
				w.cfg.Metrics.ObserveStage("ocr", time.Since(t0))
			}
			return err
		}
	}
	eng, err := w.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	t2 := time.Now()
	res, norm, err := eng.Recognize(ctx, img, dpi)
	w.pool.Release(eng)
	if err != nil {
		return fmt.Errorf("OCR page %d of batch %d: %w", p.Page, p.Batch, err)
	}
	t3 := time.Now()
	imgKey, ocrKey, err := w.storePage(ctx, p.Batch, p.Page, norm, res)
	if err != nil {
		return err
	}
	t4 := time.Now()
	joined, err := w.db.CompletePage(ctx, storage.PageResult{
		BatchID: p.Batch, No: p.Page, ImageKey: imgKey, OCRKey: ocrKey, Text: res.Text, WordCount: len(res.Words),
		MeanConf: res.MeanConfidence, Rotation: res.Rotation, Skew: res.Skew, Blank: res.Blank, OSDUsed: res.OSDUsed,
		DPI: res.DPI, Width: res.Width, Height: res.Height, OCRMillis: int(res.Duration.Milliseconds()),
		Barcodes: barcodes(codes),
	})
	if err != nil {
		return err
	}
	outcome := metrics.OutcomeText
	if res.Blank {
		outcome = metrics.OutcomeBlank
	}
	w.cfg.Metrics.ObservePage(outcome, res.Duration)
	w.cfg.Metrics.ObserveStage("ocr", time.Since(t0))
	w.log.Debug("page done", "batch", p.Batch, "page", p.Page, "words", len(res.Words), "conf", int(res.MeanConfidence),
		"rotation", res.Rotation, "fetch_render_ms", t1.Sub(t0).Milliseconds(), "wait_engine_ms", t2.Sub(t1).Milliseconds(),
		"ocr_ms", t3.Sub(t2).Milliseconds(), "store_ms", t4.Sub(t3).Milliseconds(), "record_ms", time.Since(t4).Milliseconds())
	if joined {
		return w.queue.EnqueueAssemble(ctx, p.Batch)
	}
	return nil
}

// barcodes converts detected codes for storage.
func barcodes(codes []sheets.Code) []storage.Barcode {
	out := make([]storage.Barcode, len(codes))
	for i, c := range codes {
		out[i] = storage.Barcode{Format: string(c.Format), Text: c.Text}
	}
	return out
}

// completeSheet records a cover or separator sheet: it is not OCR'd, and
// its image is kept as scanned (for the batch's PDF and for people).
func (w *Worker) completeSheet(ctx context.Context, batch int64, page int, img image.Image, dpi int, sheet sheets.Sheet, codes []sheets.Code) error {
	b := img.Bounds()
	res := ocr.Result{DPI: dpi, Width: b.Dx(), Height: b.Dy()}
	imgKey, ocrKey, err := w.storePage(ctx, batch, page, img, res)
	if err != nil {
		return err
	}
	kind := storage.PageKindSeparator
	if sheet.Kind == sheets.Cover {
		kind = storage.PageKindCover
	}
	joined, err := w.db.CompletePage(ctx, storage.PageResult{
		BatchID: batch, No: page, ImageKey: imgKey, OCRKey: ocrKey, DPI: dpi, Width: b.Dx(), Height: b.Dy(),
		Kind: kind, Barcodes: barcodes(codes),
	})
	if err != nil {
		return err
	}
	w.log.Debug("sheet page", "batch", batch, "page", page, "kind", kind)
	if joined {
		return w.queue.EnqueueAssemble(ctx, batch)
	}
	return nil
}

// PageSource rebuilds the split stage's description of a page from its
// stored row, with the page's source downloaded to path.
func PageSource(pg storage.Page, path string, lim split.Limits) split.PageSource {
	return split.PageSource{No: pg.No, Path: path, Kind: pg.SourceKind, DPI: pg.SourceDPI, Rotate: pg.SourceRotate,
		Width: pg.SourceWidth, Height: pg.SourceHeight, Limits: lim}
}

// pageJPEGQuality keeps scanned text crisp for people and for the
// searchable PDF while a 300-dpi page stays a few hundred kilobytes.
const pageJPEGQuality = 80

func encodePage(img image.Image, dpi int) ([]byte, error) {
	if g, ok := img.(*image.Gray); ok {
		return fastjpeg.Encode(g, pageJPEGQuality, dpi)
	}
	var buf bytes.Buffer
	err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: pageJPEGQuality})
	return buf.Bytes(), err
}

func (w *Worker) storePage(ctx context.Context, batch int64, page int, img image.Image, res ocr.Result) (string, string, error) {
	data, err := encodePage(img, res.DPI)
	if err != nil {
		return "", "", fmt.Errorf("encode page %d of batch %d: %w", page, batch, err)
	}
	imgKey := storage.PageImageKey(batch, page)
	if err := w.obj.Put(ctx, imgKey, data, "image/jpeg"); err != nil {
		return "", "", err
	}
	js, err := json.Marshal(res)
	if err != nil {
		return "", "", fmt.Errorf("encode OCR result of page %d of batch %d: %w", page, batch, err)
	}
	ocrKey := storage.PageOCRKey(batch, page)
	if err := w.obj.Put(ctx, ocrKey, js, "application/json"); err != nil {
		return "", "", err
	}
	return imgKey, ocrKey, nil
}

// handleAssemble builds the batch's searchable PDF from the stored page
// images and OCR results, stores it, and files the batch's documents from
// the same pages, fetched once. When filing fails here, it is queued as its
// own task (which reads the pages again), so that assembly is not redone.
func (w *Worker) handleAssemble(ctx context.Context, t *asynq.Task) error {
	p, err := decode(t)
	if err != nil {
		return err
	}
	b, err := w.db.Batch(ctx, p.Batch)
	if err != nil {
		return err
	}
	switch b.State {
	case storage.StateAssembling:
	case storage.StateFiling:
		return w.queue.EnqueueFile(ctx, b.ID) // assembled before; make sure filing is queued
	default:
		return nil
	}
	start := time.Now()
	rows, err := w.db.Pages(ctx, b.ID)
	if err != nil {
		return err
	}
	dir, cleanup, err := w.tempDir(fmt.Sprintf("assemble-%d-", b.ID))
	if err != nil {
		return err
	}
	defer cleanup()
	// The pages are kept on local disk, fetched once for the batch's PDF
	// and its documents', and read one at a time.
	pages, err := pagesource.Load(ctx, w.obj, b.ID, rows, dir)
	if err != nil {
		return err
	}
	defer pages.Close()
	path := filepath.Join(dir, "searchable.pdf")
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("batch %d: %w", b.ID, err)
	}
	if err := pages.WritePDF(ctx, f, pages.Nos()); err != nil {
		f.Close()
		return fmt.Errorf("batch %d: build searchable PDF: %w", b.ID, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("batch %d: %w", b.ID, err)
	}
	key := storage.SearchableKey(b.ID)
	if err := w.obj.PutFile(ctx, key, path, "application/pdf"); err != nil {
		return err
	}
	if _, err := w.db.Assembled(ctx, b.ID, key); err != nil {
		return err
	}
	w.log.Info("batch assembled", "batch", b.ID, "pages", len(rows), "assemble_ms", time.Since(start).Milliseconds())
	if _, err := w.filer.FileLoaded(ctx, pages); err != nil {
		w.log.Warn("filing after assembly failed; queued as its own task", "batch", b.ID, "err", err)
		return w.queue.EnqueueFile(ctx, b.ID)
	}
	return nil
}

// handleFile cuts the batch into documents and files them (package
// filing), then finishes the batch.
func (w *Worker) handleFile(ctx context.Context, t *asynq.Task) error {
	p, err := decode(t)
	if err != nil {
		return err
	}
	_, err = w.filer.FileBatch(ctx, p.Batch)
	return err
}

// asynqLogger sends asynq's own messages to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
	os.Exit(1)
}
