package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"paperchart/ingest"
	"paperchart/internal/harness"
	"paperchart/scangen"
	"paperchart/scangen/sheetprint"
	"paperchart/split"
	"paperchart/storage"
)

// The benchmark pairs the whole pipeline with the tesseract command line
// on the same pages, round after round, alternating which goes first so
// that the machine's drift (other load, caches, heat) falls on both alike.
// The pipeline's worker runs as a child process (`bench --as-worker`), so
// that its CPU time and RSS are its own, as in production.

// benchProfile is how one generated batch was scanned: scanners are set
// once per batch (resolution, JPEG quality), pages vary within it.
type benchProfile struct {
	DPI     int
	Quality int
}

// benchProfiles are the scanner settings the generated batches cycle
// through: letter pages at 200 and 300 dpi, JPEG quality 55 to 85.
var benchProfiles = [...]benchProfile{{200, 55}, {300, 85}, {200, 70}, {300, 62}, {200, 80}, {300, 75}}

// benchOptions are the generator's options for the i-th batch: the
// profile's resolution and quality, a fifth of the pages CCITT G4 bilevel,
// skew up to 1.8 degrees, some pages turned (sideways or upside down), some
// blank, and the generator's noise, specks and blur. Every third batch
// (withSheets) is scanned with cover or separator sheets, which come on top
// of pages.
func benchOptions(i, pages int, seed uint64, clean, withSheets bool) scangen.Options {
	pr := benchProfiles[i%len(benchProfiles)]
	if clean {
		return scangen.Options{Clean: true, Pages: pages, Seed: seed, Format: scangen.FormatPDF, DPI: 300}
	}
	opt := scangen.Options{
		Pages: pages, Seed: seed, Format: scangen.FormatPDF,
		DPI: pr.DPI, JPEGQuality: pr.Quality,
		Bilevel: 0.2, RotateProb: 0.05, BlankProb: 0.05, MaxSkew: 1.8,
	}
	if withSheets && i%3 == 2 {
		opt.Sheets, opt.SheetPrinter = scangen.SheetsMixed, sheetprint.Printer{}
	}
	return opt
}

// benchInput is what every round runs on: the batch files dropped into the
// pipeline, and the same pages rendered as the pipeline renders them, as
// PNG files for the CLI.
type benchInput struct {
	files []string
	truth map[string]scangen.Truth // by file name; generated input only
	pages []cliJob
}

type cliJob struct {
	file string // base name of the batch file
	no   int    // page number in it
	png  string
	dpi  int
}

// side is one run of the pipeline or of the CLI over every page.
type side struct {
	Seconds     float64 `json:"seconds"`
	PagesPerMin float64 `json:"pages_per_min"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"` // of the worker process; for the CLI, of the largest tesseract process
	MeanCER     float64 `json:"mean_cer,omitempty"`
}

