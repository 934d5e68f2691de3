package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"paperchart/scangen"
)

func TestBenchOptionsRealistic(t *testing.T) {
	dpis := map[int]bool{}
	sheets := 0
	for i := range len(benchProfiles) {
		o := benchOptions(i, 12, uint64(i), false, true)
		dpis[o.DPI] = true
		if o.JPEGQuality < 55 || o.JPEGQuality > 85 {
			t.Errorf("batch %d: JPEG quality %d outside 55-85", i, o.JPEGQuality)
		}
		if o.MaxSkew != 1.8 || o.Bilevel <= 0 || o.RotateProb <= 0 || o.BlankProb <= 0 || o.Clean {
			t.Errorf("batch %d: not degraded like a real scan: %+v", i, o)
		}
		if o.Sheets != scangen.SheetsNone {
			sheets++
			if o.SheetPrinter == nil {
				t.Errorf("batch %d: sheets without a printer", i)
			}
		}
		if n := benchOptions(i, 12, uint64(i), false, false); n.Sheets != scangen.SheetsNone {
			t.Errorf("batch %d: sheets with sheets off", i)
		}
	}
	if !dpis[200] || !dpis[300] || len(dpis) != 2 {
		t.Errorf("resolutions %v, want 200 and 300", dpis)
	}
	if sheets != len(benchProfiles)/3 {
		t.Errorf("%d of %d batches with sheets, want every third", sheets, len(benchProfiles))
	}
	if c := benchOptions(0, 5, 1, true, true); !c.Clean || c.DPI != 300 || c.Sheets != scangen.SheetsNone {
		t.Errorf("clean options %+v", c)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{1.2, 0.8, 1.0}, 1.0},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		rs := make([]benchRound, len(tc.in))
		for i, v := range tc.in {
			rs[i].WallRatio = v
		}
		if got := median(rs, func(r benchRound) float64 { return r.WallRatio }); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestBenchLatency runs `bench --latency` for one measured document: it is
// visible over FHIR, its phases add up to its time, and the watcher's
// stability wait with the production settings (2 s; a whole PDF after a
// quarter of that) is well under the 2 s the goal allows for everything
// but OCR.
func TestBenchLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Setenv(runMainEnv, "1") // the benchmark's worker is this binary, running main
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := runBench(ctx, []string{"--latency", "--rounds", "1", "--json", "--stable-for", "2s", "--scan-every", "2s"}, &out); err != nil {
		t.Fatalf("bench --latency: %v\n%s", err, out.String())
	}
	var got struct {
		MedianSeconds float64 `json:"median_seconds"`
		Runs          []latencyRun
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output: %v\n%s", err, out.String())
	}
	if len(got.Runs) != 2 || !got.Runs[0].Warmup || got.Runs[1].Warmup {
		t.Fatalf("runs %+v, want a warm-up and one measured", got.Runs)
	}
	r := got.Runs[1]
	if !r.Visible {
		t.Fatalf("the document was not visible over FHIR: %+v", r)
	}
	if r.OCRSeconds <= 0 || r.Seconds <= r.OCRSeconds || math.Abs(r.Overhead-(r.Seconds-r.OCRSeconds)) > 1e-9 {
		t.Errorf("seconds %.2f, OCR %.2f, overhead %.2f", r.Seconds, r.OCRSeconds, r.Overhead)
	}
	var sum float64
	for _, ph := range latencyPhases {
		v, ok := r.Phases[ph.event]
		if !ok || v < 0 {
			t.Errorf("phase %q: %v (%v)", ph.event, v, ok)
		}
		sum += v
	}
	if math.Abs(sum-r.Seconds) > 0.01 {
		t.Errorf("phases add up to %.3f s, the run took %.3f s", sum, r.Seconds)
	}
	if q := r.Phases["queued"]; q > 1.5 {
		t.Errorf("drop→queued took %.2f s: the stability wait is not CompleteFor (500 ms)", q)
	}
	if got.MedianSeconds != r.Seconds {
		t.Errorf("median %.2f of one run %.2f", got.MedianSeconds, r.Seconds)
	}
}

