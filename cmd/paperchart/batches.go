package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"paperchart/api"
	"paperchart/storage"
	"paperchart/workers"
)

func runBatches(ctx context.Context, args []string, stdout io.Writer) error {
	return subcommand(ctx, args, stdout, "list, show ID or retry ID", map[string]runFunc{
		"list": batchesList, "show": batchesShow, "retry": batchesRetry,
	})
}

type runFunc = func(ctx context.Context, args []string, stdout io.Writer) error

// listed prints items as JSON for --json, or the empty message when there
// are none, and reports whether it did; otherwise the caller prints a table.
func listed[T any](w io.Writer, items []T, asJSON bool, empty string) (bool, error) {
	if asJSON {
		if items == nil {
			items = []T{}
		}
		return true, writeJSON(w, items)
	}
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, empty)
		return true, err
	}
	return false, nil
}

// subcommand runs the subcommand args[0] names, or "list" when args start
// with a flag or are empty.
func subcommand(ctx context.Context, args []string, stdout io.Writer, usage string, subs map[string]runFunc) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	run, ok := subs[sub]
	if !ok {
		return fmt.Errorf("unknown subcommand %q: use %s", sub, usage)
	}
	return run(ctx, args, stdout)
}

func batchesList(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("batches", "[list] [flags]", "Lists recent batches, newest first, with their state and progress.\nStates: received, queued, splitting, ocr, assembling, filing, done, failed, rejected, duplicate.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON (an array of batches) for scripts")
	state := fs.String("state", "", "only batches in this state")
	source := fs.String("source", "", "only batches from this drop folder")
	limit := fs.Int("limit", 50, "at most this many batches")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	bs, err := db.ListBatches(ctx, storage.BatchFilter{State: *state, Source: *source, Limit: *limit})
	if err != nil {
		return err
	}
	if done, err := listed(stdout, bs, *asJSON, "no batches yet: drop a file into a drop folder"); done {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSOURCE\tFILE\tSTATE\tPAGES\tNOTE")
	for _, b := range bs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.CreatedAt.Local().Format("2006-01-02 15:04"),
			b.Source, b.Name, b.State, progress(b), note(b))
	}
	return tw.Flush()
}

func progress(b storage.Batch) string {
	if b.Pages == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", b.PagesDone, b.Pages)
}

func note(b storage.Batch) string {
	switch {
	case b.DuplicateOf != nil:
		return fmt.Sprintf("same file as batch %d", *b.DuplicateOf)
	case b.Reason != "":
		return b.Reason
	case b.PagesBlank > 0:
		return fmt.Sprintf("%d blank pages", b.PagesBlank)
	}
	return ""
}

// parseBatchID parses the flags and the one batch ID among args.
func parseBatchID(fs *flag.FlagSet, args []string) (int64, error) { return parseID(fs, args, "batch") }

// parseID parses the flags and the one ID of a what among args.
func parseID(fs *flag.FlagSet, args []string, what string) (int64, error) {
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return 0, err
	}
	if len(fs.Args()) != 1 {
		return 0, fmt.Errorf("give one %s ID", what)
	}
	id, err := strconv.ParseInt(fs.Args()[0], 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%s ID %q is not a positive whole number", what, fs.Args()[0])
	}
	return id, nil
}

func batchesShow(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("batches show", "ID [flags]", "Shows one batch: its state, the reason if it failed or was rejected, every page's\nOCR figures, the documents cut from it, and the batch's history.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	id, err := parseBatchID(fs, args)
	if err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	b, err := db.Batch(ctx, id)
	if err != nil {
		return err
	}
	pages, err := db.Pages(ctx, id)
	if err != nil {
		return err
	}
	events, err := db.Events(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		if pages == nil {
			pages = []storage.Page{}
		}
		// The same shape as GET /api/batches/{id}.
		return writeJSON(stdout, api.BatchDetail{Batch: b, PageList: pages, Events: events})
	}
	fmt.Fprintf(stdout, "Batch %d: %s\n", b.ID, b.State)
	fmt.Fprintf(stdout, "  file      %s (from %s, %d bytes, %s)\n", b.Name, b.Source, b.Size, b.Format)
	fmt.Fprintf(stdout, "  sha256    %s\n", b.SHA256)
	fmt.Fprintf(stdout, "  received  %s\n", b.CreatedAt.Local().Format(time.DateTime))
	if b.FinishedAt != nil {
		fmt.Fprintf(stdout, "  finished  %s (%s)\n", b.FinishedAt.Local().Format(time.DateTime), b.FinishedAt.Sub(b.CreatedAt).Round(time.Second))
	}
	fmt.Fprintf(stdout, "  pages     %s OCR'd, %d failed, %d blank\n", progress(b), b.PagesFailed, b.PagesBlank)
	if n := note(b); n != "" {
		fmt.Fprintf(stdout, "  why       %s\n", n)
	}
	fmt.Fprintf(stdout, "  original  %s\n", b.OriginalKey)
	if b.SearchableKey != "" {
		fmt.Fprintf(stdout, "  pdf       %s\n", b.SearchableKey)
	}
	if len(pages) > 0 {
		fmt.Fprintln(stdout, "\nPages:")
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  PAGE\tSTATE\tWORDS\tCONF\tROTATED\tSKEW\tDPI\tOCR ms\tNOTE")
		for _, p := range pages {
			n := p.Error
			switch {
			case p.Blank:
				n = "blank"
			case p.Kind == storage.PageKindCover || p.Kind == storage.PageKindSeparator:
				n = p.Kind + " sheet"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%.0f\t%d\t%.1f\t%d\t%d\t%s\n", p.No, p.State, p.WordCount, p.MeanConf, p.Rotation, p.Skew, p.DPI, p.OCRMillis, n)
		}
		tw.Flush()
	}
	docs, err := db.BatchDocuments(ctx, id)
	if err != nil {
		return err
	}
	if len(docs) > 0 {
		fmt.Fprintln(stdout, "\nDocuments:")
		if err := documentTable(stdout, docs, "  "); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "\nHistory:")
	for _, e := range events {
		fmt.Fprintf(stdout, "  %s  %-10s %s\n", e.At.Local().Format(time.DateTime), e.Event, e.Detail)
	}
	return nil
}

func batchesRetry(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("batches retry", "ID [flags]", "Puts a failed batch back to work from the stage it failed in; pages already OCR'd\nare kept. Use it after fixing what made it fail (a service down, a full disk).")
	c.register(fs, useDB|useRedis)
	id, err := parseBatchID(fs, args)
	if err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	q := c.queue()
	defer q.Close()
	state, err := db.RetryBatch(ctx, id)
	if err != nil {
		return err
	}
	b, err := db.Batch(ctx, id)
	if err != nil {
		return err
	}
	r := &workers.Reconciler{DB: db, Queue: q, Log: c.logger()}
	n, err := r.Resume(ctx, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "batch %d resumes at %s; %d tasks queued\n", id, state, n)
	return nil
}

// reorder moves flags before positional arguments, so `show 12 --json`
// works as well as `show --json 12`.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && i+1 < len(args) {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				i++
				flags = append(flags, args[i]) // the flag's value
			}
		}
	}
	return append(flags, pos...)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
