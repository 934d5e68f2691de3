package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"paperchart/scangen"
)

// `bench --ocrmypdf` adds OCRmyPDF to each round, run as Paperless-ngx runs
// it by default on a scanned document (src/paperless_tesseract/parsers.py,
// construct_ocrmypdf_parameters, with the defaults of src/paperless/settings.py):
// one document at a time (PAPERLESS_TASK_WORKERS=1 on two cores) with
// jobs = PAPERLESS_THREADS_PER_WORKER, here the worker's slots;
// PAPERLESS_OCR_MODE=skip, so --skip-text (scans have no text, so every
// page is OCRed); PAPERLESS_OCR_ROTATE_PAGES with its threshold of 12; a
// sidecar text file; OMP_THREAD_LIMIT=1, which Paperless-ngx sets itself.
// The output is a plain PDF (--output-type pdf), as the comparison
// names it; Paperless-ngx's own defaults also add --deskew, --clean
// (unpaper) and PDF/A output, which `--ocrmypdf-paperless` adds.

// errNoOCRmyPDF is returned by `bench --ocrmypdf` without ocrmypdf.
var errNoOCRmyPDF = errors.New("bench --ocrmypdf: ocrmypdf is not installed: install Debian's ocrmypdf package (apt-get install ocrmypdf)")

// ocrmypdfRotateThreshold is Paperless-ngx's PAPERLESS_OCR_ROTATE_PAGES_THRESHOLD default.
const ocrmypdfRotateThreshold = "12"

// ocrmypdfArgs is the ocrmypdf command line for one batch file. imageDPI,
// for an image input, is its resolution (Paperless-ngx passes the image's
// own); 0 for a PDF. full adds the rest of Paperless-ngx's defaults.
func ocrmypdfArgs(jobs, imageDPI int, full bool, in, out, sidecar string) []string {
	args := []string{"--rotate-pages", "--rotate-pages-threshold", ocrmypdfRotateThreshold,
		"-j", strconv.Itoa(max(jobs, 1)), "--skip-text", "-l", "eng", "--sidecar", sidecar, "--quiet"}
	if full {
		args = append(args, "--output-type", "pdfa", "--deskew", "--clean")
	} else {
		args = append(args, "--output-type", "pdf")
	}
	if imageDPI > 0 {
		args = append(args, "--image-dpi", strconv.Itoa(imageDPI))
	}
	return append(args, in, out)
}

// checkOCRmyPDF fails with errNoOCRmyPDF unless ocrmypdf (and, for the
// full defaults, unpaper) can be run.
func checkOCRmyPDF(full bool) error {
	if _, err := exec.LookPath("ocrmypdf"); err != nil {
		return errNoOCRmyPDF
	}
	if full {
		if _, err := exec.LookPath("unpaper"); err != nil {
			return errors.New("bench --ocrmypdf-paperless: unpaper is not installed (OCRmyPDF's --clean needs it): apt-get install unpaper")
		}
	}
	return nil
}

