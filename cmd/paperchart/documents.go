package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"paperchart/audit"
	"paperchart/classify"
	"paperchart/storage"
)

func runDocuments(ctx context.Context, args []string, stdout io.Writer) error {
	return subcommand(ctx, args, stdout, "list, show ID or move ID", map[string]runFunc{"list": documentsList, "show": documentsShow, "move": documentsMove})
}

func documentsList(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("documents", "[list] [flags]", "Lists documents cut from batches, newest first: pages, state (filed, review, discarded, moved),\n"+
		"type, the confidence of each decision (split/type/patient) and, for review, why.\nPatients are shown by ID: `paperchart patients show` names them.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON (an array of documents) for scripts")
	state := fs.String("state", "", "only documents in this state: filed, review, discarded or moved (filed, then moved to another\npatient or type: `documents show` names the document that replaced it)")
	batch := fs.Int64("batch", 0, "only documents of this batch")
	patient := fs.Int64("patient", 0, "only documents filed to this patient ID")
	limit := fs.Int("limit", 50, "at most this many documents")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *state {
	case "", storage.DocFiled, storage.DocReview, storage.DocDiscarded, storage.DocMoved:
	default:
		return fmt.Errorf("--state %q: use filed, review, discarded or moved", *state)
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	docs, err := db.ListDocuments(ctx, storage.DocumentFilter{State: *state, BatchID: *batch, PatientID: *patient, Limit: *limit})
	if err != nil {
		return err
	}
	if done, err := listed(stdout, docs, *asJSON, "no documents"); done {
		return err
	}
	if *state == storage.DocReview || *state == "" {
		if n, err := db.ReviewCount(ctx); err == nil {
			fmt.Fprintf(stdout, "%d documents wait for review\n\n", n)
		}
	}
	return documentTable(stdout, docs, "")
}

// documentTable prints documents one a line, without patient data.
func documentTable(w io.Writer, docs []storage.Document, indent string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%sID\tBATCH\tPAGES\tSTATE\tTYPE\tSPLIT/TYPE/PATIENT\tPATIENT\tWHY\n", indent)
	for _, d := range docs {
		typ := d.Type
		if typ == "" {
			typ = d.TypeSuggested + "?"
		}
		patient := "-"
		switch {
		case d.PatientID != nil:
			patient = fmt.Sprint(*d.PatientID)
		case d.PatientSuggested != nil:
			patient = fmt.Sprintf("%d?", *d.PatientSuggested)
		}
		why := ""
		if d.State == storage.DocReview && len(d.ReviewReasons) > 0 {
			why = d.ReviewReasons[0]
			if len(d.ReviewReasons) > 1 {
				why += fmt.Sprintf(" (+%d)", len(d.ReviewReasons)-1)
			}
		}
		fmt.Fprintf(tw, "%s%d\t%d\t%s\t%s\t%s\t%.2f/%.2f/%.2f\t%s\t%s\n", indent, d.ID, d.BatchID, pageList(d.Pages), d.State, typ,
			d.SplitConfidence, d.TypeConfidence, d.PatientConfidence, patient, why)
	}
	return tw.Flush()
}

// pageList writes page numbers compactly: 1-3,5.
func pageList(ps []int) string {
	var b strings.Builder
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ps[i], ps[j])
		} else {
			fmt.Fprint(&b, ps[i])
		}
		i = j + 1
	}
	return b.String()
}

// cliActor names the person running a command, for a document's history.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// auditRead writes a command's read of patient data to the audit trail,
// as the person at the command line, before anything is shown.
func auditRead(ctx context.Context, trail *audit.Log, e audit.Entry) error {
	e.Actor, e.Outcome = cliActor(), audit.OutcomeOK
	if _, err := trail.Record(ctx, e); err != nil {
		return fmt.Errorf("nothing is shown: %w", err)
	}
	return nil
}

