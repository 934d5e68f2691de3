package split

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// A PDF larger than Limits.StreamPDFBytes is never read whole: pdfcpu keeps
// every stream of a file it reads in memory (a 1,000-page scan is some
// 200 MiB, and the worker that read it so peaked at 800 MiB). Poppler reads
// objects as it needs them: pdfinfo gives the page count, encryption and
// page sizes, and pdfseparate writes the pages, separateChunk at a time,
// each as a PDF of its own, which is then read by pdfcpu alone and split as
// any page is (its image kept as it is, or the page kept as a one-page PDF),
// and removed. The file is handed to poppler as the open descriptor
// (/dev/fd/3), never by its path.

// separateChunk is how many pages pdfseparate writes at a time.
const separateChunk = 16

// bigPDFInfo is what pdfinfo says of a PDF.
type bigPDFInfo struct {
	pages     int
	encrypted bool
	sizes     map[int][2]float64 // page → width, height in points
}

// poppler runs one of poppler's tools on f (as /dev/fd/3) with args, in
// which "FILE" stands for f.
func poppler(ctx context.Context, f *os.File, tool string, args ...string) ([]byte, []byte, error) {
	for i, a := range args {
		if a == "FILE" {
			args[i] = "/dev/fd/3"
		}
	}
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.ExtraFiles = []*os.File{f}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// popplerError is poppler's complaint, cut down like pdfcpu's (scrub).
func popplerError(tool string, stderr []byte, err error) error {
	msg := strings.Join(strings.Fields(string(stderr)), " ")
	if msg == "" {
		msg = err.Error()
	}
	return scrub(tool, errors.New(msg))
}

// readBigPDFInfo runs pdfinfo on f, twice: the page count first, then
// every page's size.
func readBigPDFInfo(ctx context.Context, f *os.File, size int64, lim Limits) (bigPDFInfo, error) {
	var info bigPDFInfo
	well, err := endsWell(f, size)
	if err != nil {
		return info, err
	}
	if !well {
		// Poppler would rebuild a cut-off file's cross references and read
		// the pages it still holds; the clerk must send the whole file.
		return info, reject(CodeTruncated, "The PDF is incomplete (it was cut off while being copied or saved); copy or scan it again.", nil)
	}
	out, stderr, err := poppler(ctx, f, "pdfinfo", "FILE")
	if ctx.Err() != nil {
		return info, ctx.Err()
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return info, fmt.Errorf("split: run pdfinfo: %w", err)
		}
		if bytes.Contains(stderr, []byte("Incorrect password")) {
			return info, reject(CodeEncrypted, "The PDF is password protected; scan the paper again or save it without a password.", nil)
		}
		return info, reject(CodeCorrupt, "The PDF is damaged and cannot be read; scan the paper again or save a new copy of the PDF.", popplerError("pdfinfo", stderr, err))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Pages":
			info.pages, _ = strconv.Atoi(v)
		case "Encrypted":
			info.encrypted = strings.HasPrefix(v, "yes")
		}
	}
	if info.pages <= 0 {
		return info, reject(CodeCorrupt, "The PDF has no pages; scan the paper again.", nil)
	}
	if info.encrypted && lim.RejectRestricted {
		return info, reject(CodeEncrypted, "The PDF is protected with an owner password; save it without protection or scan the paper again.", nil)
	}
	if info.pages > lim.MaxPages {
		return info, reject(CodeTooManyPages, fmt.Sprintf("The PDF has %d pages, more than the %d allowed in one file; scan the document in smaller parts.", info.pages, lim.MaxPages), nil)
	}
	out, stderr, err = poppler(ctx, f, "pdfinfo", "-f", "1", "-l", strconv.Itoa(info.pages), "FILE")
	if ctx.Err() != nil {
		return info, ctx.Err()
	}
	if err != nil {
		return info, reject(CodeCorrupt, "The PDF is damaged and cannot be read; scan the paper again or save a new copy of the PDF.", popplerError("pdfinfo", stderr, err))
	}
	info.sizes = make(map[int][2]float64, info.pages)
	sc = bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "Page    7 size:  612 x 792 pts (letter)"
		var no int
		var w, h float64
		if n, _ := fmt.Sscanf(sc.Text(), "Page %d size: %g x %g", &no, &w, &h); n == 3 {
			info.sizes[no] = [2]float64{w, h}
		}
	}
	for p := 1; p <= info.pages; p++ {
		wh, ok := info.sizes[p]
		if !ok || !(wh[0] > 0 && wh[1] > 0) {
			return info, reject(CodeCorrupt, fmt.Sprintf("Page %d of the PDF is damaged and cannot be read; scan the paper again.", p), nil)
		}
		if longest := max(wh[0], wh[1]) / 72; longest > lim.MaxPageInches {
			return info, reject(CodePageTooLarge, fmt.Sprintf("Page %d of the PDF is %.0f inches long, more than the %.0f inches allowed; scan it on a normal paper size.", p, longest, lim.MaxPageInches), nil)
		}
	}
	return info, nil
}

