package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/classify"
	"paperchart/search"
)

func runSearch(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("search", "QUERY [flags]  |  search --reindex", "Searches the OCR text of filed documents: plain words (stemmed: fractures finds fracture),\n"+
		"\"quoted phrases\", -word to leave out, or; the last word also finds words it begins.\n"+
		"Prints each document found, best first, with its patient, type, date of service, the page of the\n"+
		"best hit and a snippet with the matches in [brackets]. It shows patient data, and every search is\n"+
		"recorded in the audit trail with the query text, as the person at the command line.\n"+
		"--reindex builds the search index of every filed document again (it is kept up to date by itself;\n"+
		"this is for after a restore or a change of the text search configuration).")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON ({\"total\": N, \"hits\": [...]}) for scripts")
	mrn := fs.String("patient", "", "only documents of the patient with this MRN")
	typ := fs.String("type", "", "only documents of this type code (discharge-summary, lab-report, ...)")
	from := fs.String("from", "", "only documents with a date of service on or after this date")
	to := fs.String("to", "", "only documents with a date of service on or before this date")
	facility := fs.String("facility", "", "only documents of this facility, as the letterhead names it")
	batch := fs.Int64("batch", 0, "only documents of this batch")
	limit := fs.Int("limit", search.DefaultLimit, fmt.Sprintf("at most this many documents (up to %d)", search.MaxLimit))
	reindex := fs.Bool("reindex", false, "build the search index of every filed document again, then stop")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if *reindex {
		if text != "" {
			return errors.New("--reindex takes no query")
		}
	} else if strings.TrimSpace(text) == "" {
		return errors.New("give the words to search for: paperchart search QUERY")
	}
	q := search.Query{Text: text, MRN: chart.ParseMRN(*mrn), Type: *typ, Facility: *facility, BatchID: *batch, Limit: *limit}
	if q.Type != "" {
		if _, ok := classify.Lookup(q.Type); !ok {
			return fmt.Errorf("--type %q is not a document type code", q.Type)
		}
	}
	for _, d := range []struct {
		flag, v string
		to      *chart.Date
	}{{"from", *from, &q.From}, {"to", *to, &q.To}} {
		if d.v == "" {
			continue
		}
		v, err := chart.ParseDate(d.v)
		if err != nil {
			return fmt.Errorf("--%s: give a date such as 2024-03-14", d.flag)
		}
		*d.to = v
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if *reindex {
		var n int64
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT search_index_document(id) FROM documents WHERE state = 'filed') AS indexed`).Scan(&n); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		_, err := fmt.Fprintf(stdout, "%d filed documents indexed\n", n)
		return err
	}
	s := &search.Searcher{Pool: db.Pool(), Audit: audit.New(db.Pool())}
	res, err := s.Search(ctx, search.Who{Actor: cliActor()}, q)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	if len(res.Hits) == 0 {
		_, err := fmt.Fprintln(stdout, "no documents found")
		return err
	}
	more := ""
	if res.More {
		more = "+"
	}
	fmt.Fprintf(stdout, "%d%s documents found", res.Total, more)
	if res.More {
		fmt.Fprintf(stdout, " (the best of the newest %d: add words or filters to narrow it)", res.Total)
	}
	if res.Total > len(res.Hits) {
		fmt.Fprintf(stdout, ", the best %d shown", len(res.Hits))
	}
	fmt.Fprintln(stdout)
	for _, h := range res.Hits {
		date := h.ServiceDate.String()
		if date == "" {
			date = "no date"
		}
		fmt.Fprintf(stdout, "\ndocument %d  page %d of %d  patient %d (MRN %s)  %s  %s  batch %d\n", h.DocumentID, h.Page, h.PageCount,
			h.PatientID, h.MRN, h.Type, date, h.BatchID)
		fmt.Fprintf(stdout, "  %s\n", strings.Join(strings.Fields(h.SnippetText("[", "]")), " "))
	}
	return nil
}