// TestBenchBig runs `bench --big` on a small generated PDF: the batch is
// done, and its time, pages per minute and the worker's peak RSS, overall
// and for each stage it went through, are reported.
func TestBenchBig(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Setenv(runMainEnv, "1")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := runBench(ctx, []string{"--big", "4", "--json"}, &out); err != nil {
		t.Fatalf("bench --big: %v\n%s", err, out.String())
	}
	var r bigResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output: %v\n%s", err, out.String())
	}
	if r.Pages != 4 || r.Seconds <= 0 || r.PagesPerMin <= 0 || r.PeakRSSMiB <= 0 || r.Documents == 0 {
		t.Errorf("result %+v", r)
	}
	seen := map[string]bool{}
	for _, s := range r.Stages {
		seen[s.State] = true
		if s.PeakRSSMiB <= 0 || s.PeakRSSMiB > r.PeakRSSMiB+1 {
			t.Errorf("stage %s: peak RSS %.0f MiB (overall %.0f)", s.State, s.PeakRSSMiB, r.PeakRSSMiB)
		}
	}
	if !seen["ocr"] || !seen["done (manifest)"] {
		t.Errorf("stages %+v: want ocr and done (manifest) among them", r.Stages)
	}
}

// TestBenchOCRmyPDFArgs checks the command line Paperless-ngx's defaults
// give OCRmyPDF: rotation with its threshold, the worker's slots as jobs,
// skip-text, a sidecar, and an image's resolution.
func TestBenchOCRmyPDFArgs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		jobs     int
		dpi      int
		full     bool
		want     []string
		wantNone []string
	}{
		{"pdf", 2, 0, false, []string{"--rotate-pages", "--rotate-pages-threshold 12", "-j 2", "--skip-text", "--sidecar s.txt", "--output-type pdf", "in.pdf out.pdf"},
			[]string{"--image-dpi", "--deskew", "--clean", "--force-ocr"}},
		{"image", 3, 200, false, []string{"-j 3", "--image-dpi 200", "in.pdf out.pdf"}, []string{"--deskew"}},
		{"no slots", 0, 0, false, []string{"-j 1"}, nil},
		{"paperless defaults", 2, 0, true, []string{"--rotate-pages", "--deskew", "--clean", "--output-type pdfa"}, []string{"--output-type pdf "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(ocrmypdfArgs(tc.jobs, tc.dpi, tc.full, "in.pdf", "out.pdf", "s.txt"), " ") + " "
			for _, w := range tc.want {
				if !strings.Contains(got, w+" ") {
					t.Errorf("args %q lack %q", got, w)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(got, w) {
					t.Errorf("args %q have %q", got, w)
				}
			}
			if !strings.HasSuffix(got, "in.pdf out.pdf ") {
				t.Errorf("args %q: input and output not last", got)
			}
		})
	}
}

// TestBenchOCRmyPDFMissing: without ocrmypdf on PATH, --ocrmypdf says
// which package to install.
func TestBenchOCRmyPDFMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := checkOCRmyPDF(false)
	if !errors.Is(err, errNoOCRmyPDF) || !strings.Contains(err.Error(), "apt-get install ocrmypdf") {
		t.Errorf("checkOCRmyPDF without ocrmypdf: %v", err)
	}
}

func TestBenchOrder(t *testing.T) {
	for _, tc := range []struct {
		round    int
		ocrmypdf bool
		want     []string
	}{
		{0, false, []string{"pipeline", "CLI"}},
		{1, false, []string{"CLI", "pipeline"}},
		{0, true, []string{"pipeline", "CLI", "OCRmyPDF"}},
		{1, true, []string{"OCRmyPDF", "CLI", "pipeline"}},
		{2, true, []string{"pipeline", "CLI", "OCRmyPDF"}},
	} {
		if got := benchOrder(tc.round, tc.ocrmypdf); !slices.Equal(got, tc.want) {
			t.Errorf("benchOrder(%d, %v) = %v, want %v", tc.round, tc.ocrmypdf, got, tc.want)
		}
	}
}

