// Package harness runs the whole pipeline — drop-folder watcher, worker and
// reconciler — in one process, on a database, bucket and queue names of its
// own on the real services, and removes them afterwards. The benchmark and
// the end-to-end tests use it so that they measure and check exactly what
// production runs.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"paperchart/filing"
	"paperchart/ingest"
	"paperchart/split"
	"paperchart/storage"
	"paperchart/workers"
)

// Options configure a pipeline.
type Options struct {
	DatabaseURL string // the server; a database of the pipeline's own is created on it
	Redis       asynq.RedisConnOpt
	Objects     storage.ObjectsConfig // Bucket is replaced by one of the pipeline's own
	Concurrency int
	MaxRetry    int
	StableFor   time.Duration // default 300 ms
	ScanEvery   time.Duration // default 200 ms
	Limits      split.Limits
	Filing      filing.Config // the filing stage's settings (Separator, MRN patterns)
	Log         *slog.Logger
	// NoWorker starts only the watcher; StartWorker adds a worker later.
	NoWorker bool
}

// Pipeline is a running pipeline.
type Pipeline struct {
	DB      *storage.DB
	Objects *storage.Objects
	Queue   *workers.Queue
	// DropDir is the drop folder; Name the unique name used for the
	// database, bucket and queue prefix.
	DropDir string
	Name    string
	Prefix  string
	Bucket  string // the bucket of the pipeline's own

	opt      Options
	dbURL    string
	root     string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errs     chan error
	workerMu sync.Mutex
	stopWork context.CancelFunc
	workDone chan struct{}
	cleanups []func()
}

func randomName(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Start sets up and starts a pipeline.
func Start(ctx context.Context, opt Options) (_ *Pipeline, err error) {
	if opt.StableFor <= 0 {
		opt.StableFor = 300 * time.Millisecond
	}
	if opt.ScanEvery <= 0 {
		opt.ScanEvery = 200 * time.Millisecond
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pipeline{opt: opt, Name: randomName("pc_"), errs: make(chan error, 4)}
	defer func() {
		if err != nil {
			p.runCleanups()
		}
	}()
	p.Prefix = p.Name + ":"
	if p.root, err = os.MkdirTemp("", "paperchart-"+p.Name+"-"); err != nil {
		return nil, fmt.Errorf("make pipeline folder: %w", err)
	}
	p.cleanups = append(p.cleanups, func() { os.RemoveAll(p.root) })
	p.DropDir = filepath.Join(p.root, "drop")

	dbURL, err := storage.CreateDatabase(ctx, opt.DatabaseURL, p.Name)
	if err != nil {
		return nil, err
	}
	p.cleanups = append(p.cleanups, func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		storage.DropDatabase(c, opt.DatabaseURL, p.Name)
	})
	p.dbURL = dbURL
	if p.DB, err = storage.OpenDB(ctx, dbURL); err != nil {
		return nil, err
	}
	p.cleanups = append(p.cleanups, p.DB.Close)
	if _, err := p.DB.Migrate(ctx); err != nil {
		return nil, err
	}
	oc := opt.Objects
	oc.Bucket = "pc-" + p.Name[3:]
	p.Bucket = oc.Bucket
	if p.Objects, err = storage.OpenObjects(ctx, oc); err != nil {
		return nil, err
	}
	if _, err := p.Objects.EnsureBucket(ctx); err != nil {
		return nil, err
	}
	p.cleanups = append(p.cleanups, func() {
		c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		p.Objects.RemoveBucket(c)
	})
	p.Queue = workers.NewQueue(opt.Redis, p.QueueConfig())
	p.cleanups = append(p.cleanups, func() { p.Queue.DeleteQueues(); p.Queue.Close() })

	w, err := ingest.New(ingest.Config{
		Folders:   []ingest.Folder{{Name: "bench", Path: p.DropDir}},
		StableFor: opt.StableFor, ScanEvery: opt.ScanEvery, Limits: opt.Limits,
	}, p.DB, p.Objects, p.Queue, opt.Log.With("role", "watch"))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := w.Run(rctx); err != nil {
			p.errs <- fmt.Errorf("watcher: %w", err)
		}
	}()
	if !opt.NoWorker {
		if err := p.StartWorker(); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// DBURL is the URL of the pipeline's database, for a worker started in
// another process.
func (p *Pipeline) DBURL() string { return p.dbURL }

// QueueConfig is the queue configuration of this pipeline, for a worker
// started elsewhere (another process) to serve it.
func (p *Pipeline) QueueConfig() workers.QueueConfig {
	return workers.QueueConfig{Prefix: p.Prefix, MaxRetry: p.opt.MaxRetry}
}

// StartWorker starts an in-process worker (with its OCR engines), a
// reconciler and a manifest writer.
func (p *Pipeline) StartWorker() error {
	p.workerMu.Lock()
	defer p.workerMu.Unlock()
	if p.stopWork != nil {
		return errors.New("a worker is running already")
	}
	w, err := workers.NewWorker(p.DB, p.Objects, p.Queue, workers.Config{
		Queue: p.QueueConfig(), Concurrency: p.opt.Concurrency, WorkDir: p.root, Limits: p.opt.Limits, Filing: p.opt.Filing,
	}, p.opt.Log.With("role", "worker"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stopWork, p.workDone = cancel, make(chan struct{})
	rec := &workers.Reconciler{DB: p.DB, Queue: p.Queue, Log: p.opt.Log, Grace: 5 * time.Second, Every: 2 * time.Second}
	go rec.Run(ctx)
	mw := &workers.ManifestWriter{DB: p.DB, Objects: p.Objects, Log: p.opt.Log, Every: 500 * time.Millisecond}
	go mw.Run(ctx)
	go func() {
		defer close(p.workDone)
		defer w.Close()
		if err := w.Run(ctx, p.opt.Redis); err != nil {
			p.errs <- fmt.Errorf("worker: %w", err)
		}
	}()
	return nil
}

// StopWorker stops the in-process worker gracefully.
func (p *Pipeline) StopWorker() {
	p.workerMu.Lock()
	defer p.workerMu.Unlock()
	if p.stopWork == nil {
		return
	}
	p.stopWork()
	<-p.workDone
	p.stopWork = nil
}

// Drop puts a copy of the file at src into the drop folder as name, the way
// a scanner should: written beside it under a hidden name, then renamed.
func (p *Pipeline) Drop(src, name string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	return p.DropBytes(data, name)
}

// DropBytes puts data into the drop folder as a file called name.
func (p *Pipeline) DropBytes(data []byte, name string) error {
	tmp := filepath.Join(p.DropDir, ".incoming-"+name)
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return fmt.Errorf("write to drop folder: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(p.DropDir, name)); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

// WaitBatch waits until the newest batch of the file called name is
// finished (done, failed, rejected or duplicate) and returns it.
func (p *Pipeline) WaitBatch(ctx context.Context, name string) (storage.Batch, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		bs, err := p.DB.ListBatches(ctx, storage.BatchFilter{Limit: 1000})
		if err != nil {
			return storage.Batch{}, err
		}
		for _, b := range bs { // newest first
			if b.Name == name {
				if b.Finished() {
					return b, nil
				}
				break
			}
		}
		select {
		case <-ctx.Done():
			return storage.Batch{}, fmt.Errorf("wait for %s: %w", name, ctx.Err())
		case err := <-p.errs:
			return storage.Batch{}, err
		case <-tick.C:
		}
	}
}

// Close stops everything and removes the database, bucket and folders.
func (p *Pipeline) Close() {
	p.StopWorker()
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.runCleanups()
}

func (p *Pipeline) runCleanups() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}
