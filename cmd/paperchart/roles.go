package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"paperchart/metrics"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"paperchart/filing"
	"paperchart/ingest"
	"paperchart/notify"
	"paperchart/storage"
	"paperchart/workers"
)

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("migrate", "[flags]", "Creates or updates the database schema and creates the bucket (with object lock\nwhere the server supports it). Safe to run again; every role also migrates at start.")
	c.register(fs, useDB|useS3)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return migrate(ctx, &c, stdout)
}

func migrate(ctx context.Context, c *config, out io.Writer) error {
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	did, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, m := range did {
		fmt.Fprintf(out, "applied %s\n", m)
	}
	objs, err := c.openObjects(ctx)
	if err != nil {
		return err
	}
	locked, err := objs.EnsureBucket(ctx)
	if err != nil {
		return err
	}
	lock := "without object lock: originals are not protected from deletion by the server"
	if locked {
		lock = fmt.Sprintf("with object lock: originals kept %d days in governance mode", c.RetentionDays)
	}
	fmt.Fprintf(out, "database up to date; bucket %s ready %s\n", c.S3Bucket, lock)
	return nil
}

// services holds the connections a role opened, and the one filing stage
// of the process (filer).
type services struct {
	db    *storage.DB
	objs  *storage.Objects
	queue *workers.Queue

	filerMu sync.Mutex
	filer   *filing.Filer

	metricsOnce sync.Once
	metrics     *metrics.Metrics

	manifestsOnce sync.Once
}

// writeManifests keeps the batch manifests in the bucket up to date until
// ctx ends (workers.ManifestWriter). The worker and serve roles both change
// batches' rows, so both run it; in `paperchart all` it runs once.
func (s *services) writeManifests(ctx context.Context, log *slog.Logger) error {
	run := false
	s.manifestsOnce.Do(func() { run = true })
	if !run {
		return nil
	}
	m := &workers.ManifestWriter{DB: s.db, Objects: s.objs, Log: log.With("component", "manifests")}
	return m.Run(ctx)
}

// registry returns the process's Prometheus metrics, made on first use
// with a collector of the database's and queues' state: `paperchart all`
// serves the worker's page and OCR figures beside it at /metrics.
func (s *services) registry() *metrics.Metrics {
	s.metricsOnce.Do(func() {
		s.metrics = metrics.New()
		st := &metrics.State{}
		if s.db != nil {
			st.Pool = s.db.Pool()
		}
		if s.queue != nil {
			st.Inspector, st.Queues = s.queue.Inspector(), s.queue.Names()
		}
		if st.Pool != nil {
			_ = s.metrics.Register(st) // a fresh registry: cannot collide
		}
	})
	return s.metrics
}

// filing returns the process's filing stage, made on first use: the worker
// (which files batches) and the web handlers (which file reviewed documents
// and apply edits) of `paperchart all` share it, and its classifier is
// loaded once.
func (s *services) filing(c *config, log *slog.Logger) (*filing.Filer, error) {
	s.filerMu.Lock()
	defer s.filerMu.Unlock()
	if s.filer == nil {
		f, err := filing.New(s.db, s.objs, c.filingConfig(), log)
		if err != nil {
			return nil, fmt.Errorf("prepare filing: %w", err)
		}
		s.filer = f
	}
	return s.filer, nil
}

