package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/release"
)

func runRelease(ctx context.Context, args []string, stdout io.Writer) error {
	return subcommand(ctx, args, stdout, "list [--status S], show REL-N, or packet REL-N --out FILE", map[string]runFunc{
		"list": releaseList, "show": releaseShow, "packet": releasePacket,
	})
}

// parseRequestNumber reads the one argument, REL-N or N.
func parseRequestNumber(fs *flag.FlagSet, args []string) (int64, error) {
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return 0, err
	}
	if len(fs.Args()) != 1 {
		return 0, errors.New("give one request number (REL-N)")
	}
	return release.ParseNumber(fs.Args()[0])
}

func releaseList(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("release", "[list] [flags]", "Lists requests for release of information: undecided ones first, by due date (30 days\n"+
		"after receipt; OVERDUE when past it), then decided ones, newest first. It shows patient data\n"+
		"(the patient and the requester), and is recorded in the audit trail as a read.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON (an array of requests) for scripts")
	status := fs.String("status", "", "only requests in this status: open, in_review, released or denied")
	limit := fs.Int("limit", 500, "at most this many requests")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("release list takes flags only, got %q", fs.Args())
	}
	f := release.Filter{Limit: *limit}
	if *status != "" {
		st, err := release.ParseStatus(*status)
		if err != nil {
			return err
		}
		f.Status = st
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	reqs, err := release.NewStore(db.Pool()).List(ctx, f)
	if err != nil {
		return schemaHint(err)
	}
	ids := make([]string, len(reqs))
	for i, q := range reqs {
		ids[i] = strconv.FormatInt(q.ID, 10)
	}
	if err := auditRead(ctx, audit.New(db.Pool()), audit.Entry{Action: release.ActionList, Resource: "ReleaseRequest",
		Detail: "paperchart release list: " + strings.Join(ids, ",")}); err != nil {
		return err
	}
	if done, err := listed(stdout, reqs, *asJSON, "no release requests"); done {
		return err
	}
	today := chart.DateOf(time.Now())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tSTATUS\tRECEIVED\tDUE\tPATIENT\tREQUESTER\tPURPOSE")
	for _, q := range reqs {
		due := q.Due.String()
		if q.Overdue(today) {
			due += " OVERDUE"
		}
		who := q.Requester.Name
		if q.Requester.Organisation != "" {
			who += " (" + q.Requester.Organisation + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s MRN %s\t%s\t%s\n", q.Number, q.Status.Label(), q.Received, due, q.PatientName, q.MRN, who, q.Purpose.Label())
	}
	return tw.Flush()
}

// releaseShowOutput is what `release show --json` prints.
type releaseShowOutput struct {
	release.Request
	Selected []selectedDocument `json:"selected"`
}

type selectedDocument struct {
	ID          int64      `json:"id"`
	Type        string     `json:"type"`
	ServiceDate chart.Date `json:"service_date,omitzero"`
	Pages       int        `json:"pages"`
	Excluded    bool       `json:"excluded"`
	Redactions  int        `json:"redactions"`
}

func releaseShow(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("release show", "REL-N [flags]", "Shows one request for release of information: requester, purpose, patient, authorisation,\n"+
		"due date, status, the documents it selects (and which the technician excluded or redacted) and,\n"+
		"once released, the packet's contents. Recorded in the audit trail as a read.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	id, err := parseRequestNumber(fs, args)
	if err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	store := release.NewStore(db.Pool())
	q, err := store.Get(ctx, id)
	if err != nil {
		return schemaHint(err)
	}
	pid := q.PatientID
	if err := auditRead(ctx, audit.New(db.Pool()), audit.Entry{Action: release.ActionView, Resource: release.Resource(q.ID), PatientID: &pid,
		Detail: "paperchart release show " + q.Number}); err != nil {
		return err
	}
	docs, err := (&release.Releaser{Requests: store, DB: db}).Documents(ctx, q)
	if err != nil {
		return err
	}
	out := releaseShowOutput{Request: q, Selected: []selectedDocument{}}
	for _, d := range docs {
		sd := selectedDocument{ID: d.ID, Type: d.Type, Pages: len(d.Pages), Excluded: q.IsExcluded(d.ID)}
		if d.ServiceDate != nil {
			sd.ServiceDate = chart.DateOf(d.ServiceDate.UTC())
		}
		for _, no := range d.Pages {
			sd.Redactions += len(q.BoxesOn(d.ID, no))
		}
		out.Selected = append(out.Selected, sd)
	}
	if *asJSON {
		return writeJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "%s: %s\n", q.Number, q.Status.Label())
	fmt.Fprintf(stdout, "  requester   %s\n", q.Requester.Name)
	if q.Requester.Organisation != "" {
		fmt.Fprintf(stdout, "              %s\n", q.Requester.Organisation)
	}
	for _, l := range strings.Split(q.Requester.Address, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			fmt.Fprintf(stdout, "              %s\n", l)
		}
	}
	purpose := q.Purpose.Label()
	if q.PurposeText != "" {
		purpose += ": " + q.PurposeText
	}
	fmt.Fprintf(stdout, "  purpose     %s\n", purpose)
	fmt.Fprintf(stdout, "  patient     %s, MRN %s (patient %d)\n", q.PatientName, q.MRN, q.PatientID)
	auth := "none on file"
	if q.AuthorizationOnFile {
		auth = "on file"
		if q.AuthorizationDocument != nil {
			auth += fmt.Sprintf(" (document %d)", *q.AuthorizationDocument)
		}
	}
	fmt.Fprintf(stdout, "  authorised  %s\n", auth)
	due := q.Due.String()
	if q.Overdue(chart.DateOf(time.Now())) {
		due += " OVERDUE"
	}
	fmt.Fprintf(stdout, "  received    %s, due %s\n", q.Received, due)
	fmt.Fprintf(stdout, "  recorded    by %s at %s\n", q.CreatedBy, q.CreatedAt.Local().Format(time.DateTime))
	if q.DecidedAt != nil {
		fmt.Fprintf(stdout, "  %-11s by %s at %s\n", q.Status.Label(), q.DecidedBy, q.DecidedAt.Local().Format(time.DateTime))
	}
	if q.DenyReason != "" {
		fmt.Fprintf(stdout, "  reason      %s\n", q.DenyReason)
	}
	fmt.Fprintln(stdout, "\nDocuments selected:")
	if len(out.Selected) == 0 {
		fmt.Fprintln(stdout, "  none")
	}
	for _, d := range out.Selected {
		mark := ""
		if d.Excluded {
			mark = "  EXCLUDED"
		}
		if d.Redactions > 0 {
			mark += fmt.Sprintf("  %d redaction boxes", d.Redactions)
		}
		fmt.Fprintf(stdout, "  document %d  %s  %s  %d pages%s\n", d.ID, d.Type, auditDash(d.ServiceDate.String()), d.Pages, mark)
	}
	if q.Status == release.StatusReleased {
		fmt.Fprintf(stdout, "\nPacket: %d pages, %d bytes, SHA-256 %s (paperchart release packet %s --out FILE)\n", q.PacketPages, q.PacketSize, q.PacketSHA256, q.Number)
		for _, d := range q.PacketDocuments {
			fmt.Fprintf(stdout, "  pages %d-%d  document %d  %s\n", d.FirstPage, d.FirstPage+d.Pages-1, d.Document, d.Type)
		}
	}
	return nil
}

func releasePacket(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("release packet", "REL-N --out FILE [flags]", "Writes the stored packet of a released request (the PDF that was released: cover letter,\n"+
		"stamped and redacted pages) to FILE. Each document in it is recorded in the audit trail as read.")
	c.register(fs, useDB|useS3)
	outPath := fs.String("out", "", "the file to write the packet to (required; - for stdout)")
	id, err := parseRequestNumber(fs, args)
	if err != nil {
		return err
	}
	if *outPath == "" {
		return errors.New("give --out FILE")
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	q, err := release.NewStore(db.Pool()).Get(ctx, id)
	if err != nil {
		return schemaHint(err)
	}
	if q.Status != release.StatusReleased || q.PacketKey == "" {
		return fmt.Errorf("%s is %s: only a released request has a packet", q.Number, q.Status.Label())
	}
	objs, err := c.openObjects(ctx)
	if err != nil {
		return err
	}
	trail := audit.New(db.Pool())
	pid := q.PatientID
	if err := auditRead(ctx, trail, audit.Entry{Action: release.ActionPacket, Resource: release.Resource(q.ID), PatientID: &pid,
		Detail: "paperchart release packet " + q.Number}); err != nil {
		return err
	}
	for _, d := range q.PacketDocuments {
		doc := d.Document
		if err := auditRead(ctx, trail, audit.Entry{Action: audit.ActionDocumentPDF, Resource: fmt.Sprintf("DocumentReference/%d", doc),
			DocumentID: &doc, PatientID: &pid, Detail: "paperchart release packet " + q.Number}); err != nil {
			return err
		}
	}
	b, err := objs.Get(ctx, q.PacketKey)
	if err != nil {
		return err
	}
	if *outPath == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*outPath, b, 0o600); err != nil {
		return fmt.Errorf("write packet: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d pages, %d bytes) to %s\n", q.Number, q.PacketPages, len(b), *outPath)
	return nil
}
