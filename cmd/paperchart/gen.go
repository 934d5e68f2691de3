package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"paperchart/scangen"
)

const genUsage = `usage: paperchart gen [flags]

Gen writes a synthetic scanned batch of fictional medical records: a PDF or
multi-page TIFF (or a single-page JPEG or PNG) of rendered pages with
scanner effects (skew, noise, tone, bilevel pages, pages fed sideways or
upside down, blank sheets), and optionally its ground truth as JSON. The
same seed and flags always give the same file.

The file is written to FILE.tmp and renamed to FILE when complete, so a
drop folder never sees a partial batch. Keep --truth out of the drop
folder: it is not a scan.

Flags:
  --out FILE          file to write (required); its extension (.pdf, .tif,
                      .tiff, .jpg, .jpeg, .png) gives the format
  --format F          pdf, tiff, jpeg or png, overriding the extension
  --pages N           number of pages (default 10; 1 for jpeg and png,
                      which hold one page)
  --seed S            random seed, an unsigned integer (default 1)
  --dpi D             resolution; 0 means 300 with --clean, else one of 200,
                      240 or 300 drawn from the seed (default 0)
  --clean             no degradation: upright, unskewed, noiseless pages
                      and no blank sheets
  --bilevel P         share of pages stored black and white, 0..1 (default 0.3)
  --rotate-prob P     probability a page is rotated 90, 180 or 270 degrees,
                      0..1 (default 0.05)
  --blank-prob P      probability that a page is a blank sheet (noise
                      only), 0..1 (default 0.05)
  --truth FILE        also write the ground truth (text, rotation, skew, ...
                      per page) as JSON to FILE; default: none

Example:
  paperchart gen --out var/drop/batch-0001.pdf --pages 20 --seed 7 \
      --truth var/truth/batch-0001.json
`

// runGen implements "paperchart gen". It prints one line on success.
func runGen(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), genUsage) }
	def := scangen.DefaultOptions()
	var (
		out     = fs.String("out", "", "")
		format  = fs.String("format", "", "")
		pages   = fs.Int("pages", def.Pages, "")
		seed    = fs.Uint64("seed", 1, "")
		dpi     = fs.Int("dpi", 0, "")
		clean   = fs.Bool("clean", false, "")
		bilevel = fs.Float64("bilevel", def.Bilevel, "")
		rotate  = fs.Float64("rotate-prob", def.RotateProb, "")
		blank   = fs.Float64("blank-prob", def.BlankProb, "")
		truth   = fs.String("truth", "", "")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *pages < 1 {
		return fmt.Errorf("--pages must be at least 1, not %d", *pages)
	}
	if *out == "" {
		fs.Usage()
		return errors.New("--out is required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opt := def
	opt.Pages, opt.Seed, opt.DPI, opt.Clean = *pages, *seed, *dpi, *clean
	opt.Bilevel, opt.RotateProb, opt.BlankProb = *bilevel, *rotate, *blank
	if *format != "" {
		opt.Format = scangen.Format(*format)
		if opt.Format == "tif" {
			opt.Format = scangen.FormatTIFF
		}
		if opt.Format == "jpg" {
			opt.Format = scangen.FormatJPEG
		}
	} else {
		f, err := scangen.FormatFromPath(*out)
		if err != nil {
			return fmt.Errorf("%w (use --format)", err)
		}
		opt.Format = f
	}
	if (opt.Format == scangen.FormatJPEG || opt.Format == scangen.FormatPNG) && !set["pages"] {
		opt.Pages = 1 // a single image; --pages defaults to 1 here
	}
	if *truth != "" && abs(*truth) == abs(*out) {
		return errors.New("--truth and --out name the same file")
	}
	t, err := scangen.WriteFile(ctx, *out, opt)
	if err != nil {
		return err
	}
	if *truth != "" {
		b, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*truth, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(stdout, "wrote %s: %d pages (%s)\n", *out, len(t.Pages), opt.Format)
	return err
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	return a
}