// runOCRmyPDF runs ocrmypdf on every batch file, one after the other as
// Paperless-ngx's single task worker does, each with -j c.Concurrency. The
// batch files are what the pipeline ingests: PDFs as they are, TIFF, JPEG
// and PNG files given to ocrmypdf directly (it makes the PDF with img2pdf,
// as under Paperless-ngx) with their resolution. CPU time and peak RSS
// are the ocrmypdf process's with its descendants (wait4's rusage).
func (b *bencher) runOCRmyPDF(ctx context.Context, in benchInput) (side, error) {
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
	dir, err := os.MkdirTemp(b.tmp, "ocrmypdf-")
	if err != nil {
		return side{}, err
	}
	defer os.RemoveAll(dir)
	dpi := map[string]int{} // the first page's, by batch file
	for _, j := range in.pages {
		if _, ok := dpi[j.file]; !ok {
			dpi[j.file] = j.dpi
		}
	}
	var cpu time.Duration
	var peak int64
	var cerSum float64
	cerN := 0
	start := time.Now()
	for i, f := range in.files {
		imageDPI := 0
		if !strings.EqualFold(filepath.Ext(f), ".pdf") {
			imageDPI = dpi[filepath.Base(f)]
		}
		out := filepath.Join(dir, fmt.Sprintf("%d.pdf", i))
		sidecar := filepath.Join(dir, fmt.Sprintf("%d.txt", i))
		cmd := exec.CommandContext(ctx, "ocrmypdf", ocrmypdfArgs(b.c.Concurrency, imageDPI, b.ocrmypdfFull, f, out, sidecar)...)
		cmd.Env = env
		msg, err := cmd.CombinedOutput()
		c, rss := childUsage(cmd.ProcessState)
		cpu, peak = cpu+c, max(peak, rss)
		if err != nil {
			return side{}, fmt.Errorf("ocrmypdf %s: %w: %s", filepath.Base(f), err, bytes.TrimSpace(msg))
		}
		if t, ok := in.truth[filepath.Base(f)]; ok {
			txt, err := os.ReadFile(sidecar)
			if err != nil {
				return side{}, fmt.Errorf("ocrmypdf sidecar of %s: %w", filepath.Base(f), err)
			}
			s, n := sidecarCER(t, string(txt))
			cerSum += s
			cerN += n
		}
	}
	s := side{Seconds: time.Since(start).Seconds(), CPUSeconds: cpu.Seconds(), PeakRSSMiB: float64(peak) / 1024}
	s.PagesPerMin = float64(len(in.pages)) / s.Seconds * 60
	if cerN > 0 {
		s.MeanCER = cerSum / float64(cerN)
	}
	return s, nil
}

// sidecarCER is the sum of the character error rates of a batch's content
// pages in an OCRmyPDF sidecar (pages separated by form feeds), and their
// number; 0, 0 if its pages do not line up with the truth's.
func sidecarCER(t scangen.Truth, sidecar string) (sum float64, n int) {
	pages := strings.Split(strings.TrimSuffix(sidecar, "\f"), "\f")
	if len(pages) != len(t.Pages) {
		return 0, 0
	}
	for i, p := range t.Pages {
		if p.Blank || p.Sheet != "" || p.Text == "" {
			continue
		}
		sum += scangen.CER(p.Text, pages[i])
		n++
	}
	return sum, n
}

// ocrmypdfSummary is the medians over the rounds of OCRmyPDF's figures
// and of the pipeline's against them.
type ocrmypdfSummary struct {
	MedianOCRmyPDFSeconds    float64 `json:"median_ocrmypdf_seconds"`
	MedianOCRmyPDFCPUSeconds float64 `json:"median_ocrmypdf_cpu_seconds"`
	MedianOCRmyPDFWallRatio  float64 `json:"median_ocrmypdf_wall_ratio"` // pipeline / OCRmyPDF: 0.25 or less is 4 times as fast
	MedianOCRmyPDFCPURatio   float64 `json:"median_ocrmypdf_cpu_ratio"`
}

// summarizeOCRmyPDF is nil unless the rounds ran OCRmyPDF.
func summarizeOCRmyPDF(rs []benchRound) *ocrmypdfSummary {
	if len(rs) == 0 || rs[0].OCRmyPDF == nil {
		return nil
	}
	return &ocrmypdfSummary{
		MedianOCRmyPDFSeconds:    median(rs, func(r benchRound) float64 { return r.OCRmyPDF.Seconds }),
		MedianOCRmyPDFCPUSeconds: median(rs, func(r benchRound) float64 { return r.OCRmyPDF.CPUSeconds }),
		MedianOCRmyPDFWallRatio:  median(rs, func(r benchRound) float64 { return r.OCRmyPDFWallRatio }),
		MedianOCRmyPDFCPURatio:   median(rs, func(r benchRound) float64 { return r.OCRmyPDFCPURatio }),
	}
}

// setOCRmyPDFRatios fills r's pipeline/OCRmyPDF ratios.
func (r *benchRound) setOCRmyPDFRatios() {
	if r.OCRmyPDF == nil || r.OCRmyPDF.Seconds <= 0 || r.OCRmyPDF.CPUSeconds <= 0 {
		return
	}
	r.OCRmyPDFWallRatio = r.Pipeline.Seconds / r.OCRmyPDF.Seconds
	r.OCRmyPDFCPURatio = r.Pipeline.CPUSeconds / r.OCRmyPDF.CPUSeconds
}