// benchRound is one pairing.
type benchRound struct {
	Round     int     `json:"round"`
	Pages     int     `json:"pages"`
	CLIFirst  bool    `json:"cli_first"`
	Pipeline  side    `json:"pipeline"`
	CLI       side    `json:"cli"`
	WallRatio float64 `json:"wall_ratio"` // pipeline seconds / CLI seconds: below 1 the pipeline is faster
	CPURatio  float64 `json:"cpu_ratio"`
	// Order is the order the sides ran in.
	Order []string `json:"order"`
	// OCRmyPDF, with --ocrmypdf: OCRmyPDF as Paperless-ngx runs it on the
	// same batch files, and the pipeline's ratios to it (below 0.25 the
	// pipeline is 4 times as fast).
	OCRmyPDF          *side   `json:"ocrmypdf,omitempty"`
	OCRmyPDFWallRatio float64 `json:"ocrmypdf_wall_ratio,omitempty"`
	OCRmyPDFCPURatio  float64 `json:"ocrmypdf_cpu_ratio,omitempty"`
	OSDPages          int     `json:"osd_pages"`
	BlankPages        int     `json:"blank_pages"`
	SheetPages        int     `json:"sheet_pages"`
	OCRSeconds        float64 `json:"ocr_seconds"` // sum of the pages' ocr_ms
	// StageSeconds: wall time of each stage of the slowest batch.
	StageSeconds map[string]float64 `json:"stage_seconds"`
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "--as-worker" {
		return runBenchWorker(ctx, args[1:])
	}
	var c config
	fs := newFlags("bench", "[flags]", "Measures the whole pipeline (ingest, split, barcodes, OCR, searchable PDF, filing) against the\n"+
		"tesseract CLI alone (OMP_THREAD_LIMIT=1, one process per worker slot) on the same pages, in rounds\n"+
		"that alternate which runs first, and reports the median wall and CPU ratios and each side's peak RSS.\n"+
		"Pages: generated realistic scans (200/300 dpi, JPEG quality 55-85, G4 bilevel, noise, blur, skew,\n"+
		"pages turned and blank), or --input DIR (batch files: PDF, TIFF, JPEG, PNG). --long N instead runs N\n"+
		"pages through the pipeline alone and prints the worker's RSS every 100 pages. --latency times one-page\n"+
		"documents from the drop until the EHR sees them over FHIR, on an idle pipeline. --big N runs one PDF of\n"+
		"N pages and prints its time and the worker's peak RSS in each stage. --ocrmypdf adds OCRmyPDF to each round,\n"+
		"as Paperless-ngx runs it (ocrmypdf --rotate-pages --rotate-pages-threshold 12 -j SLOTS --skip-text --sidecar\n"+
		"--output-type pdf, OMP_THREAD_LIMIT=1, one batch file at a time) on the same batch files, and the ratios\n"+
		"pipeline/OCRmyPDF (goal: 0.25 or less). Measured on the 2-core machine (load 2.0-2.8), 56 default pages,\n"+
		"3 rounds: pipeline/CLI wall 1.19, CPU 1.14 (with --read-dpi 200: 1.03, 0.95, and pipeline/OCRmyPDF wall 0.29,\n"+
		"CPU 0.32).\n"+
		"--ocrmypdf needs Debian's ocrmypdf package.\n"+
		"It works in a database, bucket and queues of its own, removed after. Needs the services running.")
	c.register(fs, useDB|useRedis|useS3|useWorker)
	input := fs.String("input", "", "folder of batch files (PDF, TIFF, JPEG, PNG) to run instead of generated pages")
	pages := fs.Int("pages", 48, "generated content and blank pages per round, in batches of --batch-pages (sheets come on top)")
	batchPages := fs.Int("batch-pages", 12, "pages per generated batch")
	seed := fs.Uint64("seed", 1, "generator seed")
	rounds := fs.Int("rounds", 3, "paired rounds; medians are reported")
	noSheets := fs.Bool("no-sheets", false, "generate no cover or separator sheets (by default every third batch has them)")
	clean := fs.Bool("clean", false, "generate clean 300-dpi pages (no skew, noise, rotation or blank pages)")
	long := fs.Int("long", 0, "long run: this many generated pages through the pipeline alone, RSS every 100 pages")
	latency := fs.Bool("latency", false, "latency: drop one one-page document at a time into an idle pipeline (a warm-up, then --rounds runs)\n"+
		"and time it until the EHR sees it over FHIR; prints drop→visible, the page's OCR time and the overhead")
	stableFor := fs.Duration("stable-for", envDuration("PAPERCHART_STABLE_FOR", ingest.DefaultStableFor),
		"with --latency: the watcher's --stable-for (PAPERCHART_STABLE_FOR)")
	scanEvery := fs.Duration("scan-every", envDuration("PAPERCHART_SCAN_EVERY", ingest.DefaultScanEvery),
		"with --latency: the watcher's --scan-every (PAPERCHART_SCAN_EVERY)")
	big := fs.Int("big", 0, "big batch: one generated PDF of this many pages (200 dpi) through the pipeline alone (or --input FILE.pdf);\n"+
		"prints its wall time, pages/min and the worker's peak RSS, overall and in each stage")
	profile := fs.String("profile", "", "folder for the worker's CPU and heap profiles (pprof), one pair per pipeline run")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	withOCRmyPDF := fs.Bool("ocrmypdf", false, "also run OCRmyPDF in each round as Paperless-ngx runs it, on the same batch files, and report\n"+
		"the ratios pipeline/OCRmyPDF (needs Debian's ocrmypdf package)")
	ocrmypdfFull := fs.Bool("ocrmypdf-paperless", false, "with --ocrmypdf: add the rest of Paperless-ngx's defaults (--deskew, --clean, PDF/A output; needs unpaper)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}
	tmp, err := os.MkdirTemp(c.WorkDir, "paperchart-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *profile != "" {
		if err := os.MkdirAll(*profile, 0o755); err != nil {
			return err
		}
	}
	if *withOCRmyPDF || *ocrmypdfFull {
		if err := checkOCRmyPDF(*ocrmypdfFull); err != nil {
			return err
		}
	}
	b := &bencher{c: &c, tmp: tmp, profile: *profile, progress: progress, ocrmypdfFull: *ocrmypdfFull}
	progress("load average: %s", loadAverage())
	if *latency {
		b.stableFor, b.scanEvery = *stableFor, *scanEvery
		return b.latency(ctx, max(*rounds, 1), *seed, stdout, *asJSON)
	}
	if *big > 0 {
		return b.bigRun(ctx, *big, *input, *seed, stdout, *asJSON)
	}
	if *long > 0 {
		return b.longRun(ctx, *long, *batchPages, *seed, stdout, *asJSON)
	}

	var in benchInput
	if *input != "" {
		in, err = b.readInput(ctx, *input)
	} else {
		in, err = b.generate(ctx, *pages, *batchPages, *seed, *clean, !*noSheets)
	}
	if err != nil {
		return err
	}
	progress("%d pages in %d batch files; rendering them for the CLI done", len(in.pages), len(in.files))

	var results []benchRound
	for i := range max(*rounds, 1) {
		r := benchRound{Round: i + 1, Pages: len(in.pages), Order: benchOrder(i, *withOCRmyPDF || *ocrmypdfFull)}
		r.CLIFirst = slices.Index(r.Order, "CLI") < slices.Index(r.Order, "pipeline")
		progress("\nround %d of %d (%s; load %s)", i+1, max(*rounds, 1), strings.Join(r.Order, ", "), loadAverage())
		for _, turn := range r.Order {
			switch turn {
			case "CLI":
				r.CLI, err = b.runCLI(ctx, in)
				progress("  CLI:      %6.1f s, %5.1f CPU-s, peak RSS %4.0f MiB per process, CER %.2f%%", r.CLI.Seconds, r.CLI.CPUSeconds, r.CLI.PeakRSSMiB, 100*r.CLI.MeanCER)
			case "OCRmyPDF":
				var s side
				s, err = b.runOCRmyPDF(ctx, in)
				r.OCRmyPDF = &s
				progress("  OCRmyPDF: %6.1f s, %5.1f CPU-s, peak RSS %4.0f MiB (largest process), CER %.2f%%", s.Seconds, s.CPUSeconds, s.PeakRSSMiB, 100*s.MeanCER)
			default:
				err = b.runPipeline(ctx, in, &r)
				progress("  pipeline: %6.1f s, %5.1f CPU-s, peak RSS %4.0f MiB (worker), CER %.2f%%; OSD on %d pages, %d blank, %d sheets",
					r.Pipeline.Seconds, r.Pipeline.CPUSeconds, r.Pipeline.PeakRSSMiB, 100*r.Pipeline.MeanCER, r.OSDPages, r.BlankPages, r.SheetPages)
			}
			if err != nil {
				return err
			}
		}
		r.WallRatio = r.Pipeline.Seconds / r.CLI.Seconds
		r.CPURatio = r.Pipeline.CPUSeconds / r.CLI.CPUSeconds
		progress("  ratio pipeline/CLI: wall %.2f, CPU %.2f", r.WallRatio, r.CPURatio)
		if r.OCRmyPDF != nil {
			r.setOCRmyPDFRatios()
			progress("  ratio pipeline/OCRmyPDF: wall %.2f, CPU %.2f", r.OCRmyPDFWallRatio, r.OCRmyPDFCPURatio)
		}
		results = append(results, r)
	}
	if *asJSON {
		return writeJSON(stdout, summarize(results, c.Concurrency, loadAverage()))
	}
	writeBenchTable(stdout, summarize(results, c.Concurrency, loadAverage()))
	return nil
}

// benchOrder is the order of the sides in round i (from 0): the pipeline
// first in even rounds, last in odd ones, so that drift falls on all alike.
func benchOrder(i int, withOCRmyPDF bool) []string {
	o := []string{"pipeline", "CLI"}
	if withOCRmyPDF {
		o = append(o, "OCRmyPDF")
	}
	if i%2 == 1 {
		slices.Reverse(o)
	}
	return o
}

// benchSummary is what the paired benchmark reports.
type benchSummary struct {
	MedianWallRatio float64 `json:"median_wall_ratio"`
	MedianCPURatio  float64 `json:"median_cpu_ratio"`
	*ocrmypdfSummary
	Concurrency int          `json:"concurrency"`
	Load        string       `json:"load_average"`
	Rounds      []benchRound `json:"rounds"`
}

func summarize(rs []benchRound, concurrency int, load string) benchSummary {
	return benchSummary{
		MedianWallRatio: median(rs, func(r benchRound) float64 { return r.WallRatio }),
		MedianCPURatio:  median(rs, func(r benchRound) float64 { return r.CPURatio }),
		ocrmypdfSummary: summarizeOCRmyPDF(rs),
		Concurrency:     concurrency, Load: load, Rounds: rs,
	}
}

// writeBenchTable prints the rounds and the medians.
func writeBenchTable(w io.Writer, s benchSummary) {
	fmt.Fprintf(w, "\n%-6s %6s %10s %10s %10s %10s %10s %10s %9s\n", "round", "pages", "pipe s", "CLI s", "wall ratio", "CPU ratio", "pipe RSS", "CLI RSS", "pipe CER")
	for _, r := range s.Rounds {
		fmt.Fprintf(w, "%-6d %6d %10.1f %10.1f %10.2f %10.2f %7.0f MiB %6.0f MiB %8.2f%%\n", r.Round, r.Pages, r.Pipeline.Seconds, r.CLI.Seconds,
			r.WallRatio, r.CPURatio, r.Pipeline.PeakRSSMiB, r.CLI.PeakRSSMiB, 100*r.Pipeline.MeanCER)
	}
	fmt.Fprintf(w, "median pipeline/CLI: wall %.2f, CPU %.2f (%d worker slots and %d CLI processes at once; load %s)\n",
		s.MedianWallRatio, s.MedianCPURatio, s.Concurrency, s.Concurrency, s.Load)
	if s.ocrmypdfSummary == nil {
		return
	}
	fmt.Fprintf(w, "\n%-6s %10s %10s %12s %12s %10s %10s %12s\n", "round", "pipe s", "OCRmyPDF s", "pipe CPU-s", "OCRmyPDF CPU", "wall ratio", "CPU ratio", "OCRmyPDF CER")
	for _, r := range s.Rounds {
		fmt.Fprintf(w, "%-6d %10.1f %10.1f %12.1f %12.1f %10.2f %10.2f %11.2f%%\n", r.Round, r.Pipeline.Seconds, r.OCRmyPDF.Seconds,
			r.Pipeline.CPUSeconds, r.OCRmyPDF.CPUSeconds, r.OCRmyPDFWallRatio, r.OCRmyPDFCPURatio, 100*r.OCRmyPDF.MeanCER)
	}
	fmt.Fprintf(w, "median pipeline/OCRmyPDF: wall %.2f (%.1f times as fast; goal 0.25), CPU %.2f; OCRmyPDF %.1f s, %.1f CPU-s (-j %d)\n",
		s.MedianOCRmyPDFWallRatio, 1/s.MedianOCRmyPDFWallRatio, s.MedianOCRmyPDFCPURatio, s.MedianOCRmyPDFSeconds, s.MedianOCRmyPDFCPUSeconds, s.Concurrency)
}

func median(rs []benchRound, f func(benchRound) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return medianOf(v)
}

// childUsage is the CPU time and peak RSS (KiB) of a child process that has
// ended; zero when it never ran.
func childUsage(ps *os.ProcessState) (cpu time.Duration, maxRSSKiB int64) {
	if ps == nil {
		return 0, 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		maxRSSKiB = ru.Maxrss
	}
	return ps.UserTime() + ps.SystemTime(), maxRSSKiB
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

type bencher struct {
	c        *config
	tmp      string
	profile  string
	runs     int // pipeline runs so far, to name profiles
	progress func(string, ...any)
	// ocrmypdfFull: run OCRmyPDF with all of Paperless-ngx's defaults.
	ocrmypdfFull bool
	// stableFor and scanEvery are the watcher's settings; zero: the
	// harness's short ones.
	stableFor, scanEvery time.Duration
}

// generate writes the default pages: batches of batchPages pages cycling
// through benchProfiles.
func (b *bencher) generate(ctx context.Context, pages, batchPages int, seed uint64, clean, withSheets bool) (benchInput, error) {
	in := benchInput{truth: map[string]scangen.Truth{}}
	dir := filepath.Join(b.tmp, "batches")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return in, err
	}
	for i := 0; pages > 0; i++ {
		n := min(pages, max(batchPages, 1))
		pages -= n
		opt := benchOptions(i, n, seed+uint64(i), clean, withSheets)
		name := fmt.Sprintf("bench-%d-%ddpi-q%d.pdf", opt.Seed, opt.DPI, opt.JPEGQuality)
		path := filepath.Join(dir, name)
		t, err := scangen.WriteFile(ctx, path, opt)
		if err != nil {
			return in, fmt.Errorf("generate batch: %w", err)
		}
		in.files = append(in.files, path)
		in.truth[name] = t
	}
	return in, b.renderPages(ctx, &in)
}

// readInput takes every batch file in dir.
func (b *bencher) readInput(ctx context.Context, dir string) (benchInput, error) {
	var in benchInput
	ents, err := os.ReadDir(dir)
	if err != nil {
		return in, err
	}
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			if _, err := scangen.FormatFromPath(e.Name()); err == nil {
				in.files = append(in.files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(in.files) == 0 {
		return in, fmt.Errorf("no PDF, TIFF, JPEG or PNG file in %s", dir)
	}
	return in, b.renderPages(ctx, &in)
}

// renderPages splits and renders every page the way the worker does, and
// writes it as PNG for the CLI.
func (b *bencher) renderPages(ctx context.Context, in *benchInput) error {
	for i, f := range in.files {
		dir := filepath.Join(b.tmp, fmt.Sprintf("split-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		_, srcs, err := split.Split(ctx, f, dir, split.Limits{})
		if err != nil {
			return fmt.Errorf("split %s: %w", filepath.Base(f), err)
		}
		for _, s := range srcs {
			img, dpi, err := split.Render(ctx, s, 300)
			if err != nil {
				return fmt.Errorf("render page %d of %s: %w", s.No, filepath.Base(f), err)
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				return err
			}
			path := filepath.Join(dir, fmt.Sprintf("page-%04d.png", s.No))
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				return err
			}
			in.pages = append(in.pages, cliJob{file: filepath.Base(f), no: s.No, png: path, dpi: dpi})
		}
	}
	return nil
}

// runCLI runs `tesseract` on every page, c.Concurrency processes at a time,
// the way a shell script over the CLI would.
func (b *bencher) runCLI(ctx context.Context, in benchInput) (side, error) {
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
	sem := make(chan struct{}, max(b.c.Concurrency, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var cpu time.Duration
	var peak int64
	start := time.Now()
	for _, j := range in.pages {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cmd := exec.CommandContext(ctx, "tesseract", "--dpi", strconv.Itoa(j.dpi), j.png, strings.TrimSuffix(j.png, ".png"))
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("tesseract %s: %w: %s", filepath.Base(j.png), err, bytes.TrimSpace(out))
			}
			c, rss := childUsage(cmd.ProcessState)
			cpu, peak = cpu+c, max(peak, rss)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return side{}, firstErr
	}
	s := side{Seconds: time.Since(start).Seconds(), CPUSeconds: cpu.Seconds(), PeakRSSMiB: float64(peak) / 1024}
	s.PagesPerMin = float64(len(in.pages)) / s.Seconds * 60
	if in.truth != nil {
		var sum float64
		n := 0
		for _, j := range in.pages {
			t := in.truth[j.file]
			if j.no > len(t.Pages) || t.Pages[j.no-1].Blank || t.Pages[j.no-1].Sheet != "" || t.Pages[j.no-1].Text == "" {
				continue
			}
			txt, err := os.ReadFile(strings.TrimSuffix(j.png, ".png") + ".txt")
			if err != nil {
				return side{}, err
			}
			sum += scangen.CER(t.Pages[j.no-1].Text, string(txt))
			n++
		}
		if n > 0 {
			s.MeanCER = sum / float64(n)
		}
	}
	return s, nil
}

// childWorker is a `paperchart bench --as-worker` process serving a
// harness pipeline.
type childWorker struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startWorker starts the child worker and waits until it serves.
func (b *bencher) startWorker(ctx context.Context, p *harness.Pipeline) (*childWorker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"bench", "--as-worker", "--log-level", "info"}
	if b.profile != "" {
		b.runs++
		args = append(args, "--cpuprofile", filepath.Join(b.profile, fmt.Sprintf("cpu-%d.pprof", b.runs)),
			"--heapprofile", filepath.Join(b.profile, fmt.Sprintf("heap-%d.pprof", b.runs)))
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1",
		"PAPERCHART_DATABASE_URL="+p.DBURL(), "PAPERCHART_QUEUE_PREFIX="+p.Prefix, "PAPERCHART_S3_BUCKET="+p.Bucket,
		"PAPERCHART_S3_ENDPOINT="+b.c.S3Endpoint, "PAPERCHART_S3_ACCESS_KEY="+b.c.S3AccessKey, "PAPERCHART_S3_SECRET_KEY="+b.c.S3SecretKey,
		"PAPERCHART_S3_TLS="+strconv.FormatBool(b.c.S3TLS), "PAPERCHART_REDIS_ADDR="+b.c.RedisAddr, "PAPERCHART_REDIS_PASSWORD="+b.c.RedisPassword,
		"PAPERCHART_REDIS_DB="+strconv.Itoa(b.c.RedisDB), "PAPERCHART_CONCURRENCY="+strconv.Itoa(b.c.Concurrency),
		"PAPERCHART_WORK_DIR="+b.tmp, "PAPERCHART_NO_BARCODES="+strconv.FormatBool(b.c.NoBarcodes),
		"PAPERCHART_READ_DPI="+strconv.Itoa(b.c.ReadDPI))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	w := &childWorker{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	var tail []string
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.OnceFunc(func() { close(ready) })
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "worker started") {
				once()
			}
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				tail = append(tail[max(0, len(tail)-9):], line)
			}
		}
		w.err = cmd.Wait()
		if w.err != nil && len(tail) > 0 {
			w.err = fmt.Errorf("%w; last warnings:\n%s", w.err, strings.Join(tail, "\n"))
		}
		close(w.done)
	}()
	select {
	case <-ready:
		return w, nil
	case <-w.done:
		return nil, fmt.Errorf("worker exited at start: %w", w.err)
	case <-ctx.Done():
		w.stop()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		w.stop()
		return nil, errors.New("worker did not start within a minute")
	}
}

// rssMiB is the worker's resident set now.
func (w *childWorker) rssMiB() float64 { return procStatusMiB(w.cmd.Process.Pid, "VmRSS:") }

func procStatusMiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			return kb / 1024
		}
	}
	return 0
}