// TestBenchSummaryOCRmyPDF checks the ratios, their medians and the JSON
// keys, with and without OCRmyPDF.
func TestBenchSummaryOCRmyPDF(t *testing.T) {
	var rs []benchRound
	for i, v := range []struct{ pipe, pipeCPU, ocr, ocrCPU float64 }{{10, 18, 40, 60}, {12, 20, 30, 50}, {11, 19, 55, 76}} {
		r := benchRound{Round: i + 1, Pipeline: side{Seconds: v.pipe, CPUSeconds: v.pipeCPU}, CLI: side{Seconds: 10, CPUSeconds: 20},
			OCRmyPDF: &side{Seconds: v.ocr, CPUSeconds: v.ocrCPU}}
		r.WallRatio, r.CPURatio = r.Pipeline.Seconds/r.CLI.Seconds, r.Pipeline.CPUSeconds/r.CLI.CPUSeconds
		r.setOCRmyPDFRatios()
		rs = append(rs, r)
	}
	if rs[0].OCRmyPDFWallRatio != 0.25 || rs[0].OCRmyPDFCPURatio != 0.3 {
		t.Errorf("round 1 ratios %v, %v, want 0.25, 0.3", rs[0].OCRmyPDFWallRatio, rs[0].OCRmyPDFCPURatio)
	}
	s := summarize(rs, 2, "1.00 1.00 1.00")
	// wall ratios 0.25, 0.4, 0.2; CPU ratios 0.3, 0.4, 0.25
	if s.MedianOCRmyPDFWallRatio != 0.25 || s.MedianOCRmyPDFCPURatio != 0.3 || s.MedianOCRmyPDFSeconds != 40 || s.MedianOCRmyPDFCPUSeconds != 60 {
		t.Errorf("summary %+v", *s.ocrmypdfSummary)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{"median_ocrmypdf_wall_ratio": 0.25, "median_ocrmypdf_cpu_ratio": 0.3,
		"median_ocrmypdf_seconds": 40, "median_ocrmypdf_cpu_seconds": 60, "median_wall_ratio": 1.1} {
		if v, ok := got[k].(float64); !ok || math.Abs(v-want) > 1e-9 {
			t.Errorf("JSON %s = %v, want %v", k, got[k], want)
		}
	}
	round := got["rounds"].([]any)[0].(map[string]any)
	if round["ocrmypdf_wall_ratio"] != 0.25 || round["ocrmypdf"].(map[string]any)["seconds"] != 40.0 {
		t.Errorf("JSON round 1: %v", round)
	}
	var table bytes.Buffer
	writeBenchTable(&table, s)
	if !strings.Contains(table.String(), "median pipeline/OCRmyPDF: wall 0.25 (4.0 times as fast") {
		t.Errorf("table:\n%s", table.String())
	}

	for i := range rs {
		rs[i].OCRmyPDF, rs[i].OCRmyPDFWallRatio, rs[i].OCRmyPDFCPURatio = nil, 0, 0
	}
	buf.Reset()
	if err := writeJSON(&buf, summarize(rs, 2, "")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "ocrmypdf") {
		t.Errorf("JSON without --ocrmypdf mentions it:\n%s", buf.String())
	}
	table.Reset()
	writeBenchTable(&table, summarize(rs, 2, ""))
	if strings.Contains(table.String(), "OCRmyPDF") {
		t.Errorf("table without --ocrmypdf mentions it:\n%s", table.String())
	}
}

func TestBenchSidecarCER(t *testing.T) {
	tr := scangen.Truth{Pages: []scangen.PageTruth{{Text: "hello"}, {Blank: true}, {Text: "world"}}}
	for _, tc := range []struct {
		sidecar string
		sum     float64
		n       int
	}{
		{"hello\f\fworld\f", 0, 2},
		{"hello\f\fworld", 0, 2},
		{"hello\f\fwor1d\f", 0.2, 2},
		{"hello\fworld\f", 0, 0}, // pages do not line up
	} {
		sum, n := sidecarCER(tr, tc.sidecar)
		if n != tc.n || math.Abs(sum-tc.sum) > 1e-9 {
			t.Errorf("sidecarCER(%q) = %v, %d, want %v, %d", tc.sidecar, sum, n, tc.sum, tc.n)
		}
	}
}

// TestBenchOCRmyPDFRun runs OCRmyPDF as the benchmark does on two
// generated pages; it needs ocrmypdf, not the services.
func TestBenchOCRmyPDFRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OCRmyPDF")
	}
	if err := checkOCRmyPDF(false); err != nil {
		t.Skipf("ocrmypdf is not installed (apt-get install ocrmypdf): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := &bencher{c: &config{Concurrency: 2}, tmp: t.TempDir(), progress: func(string, ...any) {}}
	in, err := b.generate(ctx, 2, 2, 1, true, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.runOCRmyPDF(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if s.Seconds <= 0 || s.CPUSeconds <= 0 || s.PeakRSSMiB <= 0 || s.PagesPerMin <= 0 {
		t.Errorf("figures %+v", s)
	}
	if s.MeanCER > 0.05 {
		t.Errorf("OCRmyPDF's CER on clean pages %.2f%%", 100*s.MeanCER)
	}
}
