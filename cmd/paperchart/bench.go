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
	"slices"
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
	// Where the time went: the OCR stage's own time per page (render
	// excluded) against the CLI's per page, summed.
	// Wall time of each stage, from the batch's history.
	StageSeconds       map[string]float64 `json:"stage_seconds"`
	PipelineOCRSeconds float64            `json:"pipeline_ocr_seconds"`
	CLIPageSeconds     float64            `json:"cli_page_seconds"`
	PageList           []benchPage        `json:"page_list"`
}

type benchPage struct {
	No       int     `json:"page"`
	OCRms    int     `json:"ocr_ms"`
	CLIms    int     `json:"cli_ms"`
	Words    int     `json:"words"`
	Blank    bool    `json:"blank"`
	OSD      bool    `json:"osd"`
	Rotation int     `json:"rotation"`
	Skew     float64 `json:"skew"`
	DPI      int     `json:"dpi"`
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("bench", "[flags]", "Measures pages per minute of the whole pipeline (ingest, split, OCR, searchable PDF, storage)\n"+
		"on a generated batch, and in the same run of the tesseract CLI alone on the same page images with\n"+
		"the same number of cores. It works in a database, bucket and queues of its own, removed after.\n"+
		"Needs the services running (make run or deploy/setup.sh).")
	c.register(fs, useDB|useRedis|useS3|useWorker)
	pages := fs.Int("pages", 20, "pages in the generated batch")
	seed := fs.Uint64("seed", 1, "generator seed of the first round; round i uses seed+i")
	rounds := fs.Int("rounds", 3, "rounds of pipeline then CLI, each on a new batch; the median ratio is reported")
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
	p, err := harness.Start(ctx, harness.Options{
		DatabaseURL: c.DatabaseURL, Redis: c.redis(),
		Objects:     storage.ObjectsConfig{Endpoint: c.S3Endpoint, AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, UseTLS: c.S3TLS},
		Concurrency: c.Concurrency, Log: log.With("bench", true),
	})
	if err != nil {
		return fmt.Errorf("start pipeline: %w", err)
	}
	defer p.Close()

	var results []benchResult
	for i := range max(*rounds, 1) {
		progress("\nround %d of %d", i+1, max(*rounds, 1))
		res, err := benchRound(ctx, p, &c, *pages, *seed+uint64(i), *clean, tmp, progress)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	ratios := make([]float64, len(results))
	for i, r := range results {
		ratios[i] = r.Ratio
	}
	slices.Sort(ratios)
	median := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		median = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			MedianRatio float64       `json:"median_ratio"`
			Rounds      []benchResult `json:"rounds"`
		}{median, results})
	}
	fmt.Fprintf(stdout, "\n%-6s %6s %12s %12s %7s %9s\n", "round", "pages", "pipeline/min", "CLI/min", "ratio", "mean CER")
	for i, r := range results {
		fmt.Fprintf(stdout, "%-6d %6d %12.1f %12.1f %7.2f %8.2f%%\n", i+1, r.Pages, r.PipelinePagesPerMin, r.CLIPagesPerMin, r.Ratio, r.MeanCER*100)
	}
	fmt.Fprintf(stdout, "median ratio pipeline/CLI: %.2f (%d workers; pipeline timed from ingest taking the file to the batch done)\n", median, c.Concurrency)
	return nil
}