// stop ends the worker (SIGTERM: it finishes what runs and writes its
// profiles) and returns its CPU time and peak RSS.
func (w *childWorker) stop() (cpu time.Duration, peakMiB float64, err error) {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(90 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	ps := w.cmd.ProcessState
	if ps == nil {
		return 0, 0, w.err
	}
	if w.err != nil && ps.ExitCode() == 0 {
		w.err = nil
	}
	cpu, rss := childUsage(ps)
	return cpu, float64(rss) / 1024, w.err
}

// startPipeline starts a fresh pipeline of its own (database, bucket,
// queues) without a worker, and the benchmark's worker process on it.
func (b *bencher) startPipeline(ctx context.Context) (*harness.Pipeline, *childWorker, error) {
	p, err := harness.Start(ctx, harness.Options{
		DatabaseURL: b.c.DatabaseURL, Redis: b.c.redis(), Objects: b.c.objectsConfig(),
		NoWorker: true, Concurrency: b.c.Concurrency, StableFor: b.stableFor, ScanEvery: b.scanEvery,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start pipeline: %w", err)
	}
	w, err := b.startWorker(ctx, p)
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	return p, w, nil
}

// runPipeline runs every batch file through a fresh pipeline (so that the
// same bytes are not duplicates) and fills r's pipeline figures.
func (b *bencher) runPipeline(ctx context.Context, in benchInput, r *benchRound) error {
	p, w, err := b.startPipeline(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	for _, f := range in.files {
		if err := p.Drop(f, filepath.Base(f)); err != nil {
			w.stop()
			return err
		}
	}
	var batches []storage.Batch
	for _, f := range in.files {
		wctx, cancel := context.WithTimeout(ctx, time.Duration(len(in.pages)+5)*time.Minute)
		bt, err := p.WaitBatch(wctx, filepath.Base(f))
		cancel()
		if err == nil && bt.State != storage.StateDone {
			err = fmt.Errorf("batch %d (%s) ended %s: %s", bt.ID, bt.Name, bt.State, bt.Reason)
		}
		if err != nil {
			w.stop()
			return err
		}
		batches = append(batches, bt)
	}
	cpu, peak, err := w.stop()
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	first, last := batches[0].CreatedAt, *batches[0].FinishedAt
	slowest := batches[0]
	for _, bt := range batches {
		if bt.CreatedAt.Before(first) {
			first = bt.CreatedAt
		}
		if bt.FinishedAt.After(last) {
			last = *bt.FinishedAt
		}
		if bt.FinishedAt.Sub(bt.CreatedAt) > slowest.FinishedAt.Sub(slowest.CreatedAt) {
			slowest = bt
		}
	}
	r.Pipeline = side{Seconds: last.Sub(first).Seconds(), CPUSeconds: cpu.Seconds(), PeakRSSMiB: peak}
	r.Pipeline.PagesPerMin = float64(len(in.pages)) / r.Pipeline.Seconds * 60
	r.OSDPages, r.BlankPages, r.SheetPages, r.OCRSeconds = 0, 0, 0, 0
	var cerSum float64
	cerN := 0
	for _, bt := range batches {
		rows, err := p.DB.Pages(ctx, bt.ID)
		if err != nil {
			return err
		}
		var texts map[int]string
		t, haveTruth := in.truth[bt.Name]
		if haveTruth {
			if texts, err = p.DB.PageTexts(ctx, bt.ID); err != nil {
				return err
			}
		}
		for _, pg := range rows {
			r.OCRSeconds += float64(pg.OCRMillis) / 1000
			if pg.OSDUsed {
				r.OSDPages++
			}
			if pg.Blank {
				r.BlankPages++
			}
			if pg.Kind != storage.PageKindPage {
				r.SheetPages++
			}
			if haveTruth && pg.No <= len(t.Pages) && !t.Pages[pg.No-1].Blank && t.Pages[pg.No-1].Sheet == "" && t.Pages[pg.No-1].Text != "" {
				cerSum += scangen.CER(t.Pages[pg.No-1].Text, texts[pg.No])
				cerN++
			}
		}
	}
	if cerN > 0 {
		r.Pipeline.MeanCER = cerSum / float64(cerN)
	}
	r.StageSeconds, err = stageSeconds(ctx, p.DB, slowest)
	return err
}

// stageSeconds is the wall time of each stage of batch bt, from its
// history.
func stageSeconds(ctx context.Context, db *storage.DB, bt storage.Batch) (map[string]float64, error) {
	evs, err := db.Events(ctx, bt.ID)
	if err != nil {
		return nil, err
	}
	st := map[string]float64{}
	prev := bt.CreatedAt
	for _, e := range evs {
		switch e.Event {
		case "split", "ocr done", "assembled", "done":
			st["to "+e.Event] = e.At.Sub(prev).Seconds()
			prev = e.At
		}
	}
	return st, nil
}

// rssSample is the worker's RSS after some pages.
type rssSample struct {
	Pages   int     `json:"pages"`
	Seconds float64 `json:"seconds"`
	RSSMiB  float64 `json:"rss_mib"`
}

// longRun feeds n generated pages, in batches of batchPages, to one worker
// (at most two batches waiting at a time, so that the queue never runs
// dry) and samples its RSS every 100 pages. The few distinct batches are
// generated first; each is dropped again with a different comment and
// %%EOF appended (a PDF may end so), so that ingest does not take it for a
// duplicate.
func (b *bencher) longRun(ctx context.Context, n, batchPages int, seed uint64, stdout io.Writer, asJSON bool) error {
	batchPages = max(1, min(batchPages, n))
	count := (n + batchPages - 1) / batchPages
	distinct := min(count, len(benchProfiles))
	var files [][]byte
	for i := range distinct {
		path := filepath.Join(b.tmp, fmt.Sprintf("long-%d.pdf", i))
		if _, err := scangen.WriteFile(ctx, path, benchOptions(i, batchPages, seed+uint64(i), false, true)); err != nil {
			return fmt.Errorf("generate batch: %w", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, data)
		os.Remove(path)
	}
	b.progress("generated %d distinct batches of %d pages; running %d batches (%d pages)", distinct, batchPages, count, count*batchPages)
	p, w, err := b.startPipeline(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	defer w.stop()
	start := time.Now()
	dropped, next := 0, 100
	var samples []rssSample
	type batchTime struct {
		Pages   int     `json:"pages"`
		Seconds float64 `json:"seconds"`
	}
	var times []batchTime
	seen := map[int64]bool{}
	for {
		bs, err := p.DB.ListBatches(ctx, storage.BatchFilter{Limit: 10000})
		if err != nil {
			return err
		}
		done := 0
		for _, bt := range bs {
			done += bt.PagesDone
			if bt.Finished() && !seen[bt.ID] {
				seen[bt.ID] = true
				if bt.State != storage.StateDone {
					return fmt.Errorf("batch %d ended %s: %s", bt.ID, bt.State, bt.Reason)
				}
				times = append(times, batchTime{bt.Pages, bt.FinishedAt.Sub(bt.CreatedAt).Seconds()})
				b.progress("batch %d: %d pages in %.1f s", bt.ID, bt.Pages, times[len(times)-1].Seconds)
			}
		}
		for done >= next && next <= count*batchPages {
			s := rssSample{Pages: next, Seconds: time.Since(start).Seconds(), RSSMiB: w.rssMiB()}
			samples = append(samples, s)
			b.progress("pages %5d  %7.1f s  worker RSS %6.1f MiB  (load %s)", s.Pages, s.Seconds, s.RSSMiB, loadAverage())
			next += 100
		}
		if len(seen) == count {
			break
		}
		// A dropped file counts as waiting from the drop, before ingest
		// records it.
		if dropped-len(seen) < 2 && dropped < count {
			nonce := fmt.Appendf(nil, "%% paperchart bench copy %d\n%%%%EOF\n", dropped)
			copyData := slices.Concat(files[dropped%distinct], nonce)
			if err := p.DropBytes(copyData, fmt.Sprintf("long-%04d.pdf", dropped)); err != nil {
				return err
			}
			dropped++
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.done:
			return fmt.Errorf("worker exited: %w", w.err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	cpu, peak, err := w.stop()
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	secs := time.Since(start).Seconds()
	var lo, hi, at500 float64
	for _, s := range samples {
		if s.Pages >= 500 {
			if at500 == 0 {
				at500, lo, hi = s.RSSMiB, s.RSSMiB, s.RSSMiB
			}
			lo, hi = min(lo, s.RSSMiB), max(hi, s.RSSMiB)
		}
	}
	if asJSON {
		return writeJSON(stdout, struct {
			Pages      int         `json:"pages"`
			Seconds    float64     `json:"seconds"`
			CPUSeconds float64     `json:"cpu_seconds"`
			PeakRSSMiB float64     `json:"peak_rss_mib"`
			Samples    []rssSample `json:"rss"`
			Batches    []batchTime `json:"batches"`
		}{count * batchPages, secs, cpu.Seconds(), peak, samples, times})
	}
	fmt.Fprintf(stdout, "\n%d pages in %.0f s (%.1f pages/min), worker %.0f CPU-s, peak RSS %.0f MiB\n", count*batchPages, secs,
		float64(count*batchPages)/secs*60, cpu.Seconds(), peak)
	if at500 > 0 {
		fmt.Fprintf(stdout, "RSS from page 500 on: %.0f to %.0f MiB (%+.1f%% / %+.1f%% of page 500's %.0f MiB)\n", lo, hi,
			100*(lo/at500-1), 100*(hi/at500-1), at500)
	}
	return nil
}

// runBenchWorker is the child process of the benchmark: a plain worker
// (the same one `paperchart worker` runs), configured from the
// environment, optionally writing pprof CPU and heap profiles.
func runBenchWorker(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("bench --as-worker", flag.ContinueOnError)
	c.register(fs, useDB|useRedis|useS3|useWorker|useFiling)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile here")
	heapProfile := fs.String("heapprofile", "", "write a heap profile here at exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger().With("role", "worker")
	s, err := open(ctx, &c, useDB|useRedis|useS3)
	if err != nil {
		return err
	}
	defer s.close()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	err = work(ctx, &c, s, log)
	if *heapProfile != "" {
		f, ferr := os.Create(*heapProfile)
		if ferr != nil {
			return errors.Join(err, ferr)
		}
		runtime.GC()
		err = errors.Join(err, pprof.Lookup("heap").WriteTo(f, 0), f.Close())
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