func (s *services) close() {
	if s.queue != nil {
		s.queue.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

func open(ctx context.Context, c *config, groups int) (*services, error) {
	s := &services{}
	var err error
	if groups&useDB != 0 {
		if s.db, err = c.openDB(ctx); err != nil {
			return nil, err
		}
		if _, err := s.db.Migrate(ctx); err != nil {
			s.close()
			return nil, err
		}
	}
	if groups&useS3 != 0 {
		if s.objs, err = c.openObjects(ctx); err != nil {
			s.close()
			return nil, err
		}
		if _, err := s.objs.EnsureBucket(ctx); err != nil {
			s.close()
			return nil, err
		}
	}
	if groups&useRedis != 0 {
		s.queue = c.queue()
		if err := s.queue.Ping(ctx); err != nil {
			s.close()
			return nil, fmt.Errorf("%w (is Redis running at %s?)", err, c.redisWhere())
		}
	}
	return s, nil
}

func runWatch(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("watch", "[flags]", "Watches the drop folders. A file is taken when its size and modification time stay\nunchanged for --stable-for; its original is stored and checked, its batch recorded and\nqueued, and only then is it moved to processed/ (or rejected/, with a .reason.txt).")
	c.register(fs, useDB|useRedis|useS3|useDrop|useHealth)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger().With("role", "watch")
	s, err := open(ctx, &c, useDB|useRedis|useS3)
	if err != nil {
		return err
	}
	defer s.close()
	return withHealth(ctx, c.HealthAddr, s, log, func(ctx context.Context) error { return watch(ctx, &c, s, log) })
}

func watch(ctx context.Context, c *config, s *services, log *slog.Logger) error {
	folders, err := c.folders()
	if err != nil {
		return err
	}
	w, err := ingest.New(ingest.Config{Folders: folders, StableFor: c.StableFor, ScanEvery: c.ScanEvery, Retention: c.KeepProcessed},
		s.db, s.objs, s.queue, log)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

func runWorker(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("worker", "[flags]", "Processes queued work: splits batches into pages, reads each page (barcodes, then\nOCR with one Tesseract engine per concurrent task), assembles each batch's searchable PDF,\nand files its documents (separation, type, patient) or puts them in the review queue. Also runs the reconciler,\nwhich re-queues work the database says is unfinished but Redis no longer holds (at once when\nRedis lost its data), and tasks a dead worker left running (about 10 s after it died), and writes\neach settled batch's manifest to the bucket (what `paperchart rebuild` recreates the database from).\nRun one per machine; they share the work through Redis.")
	c.register(fs, useDB|useRedis|useS3|useWorker|useFiling|useHealth)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger().With("role", "worker")
	s, err := open(ctx, &c, useDB|useRedis|useS3)
	if err != nil {
		return err
	}
	defer s.close()
	return withHealth(ctx, c.HealthAddr, s, log, func(ctx context.Context) error { return work(ctx, &c, s, log) })
}

func work(ctx context.Context, c *config, s *services, log *slog.Logger) error {
	if c.WebhookURL != "" && len(c.WebhookSecret) < 16 {
		return errors.New("--webhook-url needs --webhook-secret of at least 16 characters, to sign the notices")
	}
	wc := c.workerConfig()
	wc.Metrics = s.registry()
	var err error
	if wc.Filer, err = s.filing(c, log); err != nil {
		return err
	}
	w, err := workers.NewWorker(s.db, s.objs, s.queue, wc, log)
	if err != nil {
		return err
	}
	defer w.Close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Run(ctx, c.redis()) })
	g.Go(func() error { return s.writeManifests(ctx, log) })
	g.Go(func() error {
		r := &workers.Reconciler{DB: s.db, Queue: s.queue, Log: log.With("component", "reconciler")}
		return r.Run(ctx)
	})
	if c.WebhookURL != "" {
		g.Go(func() error {
			n := &notify.Sender{Pool: s.db.Pool(), URL: c.WebhookURL, Secret: []byte(c.WebhookSecret), FHIRBase: c.FHIRBase,
				Log: log.With("component", "webhooks")}
			return n.Run(ctx)
		})
	}
	return g.Wait()
}

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	var a anchorConfig
	fs := newFlags("serve", "[flags]", "Serves the HTTP API: health, batches, and the review queue (see README.md, HTTP API).\n"+
		"Also anchors the audit chain in the object store every --audit-anchor-every, and writes the batch\n"+
		"manifests that review changes (what `paperchart rebuild` recreates the database from).")
	c.register(fs, useDB|useRedis|useS3|useHTTP|useFiling)
	a.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger().With("role", "serve")
	s, err := open(ctx, &c, useDB|useRedis|useS3)
	if err != nil {
		return err
	}
	defer s.close()
	return serve(ctx, &c, a, s, log)
}

// serve serves HTTP, and anchors the audit chain beside it, until ctx ends.
func serve(ctx context.Context, c *config, a anchorConfig, s *services, log *slog.Logger) error {
	h, err := webHandler(c, s, log)
	if err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTPAddr, err)
	}
	log.Info("serving HTTP", "addr", ln.Addr().String(), "tls", c.TLSCert != "")
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		runAnchorer(ctx, a, c, s, log.With("component", "audit-anchor"))
		return nil
	})
	g.Go(func() error { return s.writeManifests(ctx, log) })
	g.Go(func() error { return serveOn(ctx, ln, h, c.TLSCert, c.TLSKey) })
	return g.Wait()
}

// newHTTPServer is the HTTP server of h, with timeouts so that slow or idle
// clients cannot hold connections: 10 s to send the headers, a minute for
// the whole request, two minutes to send an answer (a document's PDF), two
// minutes idle between requests.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// serveOn serves h on ln until ctx is done, over TLS when a certificate is
// given, then stops gracefully.
func serveOn(ctx context.Context, ln net.Listener, h http.Handler, certFile, keyFile string) error {
	srv := newHTTPServer(h)
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop HTTP server: %w", err)
	}
	return nil
}

func runAll(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	var h hl7Config
	var a anchorConfig
	fs := newFlags("all", "[flags]", "Runs every role in one process: watch, worker, serve (with the audit anchors) and hl7.\nThe single-machine default.")
	c.register(fs, useDB|useRedis|useS3|useDrop|useHTTP|useWorker|useFiling)
	a.register(fs, true)
	h.register(fs, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	speakHL7 := h.Addr != "" || h.MDMEndpoint != ""
	if speakHL7 {
		if err := h.check(&c); err != nil {
			return err
		}
	}
	log := c.logger()
	s, err := open(ctx, &c, useDB|useRedis|useS3)
	if err != nil {
		return err
	}
	defer s.close()
	// One filing stage for the worker and the web handlers.
	if _, err := s.filing(&c, log.With("component", "filing")); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return work(ctx, &c, s, log.With("role", "worker")) })
	g.Go(func() error { return watch(ctx, &c, s, log.With("role", "watch")) })
	g.Go(func() error { return serve(ctx, &c, a, s, log.With("role", "serve")) })
	if speakHL7 {
		g.Go(func() error { return runHL7Services(ctx, &h, c.FHIRBase, s.db.Pool(), log.With("role", "hl7")) })
	}
	return g.Wait()
}