// benchRound generates a batch, runs it through the pipeline, then runs the
// tesseract CLI on the same page images.
func benchRound(ctx context.Context, p *harness.Pipeline, c *config, pages int, seed uint64, clean bool, tmp string,
	progress func(string, ...any)) (benchResult, error) {
	name := fmt.Sprintf("bench-%d.pdf", seed)
	opt := scangen.DefaultOptions()
	if clean {
		opt = scangen.Options{Clean: true}
	}
	opt.Pages, opt.Seed, opt.Format = pages, seed, scangen.FormatPDF
	batchPath := filepath.Join(tmp, name)
	truth, err := scangen.WriteFile(ctx, batchPath, opt)
	if err != nil {
		return benchResult{}, fmt.Errorf("generate batch: %w", err)
	}
	progress("generated %d pages (seed %d, clean %v)", len(truth.Pages), seed, clean)

	progress("pipeline: %d workers; dropping the batch", c.Concurrency)
	dropped := time.Now()
	if err := p.Drop(batchPath, name); err != nil {
		return benchResult{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(len(truth.Pages))*time.Minute)
	defer cancel()
	b, err := p.WaitBatch(wctx, name)
	if err != nil {
		return benchResult{}, err
	}
	if b.State != storage.StateDone {
		return benchResult{}, fmt.Errorf("batch %d ended %s: %s", b.ID, b.State, b.Reason)
	}
	res := benchResult{Pages: b.Pages, Concurrency: c.Concurrency, Seed: seed, Clean: clean}
	res.PipelineSeconds = b.FinishedAt.Sub(b.CreatedAt).Seconds()
	res.DropToDoneSeconds = time.Since(dropped).Seconds()
	res.PipelinePagesPerMin = float64(b.Pages) / res.PipelineSeconds * 60
	progress("pipeline: %d pages in %.1f s = %.1f pages/min", b.Pages, res.PipelineSeconds, res.PipelinePagesPerMin)

	evs, err := p.DB.Events(ctx, b.ID)
	if err != nil {
		return benchResult{}, err
	}
	res.StageSeconds = map[string]float64{}
	prev := b.CreatedAt
	for _, e := range evs {
		switch e.Event {
		case "split", "ocr done", "assembled", "done":
			res.StageSeconds["to "+e.Event] = e.At.Sub(prev).Seconds()
			prev = e.At
		}
	}
	progress("stages: ingest to split %.2f s, split to all pages OCR'd %.2f s, to searchable PDF %.2f s, to documents filed %.2f s",
		res.StageSeconds["to split"], res.StageSeconds["to ocr done"], res.StageSeconds["to assembled"], res.StageSeconds["to done"])
	stored, err := p.DB.Pages(ctx, b.ID)
	if err != nil {
		return benchResult{}, err
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
			return benchResult{}, err
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
	cliDir := filepath.Join(tmp, fmt.Sprintf("cli-%d", seed))
	if err := os.MkdirAll(cliDir, 0o755); err != nil {
		return benchResult{}, err
	}
	var jobs []cliJob
	for _, pg := range stored {
		src := filepath.Join(cliDir, fmt.Sprintf("%04d.src%s", pg.No, filepath.Ext(pg.SourceKey)))
		if err := p.Objects.Download(ctx, pg.SourceKey, src); err != nil {
			return benchResult{}, err
		}
		img, dpi, err := split.Render(ctx, workers.PageSource(pg, src, split.Limits{}), 300)
		if err != nil {
			return benchResult{}, fmt.Errorf("render page %d for the CLI: %w", pg.No, err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return benchResult{}, err
		}
		path := filepath.Join(cliDir, fmt.Sprintf("%04d.png", pg.No))
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return benchResult{}, err
		}
		jobs = append(jobs, cliJob{png: path, dpi: dpi})
	}
	progress("tesseract CLI: %d pages, %d processes in parallel", len(jobs), c.Concurrency)
	cliTime, perPage, err := runCLI(ctx, jobs, c.Concurrency)
	if err != nil {
		return benchResult{}, err
	}
	for i, pg := range stored {
		bp := benchPage{No: pg.No, OCRms: pg.OCRMillis, CLIms: int(perPage[i].Milliseconds()), Words: pg.WordCount,
			Blank: pg.Blank, OSD: pg.OSDUsed, Rotation: pg.Rotation, Skew: pg.Skew, DPI: pg.DPI}
		res.PageList = append(res.PageList, bp)
		res.PipelineOCRSeconds += float64(pg.OCRMillis) / 1000
		res.CLIPageSeconds += perPage[i].Seconds()
	}
	res.CLISeconds = cliTime.Seconds()
	res.CLIPagesPerMin = float64(len(jobs)) / res.CLISeconds * 60
	res.Ratio = res.PipelinePagesPerMin / res.CLIPagesPerMin
	progress("round: pipeline %.1f pages/min, CLI %.1f pages/min, ratio %.2f; OCR stage %.1f s vs CLI %.1f s summed per page",
		res.PipelinePagesPerMin, res.CLIPagesPerMin, res.Ratio, res.PipelineOCRSeconds, res.CLIPageSeconds)
	return res, nil
}

type cliJob struct {
	png string
	dpi int
}

// runCLI runs `tesseract` on every page with n processes at a time, the way
// a shell script over the CLI would, and returns the wall time and each
// page's time.
func runCLI(ctx context.Context, jobs []cliJob, n int) (time.Duration, []time.Duration, error) {
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	each := make([]time.Duration, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			defer func() { each[i] = time.Since(t0) }()
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
	return time.Since(start), each, firstErr
}
