package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"paperchart/internal/harness"
	"paperchart/scangen"
	"paperchart/split"
	"paperchart/storage"
	"paperchart/workers"
)

// benchResult is what `paperchart bench --json` prints.
type benchResult struct {
	Pages       int    `json:"pages"`
	Concurrency int    `json:"concurrency"`
	Seed        uint64 `json:"seed"`
	Clean       bool   `json:"clean"`
	// Pipeline: from the moment ingest took the file until the batch was
	// done (split, OCR of every page, searchable PDF, all stored).
	PipelineSeconds     float64 `json:"pipeline_seconds"`
	PipelinePagesPerMin float64 `json:"pipeline_pages_per_min"`
	// Latency from the drop, including the drop folder's stability wait.
	DropToDoneSeconds float64 `json:"drop_to_done_seconds"`
	// The tesseract CLI on the same page images, the same number of
	// processes in parallel, OMP_THREAD_LIMIT=1.
	CLISeconds     float64 `json:"cli_seconds"`
	CLIPagesPerMin float64 `json:"cli_pages_per_min"`
	Ratio          float64 `json:"ratio"` // pipeline rate / CLI rate
	// Character error rate of the pipeline's OCR against the generator's
	// ground truth, over the pages that are not blank.
	MeanCER  float64 `json:"mean_cer"`
	MaxCER   float64 `json:"max_cer"`
	OSDPages int     `json:"osd_pages"`
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("bench", "[flags]", "Measures pages per minute of the whole pipeline (ingest, split, OCR, searchable PDF, storage)\n"+
		"on a generated batch, and in the same run of the tesseract CLI alone on the same page images with\n"+
		"the same number of cores. It works in a database, bucket and queues of its own, removed after.\n"+
		"Needs the services running (make run or deploy/setup.sh).")
	c.register(fs, useDB|useRedis|useS3|useWorker)
	pages := fs.Int("pages", 20, "pages in the generated batch")
	seed := fs.Uint64("seed", 1, "generator seed")
	clean := fs.Bool("clean", false, "generate clean 300-dpi pages (no skew, noise, rotation or blank pages)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger()
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}

	tmp, err := os.MkdirTemp("", "paperchart-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opt := scangen.DefaultOptions()
	if *clean {
		opt = scangen.Options{Clean: true}
	}
	opt.Pages, opt.Seed, opt.Format = *pages, *seed, scangen.FormatPDF
	batchPath := filepath.Join(tmp, "bench.pdf")
	truth, err := scangen.WriteFile(ctx, batchPath, opt)
	if err != nil {
		return fmt.Errorf("generate batch: %w", err)
	}
	progress("generated %d pages (seed %d, clean %v)", len(truth.Pages), *seed, *clean)

	p, err := harness.Start(ctx, harness.Options{
		DatabaseURL: c.DatabaseURL, Redis: c.redis(),
		Objects:     storage.ObjectsConfig{Endpoint: c.S3Endpoint, AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, UseTLS: c.S3TLS},
		Concurrency: c.Concurrency, Log: log.With("bench", true),
	})
	if err != nil {
		return fmt.Errorf("start pipeline: %w", err)
	}
	defer p.Close()

	progress("pipeline: %d workers; dropping the batch", c.Concurrency)
	dropped := time.Now()
	if err := p.Drop(batchPath, "bench.pdf"); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(len(truth.Pages))*time.Minute)
	defer cancel()
	b, err := p.WaitBatch(wctx, "bench.pdf")
	if err != nil {
		return err
	}
	if b.State != storage.StateDone {
		return fmt.Errorf("batch %d ended %s: %s", b.ID, b.State, b.Reason)
	}
	res := benchResult{Pages: b.Pages, Concurrency: c.Concurrency, Seed: *seed, Clean: *clean}
	res.PipelineSeconds = b.FinishedAt.Sub(b.CreatedAt).Seconds()
	res.DropToDoneSeconds = time.Since(dropped).Seconds()
	res.PipelinePagesPerMin = float64(b.Pages) / res.PipelineSeconds * 60
	progress("pipeline: %d pages in %.1f s = %.1f pages/min", b.Pages, res.PipelineSeconds, res.PipelinePagesPerMin)

	stored, err := p.DB.Pages(ctx, b.ID)
	if err != nil {
		return err
	}
	n := 0
	for _, pg := range stored {
		if pg.OSDUsed {
			res.OSDPages++
		}
		if pg.No > len(truth.Pages) || truth.Pages[pg.No-1].Blank {
			continue
		}
		text, err := p.DB.PageText(ctx, b.ID, pg.No)
		if err != nil {
			return err
		}
		cer := scangen.CER(truth.Pages[pg.No-1].Text, text)
		res.MeanCER += cer
		res.MaxCER = max(res.MaxCER, cer)
		n++
	}
	if n > 0 {
		res.MeanCER /= float64(n)
	}

	// The CLI gets the same page images the pipeline rendered, as PNG files
	// with their resolution given on the command line.
	cliDir := filepath.Join(tmp, "cli")
	if err := os.MkdirAll(cliDir, 0o755); err != nil {
		return err
	}
	var jobs []cliJob
	for _, pg := range stored {
		src := filepath.Join(cliDir, fmt.Sprintf("%04d.src%s", pg.No, filepath.Ext(pg.SourceKey)))
		if err := p.Objects.Download(ctx, pg.SourceKey, src); err != nil {
			return err
		}
		img, dpi, err := split.Render(ctx, workers.PageSource(pg, src, split.Limits{}), 300)
		if err != nil {
			return fmt.Errorf("render page %d for the CLI: %w", pg.No, err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return err
		}
		path := filepath.Join(cliDir, fmt.Sprintf("%04d.png", pg.No))
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
		jobs = append(jobs, cliJob{png: path, dpi: dpi})
	}
	progress("tesseract CLI: %d pages, %d processes in parallel", len(jobs), c.Concurrency)
	cliTime, err := runCLI(ctx, jobs, c.Concurrency)
	if err != nil {
		return err
	}
	res.CLISeconds = cliTime.Seconds()
	res.CLIPagesPerMin = float64(len(jobs)) / res.CLISeconds * 60
	res.Ratio = res.PipelinePagesPerMin / res.CLIPagesPerMin
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "\n%-32s %8s %10s\n", "", "seconds", "pages/min")
	fmt.Fprintf(stdout, "%-32s %8.1f %10.1f\n", "pipeline (ingest to done)", res.PipelineSeconds, res.PipelinePagesPerMin)
	fmt.Fprintf(stdout, "%-32s %8.1f %10.1f\n", "tesseract CLI (same pages)", res.CLISeconds, res.CLIPagesPerMin)
	fmt.Fprintf(stdout, "ratio pipeline/CLI: %.2f\n", res.Ratio)
	fmt.Fprintf(stdout, "drop to done, with the %s stability wait: %.1f s\n", "300ms", res.DropToDoneSeconds)
	fmt.Fprintf(stdout, "OCR character error rate vs truth: mean %.2f%%, worst page %.2f%% (%d pages needed orientation detection)\n",
		res.MeanCER*100, res.MaxCER*100, res.OSDPages)
	return nil
}

type cliJob struct {
	png string
	dpi int
}

// runCLI runs `tesseract` on every page with n processes at a time, the way
// a shell script over the CLI would, and returns the wall time.
func runCLI(ctx context.Context, jobs []cliJob, n int) (time.Duration, error) {
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cmd := exec.CommandContext(ctx, "tesseract", "--dpi", fmt.Sprint(j.dpi), j.png, j.png[:len(j.png)-4])
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("tesseract %s: %w: %s", filepath.Base(j.png), err, bytes.TrimSpace(out))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return time.Since(start), firstErr
}
