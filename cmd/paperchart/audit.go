package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"paperchart/audit"
	"paperchart/patients"
)

func runAudit(ctx context.Context, args []string, stdout io.Writer) error {
	return subcommand(ctx, args, stdout, "list [--patient MRN | --patient-id N] [--document N] [--actor A] [--since DATE], or verify", map[string]runFunc{
		"list": auditList, "verify": auditVerify,
	})
}

func auditVerify(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("audit verify", "[flags]", "Checks that the audit trail is whole: recomputes every entry's hash and checks every link\n"+
		"of the chain. Exits non-zero and names the first broken entry when an entry was changed, deleted\n"+
		"or moved. Run it daily (cron, a systemd timer) and keep the last hash it prints somewhere else.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON for scripts (exit status as without)")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit verify takes no arguments, got %q", fs.Args())
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	rep, err := audit.New(db.Pool()).Verify(ctx)
	if err != nil {
		return schemaHint(err)
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else if rep.Intact {
		fmt.Fprintf(stdout, "audit chain intact: %d entries (checked in %s)\nlast hash %s\n", rep.Entries, time.Since(start).Round(time.Millisecond), rep.Head)
	} else {
		fmt.Fprintf(stdout, "audit chain BROKEN at entry %d: %s\n", rep.BrokenID, rep.Problem)
		fmt.Fprintf(stdout, "entries before it: %d, intact (last good hash %s)\n", rep.Entries, rep.Head)
		fmt.Fprintln(stdout, "Do not repair the table: copy the database as it is (pg_dump) and report it to whoever is responsible for security.")
	}
	if !rep.Intact {
		return fmt.Errorf("audit chain broken at entry %d", rep.BrokenID)
	}
	return nil
}

func auditList(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("audit list", "[flags]", "Lists audit entries, newest first: who read or changed what, when, from where, with what\n"+
		"outcome. With --patient, every access to that patient and to their documents (records merged\n"+
		"into them and documents read before they were filed included): an accounting of disclosures.")
	c.register(fs, useDB)
	authority := authorityFlag(fs)
	mrn := fs.String("patient", "", "only accesses to this patient, by MRN (or AUTHORITY|MRN)")
	patientID := fs.Int64("patient-id", 0, "only accesses to this patient, by paperchart's patient ID")
	documentID := fs.Int64("document", 0, "only accesses to this document (its ID)")
	actor := fs.String("actor", "", "only what this actor did: user:NAME, token:NAME or system")
	since := fs.String("since", "", "only entries from this date (YYYY-MM-DD, local time) or time (RFC 3339) on")
	limit := fs.Int("limit", audit.DefaultLimit, "at most this many entries")
	asJSON := fs.Bool("json", false, "print JSON (an array of entries) for scripts")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit list takes flags only, got %q (see `paperchart audit list --help`)", fs.Args())
	}
	if *mrn != "" && *patientID != 0 {
		return errors.New("give --patient or --patient-id, not both")
	}
	if *limit < 1 {
		return errors.New("--limit must be at least 1")
	}
	f := audit.Filter{Actor: strings.TrimSpace(*actor), Limit: *limit}
	if *documentID != 0 {
		f.DocumentID = documentID
	}
	if *since != "" {
		t, err := parseAuditSince(*since)
		if err != nil {
			return err
		}
		f.Since = t
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	var about string // what the listing is about, for people
	if *mrn != "" || *patientID != 0 {
		x := patients.New(db.Pool(), patients.Options{})
		var p patients.Patient
		var err error
		if *mrn != "" {
			ref := parseRef(*mrn, *authority)
			if p, err = x.ByMRN(ctx, ref.Authority, ref.MRN); err != nil {
				if errors.Is(err, patients.ErrNotFound) {
					return fmt.Errorf("no patient with MRN %s in the index (`paperchart patients search` finds one): %w", *mrn, err)
				}
				return schemaHint(err)
			}
		} else if p, err = x.ByID(ctx, *patientID); err != nil && !errors.Is(err, patients.ErrNotFound) {
			return schemaHint(err)
		}
		id := *patientID
		about = fmt.Sprintf("Accesses to patient %d", id)
		if p.ID != 0 {
			id = p.ID
			about = fmt.Sprintf("Accesses to patient %d (%s|%s)", p.ID, p.Authority, p.MRN)
			if p.MergedInto != nil {
				// The person is now the survivor: their accesses are all there.
				s, err := x.Resolve(ctx, p.ID)
				if err != nil {
					return err
				}
				id = s.ID
				about = fmt.Sprintf("Patient %d (%s|%s) was merged into patient %d (%s|%s). Accesses to patient %d",
					p.ID, p.Authority, p.MRN, s.ID, s.Authority, s.MRN, s.ID)
			}
		}
		f.PatientID = &id
		about += ", records merged into it and documents filed to it, newest first:"
	}
	es, err := audit.New(db.Pool()).List(ctx, f)
	if err != nil {
		return schemaHint(err)
	}
	if done, err := listed(stdout, es, *asJSON, "no audit entries match"); done {
		return err
	}
	if about != "" {
		fmt.Fprintln(stdout, about)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tRESOURCE\tPATIENT\tDOCUMENT\tOUTCOME\tFROM\tDETAIL")
	for _, e := range es {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.At.Local().Format(time.DateTime), e.Actor, e.Action,
			auditDash(e.Resource), auditID(e.PatientID), auditID(e.DocumentID), e.Outcome, auditDash(e.Remote), e.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(es) == f.Limit {
		fmt.Fprintf(stdout, "(the newest %d: use --limit or --since for more)\n", f.Limit)
	}
	return nil
}

// parseAuditSince reads a date (local midnight) or an RFC 3339 time.
func parseAuditSince(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: give a date as YYYY-MM-DD or a time as 2026-03-02T09:00:00Z", s)
}

func auditID(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

func auditDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