// runBigPDF is runPDF for a PDF larger than Limits.StreamPDFBytes. Inspect
// (outDir "") goes by pdfinfo alone; a page that is damaged beyond that is
// rejected by Split, which reads every page.
func runBigPDF(ctx context.Context, f *os.File, size int64, outDir string, lim Limits) ([]PageSource, error) {
	info, err := readBigPDFInfo(ctx, f, size, lim)
	if err != nil {
		return nil, err
	}
	if outDir == "" {
		return make([]PageSource, info.pages), nil
	}
	sep, err := os.MkdirTemp(outDir, ".separate-")
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	defer os.RemoveAll(sep)
	// Chunks are separated on a few cores at once (pdfseparate takes some
	// 15 ms of CPU a page); each holds separateChunk one-page files at most.
	out := make([]PageSource, info.pages)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, min(runtime.GOMAXPROCS(0), 4)))
	for first := 1; first <= info.pages; first += separateChunk {
		last := min(first+separateChunk-1, info.pages)
		g.Go(func() error {
			_, stderr, err := poppler(gctx, f, "pdfseparate", "-f", strconv.Itoa(first), "-l", strconv.Itoa(last), "FILE", filepath.Join(sep, "p-%d.pdf"))
			if gctx.Err() != nil {
				return gctx.Err()
			}
			if err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					return fmt.Errorf("split: run pdfseparate: %w", err)
				}
				return reject(CodeCorrupt, fmt.Sprintf("Pages %d to %d of the PDF are damaged and cannot be read; scan the paper again.", first, last),
					popplerError("pdfseparate", stderr, err))
			}
			for p := first; p <= last; p++ {
				if err := gctx.Err(); err != nil {
					return err
				}
				ps, err := splitSeparatedPage(filepath.Join(sep, fmt.Sprintf("p-%d.pdf", p)), p, outDir, lim)
				if err != nil {
					return err
				}
				out[p-1] = ps
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return out, nil
}

// splitSeparatedPage splits the one-page PDF at path, page p of the input,
// into outDir as runPDF splits a page, and removes it.
func splitSeparatedPage(path string, p int, outDir string, lim Limits) (PageSource, error) {
	defer os.Remove(path)
	damaged := func(err error) error {
		return reject(CodeCorrupt, fmt.Sprintf("Page %d of the PDF is damaged and cannot be read; scan the paper again.", p), scrub(fmt.Sprintf("page %d", p), err))
	}
	f, err := os.Open(path)
	if err != nil {
		return PageSource{}, fmt.Errorf("split: page %d: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return PageSource{}, fmt.Errorf("split: page %d: %w", p, err)
	}
	pctx, err := readPDF(f, st.Size(), lim)
	if err != nil {
		if rej, ok := IsRejection(err); ok {
			return PageSource{}, damaged(rej)
		}
		return PageSource{}, err
	}
	if pctx.PageCount != 1 {
		return PageSource{}, damaged(fmt.Errorf("separated page holds %d pages", pctx.PageCount))
	}
	var pg pdfPage
	err = guard(func() error {
		var err error
		pg, err = planPDFPage(pctx, 1, p, lim)
		return err
	})
	if err != nil {
		if _, ok := IsRejection(err); ok {
			return PageSource{}, err
		}
		return PageSource{}, damaged(err)
	}
	var ps PageSource
	err = guard(func() error {
		var err error
		ps, err = writePDFPage(pctx, pg, outDir)
		return err
	})
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return PageSource{}, fmt.Errorf("split: write page %d: %w", p, err)
		}
		return PageSource{}, damaged(err)
	}
	return ps, nil
}