func documentsShow(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("documents show", "ID [flags]", "Shows one document: its pages, the three decisions (split, type, patient) with their\n"+
		"confidences and reasons, the candidate patients with what agreed, and its history. It shows\npatient data, and is recorded in the document's history and the audit trail as a read.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	id, err := parseID(fs, args, "document")
	if err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := db.Document(ctx, id)
	if err != nil {
		return err
	}
	if err := db.RecordDocumentEvent(ctx, id, cliActor(), "viewed", "paperchart documents show"); err != nil {
		return err
	}
	if err := auditRead(ctx, audit.New(db.Pool()), audit.Entry{Action: audit.ActionDocumentView,
		Resource: fmt.Sprintf("DocumentReference/%d", d.ID), DocumentID: &d.ID, PatientID: d.PatientID, Detail: "paperchart documents show"}); err != nil {
		return err
	}
	evs, err := db.DocumentEvents(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			storage.Document
			Events []storage.DocumentEvent `json:"events"`
		}{d, evs})
	}
	name := d.TypeSuggested
	if t, ok := classify.Lookup(d.TypeSuggested); ok {
		name = fmt.Sprintf("%s (%s, LOINC %s)", t.Name, t.Code, t.LOINC)
	}
	fmt.Fprintf(stdout, "Document %d: %s\n", d.ID, d.State)
	fmt.Fprintf(stdout, "  batch     %d, document %d, pages %s\n", d.BatchID, d.Seq, pageList(d.Pages))
	if d.PatientID != nil {
		fmt.Fprintf(stdout, "  patient   %d (filed by %s)\n", *d.PatientID, d.FiledBy)
	}
	fmt.Fprintf(stdout, "  split     %.3f by %s%s: %s\n", d.SplitConfidence, d.SeparatedBy, reviewMark(d.SplitReview), strings.Join(d.SplitReasons, "; "))
	fmt.Fprintf(stdout, "  type      %.3f %s%s\n", d.TypeConfidence, name, reviewMark(d.TypeReview))
	fmt.Fprintf(stdout, "  patient   %.4f%s\n", d.PatientConfidence, reviewMark(d.PatientReview))
	if d.ServiceDate != nil {
		fmt.Fprintf(stdout, "  service   %s\n", d.ServiceDate.Format(time.DateOnly))
	}
	fmt.Fprintf(stdout, "  pdf       %s\n", d.ObjectKey)
	if d.Replaces != nil {
		fmt.Fprintf(stdout, "  replaces  document %d (moved from it)\n", *d.Replaces)
	}
	if d.State == storage.DocMoved {
		if to, err := db.ReplacedBy(ctx, d.ID); err == nil && to > 0 {
			fmt.Fprintf(stdout, "  moved to  document %d\n", to)
		}
	}
	if len(d.ReviewReasons) > 0 {
		fmt.Fprintln(stdout, "\nWhy a person must look:")
		for _, r := range d.ReviewReasons {
			fmt.Fprintf(stdout, "  - %s\n", r)
		}
	}
	if len(d.Candidates) > 0 {
		fmt.Fprintln(stdout, "\nCandidates:")
		for i, cd := range d.Candidates {
			fmt.Fprintf(stdout, "  %d. patient %d  p=%.4f  %.1f bits  found by %s\n", i+1, cd.PatientID, cd.Probability, cd.Weight, strings.Join(cd.FoundBy, ", "))
			for _, r := range cd.Reasons {
				fmt.Fprintf(stdout, "       %s\n", r)
			}
		}
	}
	fmt.Fprintln(stdout, "\nHistory:")
	for _, e := range evs {
		fmt.Fprintf(stdout, "  %s  %-10s %-12s %s\n", e.At.Local().Format(time.DateTime), e.Event, e.Actor, e.Detail)
	}
	return nil
}

func reviewMark(r bool) string {
	if r {
		return " — REVIEW"
	}
	return ""
}
