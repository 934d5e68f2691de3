package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"paperchart/scangen"
	"paperchart/storage"
)

// The big-batch benchmark runs one PDF of many pages (1,000 by default
// with --big 1000) through the pipeline alone and reports its wall time,
// pages per minute and the worker's peak RSS, overall and in each stage of
// the batch (sampled every 250 ms): the pages must be streamed through
// split, OCR, assembly and filing, never all held in memory at once. The
// goal: at most 400 MiB per worker process.

// bigStage is the worker's peak RSS while the batch was in one state.
type bigStage struct {
	State      string  `json:"state"`
	Seconds    float64 `json:"seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// bigResult is what `bench --big N --json` prints.
type bigResult struct {
	Pages       int        `json:"pages"`
	FileMiB     float64    `json:"file_mib"`
	Seconds     float64    `json:"seconds"` // recorded → done
	PagesPerMin float64    `json:"pages_per_min"`
	CPUSeconds  float64    `json:"cpu_seconds"`
	PeakRSSMiB  float64    `json:"peak_rss_mib"` // the worker's, from the kernel (getrusage)
	Stages      []bigStage `json:"stages"`
	Documents   int        `json:"documents"`
	Load        string     `json:"load_average"`
}

// bigRun generates one PDF of n pages (or takes file) and runs it.
func (b *bencher) bigRun(ctx context.Context, n int, file string, seed uint64, stdout io.Writer, asJSON bool) error {
	if file == "" {
		file = filepath.Join(b.tmp, fmt.Sprintf("big-%d.pdf", n))
		start := time.Now()
		opt := benchOptions(0, n, seed, false, false) // 200 dpi, JPEG and G4 pages, realistic degradations
		if _, err := scangen.WriteFile(ctx, file, opt); err != nil {
			return fmt.Errorf("generate the big batch: %w", err)
		}
		b.progress("generated %d pages at %d dpi in %.0f s", n, opt.DPI, time.Since(start).Seconds())
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	p, w, err := b.startPipeline(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	defer w.stop()
	name := filepath.Base(file)
	if err := p.Drop(file, name); err != nil {
		return err
	}
	b.progress("dropped %s (%.0f MiB; load %s)", name, float64(st.Size())/(1<<20), loadAverage())
	var (
		stages   []bigStage
		batch    storage.Batch
		since    time.Time
		next     = 100
		tick     = time.NewTicker(250 * time.Millisecond)
		deadline = time.Now().Add(time.Duration(n+10) * time.Minute)
	)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.done:
			return fmt.Errorf("worker exited: %w", w.err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the batch did not finish within %d minutes", n+10)
		}
		if batch.ID == 0 {
			bs, err := p.DB.ListBatches(ctx, storage.BatchFilter{Limit: 5})
			if err != nil {
				return err
			}
			i := slices.IndexFunc(bs, func(bt storage.Batch) bool { return bt.Name == name })
			if i < 0 {
				continue
			}
			batch = bs[i]
		} else if batch, err = p.DB.Batch(ctx, batch.ID); err != nil {
			return err
		}
		rss := w.rssMiB()
		if len(stages) == 0 || stages[len(stages)-1].State != batch.State {
			if len(stages) > 0 {
				stages[len(stages)-1].Seconds = time.Since(since).Seconds()
				last := stages[len(stages)-1]
				b.progress("  %-16s %7.1f s, worker peak RSS %4.0f MiB", last.State, last.Seconds, last.PeakRSSMiB)
			}
			stages = append(stages, bigStage{State: batch.State})
			since = time.Now()
		}
		s := &stages[len(stages)-1]
		s.PeakRSSMiB = max(s.PeakRSSMiB, rss)
		for batch.PagesDone >= next && next <= n {
			b.progress("pages %5d  %7.1f s  worker RSS %6.1f MiB  (load %s)", next, time.Since(batch.CreatedAt).Seconds(), rss, loadAverage())
			next += 100
		}
		if batch.Finished() {
			break
		}
	}
	if batch.State != storage.StateDone {
		return fmt.Errorf("batch %d ended %s: %s", batch.ID, batch.State, batch.Reason)
	}
	// The worker writes the settled batch's manifest (every row of it) to
	// the bucket within seconds of done: that counts too.
	stages[len(stages)-1].State = "done (manifest)"
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		stages[len(stages)-1].PeakRSSMiB = max(stages[len(stages)-1].PeakRSSMiB, w.rssMiB())
	}
	stages[len(stages)-1].Seconds = time.Since(since).Seconds()
	cpu, peak, err := w.stop()
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	docs, err := p.DB.BatchDocuments(ctx, batch.ID)
	if err != nil {
		return err
	}
	r := bigResult{Pages: batch.Pages, FileMiB: float64(st.Size()) / (1 << 20), Seconds: batch.FinishedAt.Sub(batch.CreatedAt).Seconds(),
		CPUSeconds: cpu.Seconds(), PeakRSSMiB: peak, Stages: stages, Documents: len(docs), Load: loadAverage()}
	r.PagesPerMin = float64(r.Pages) / r.Seconds * 60
	if asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "\none PDF of %d pages (%.0f MiB): %.0f s (%.1f pages/min), %d documents; worker %.0f CPU-s, peak RSS %.0f MiB (goal ≤ 400; load %s)\n",
		r.Pages, r.FileMiB, r.Seconds, r.PagesPerMin, r.Documents, r.CPUSeconds, r.PeakRSSMiB, r.Load)
	for _, s := range r.Stages {
		fmt.Fprintf(stdout, "  %-16s %7.1f s, worker peak RSS %4.0f MiB\n", s.State, s.Seconds, s.PeakRSSMiB)
	}
	return nil
}
