package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"paperchart/audit"
	"paperchart/patients"
	"paperchart/release"
)

func runAudit(ctx context.Context, args []string, stdout io.Writer) error {
	return subcommand(ctx, args, stdout, "list [--patient MRN | --patient-id N] [--document N] [--actor A] [--since DATE], verify, or anchor", map[string]runFunc{
		"list": auditList, "verify": auditVerify, "anchor": auditAnchor,
	})
}

// anchorConfig says how the chain head is anchored in the object store.
type anchorConfig struct {
	Every time.Duration
	Mode  string
	Days  int
}

func (a *anchorConfig) register(fs *flag.FlagSet, periodic bool) {
	if periodic {
		fs.DurationVar(&a.Every, "audit-anchor-every", envDuration("PAPERCHART_AUDIT_ANCHOR_EVERY", audit.DefaultAnchorEvery),
			"write the audit chain's head to the object store this often, under object lock; 0: never (PAPERCHART_AUDIT_ANCHOR_EVERY)")
	}
	fs.StringVar(&a.Mode, "audit-anchor-mode", env("PAPERCHART_AUDIT_ANCHOR_MODE", audit.ModeCompliance),
		"object lock mode of audit anchors: compliance (nobody can delete them) or governance (PAPERCHART_AUDIT_ANCHOR_MODE)")
	fs.IntVar(&a.Days, "audit-anchor-days", envInt("PAPERCHART_AUDIT_ANCHOR_DAYS", audit.DefaultAnchorDays),
		"days each audit anchor stays under object lock, where the bucket has it (PAPERCHART_AUDIT_ANCHOR_DAYS)")
}

// open connects to the anchors in c's bucket.
func (a anchorConfig) open(ctx context.Context, c *config) (*audit.Anchors, error) {
	return audit.OpenAnchors(ctx, c.objectsConfig(), audit.AnchorOptions{Mode: a.Mode, Days: a.Days})
}

// runAnchorer anchors the chain every a.Every until ctx ends (serve's
// goroutine). It never fails the role: an object store it cannot reach is
// logged, and a bucket without object lock gets anchors without it.
func runAnchorer(ctx context.Context, a anchorConfig, c *config, s *services, log *slog.Logger) {
	if a.Every <= 0 {
		log.Info("audit anchors are off (--audit-anchor-every 0)")
		return
	}
	store, err := a.open(ctx, c)
	if err != nil {
		log.Error("audit anchors are not written", "err", err)
		return
	}
	_ = (&audit.Anchorer{Log: audit.New(s.db.Pool()), Store: store, Every: a.Every, Logger: log}).Run(ctx)
}

// describeLock says under what retention an anchor is kept.
func describeLock(mode string, until time.Time) string {
	if mode == "" {
		return "WITHOUT object lock (the bucket has none): whoever holds the bucket's keys could delete or replace anchors"
	}
	return fmt.Sprintf("under %s object lock until %s", mode, until.Local().Format(time.DateOnly))
}

func auditAnchor(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	var a anchorConfig
	fs := newFlags("audit anchor", "[flags]", "Writes the audit chain's head (the last entry's ID and hash) to the object store, under\n"+
		"object lock where the bucket has it, as serve does every --audit-anchor-every. `audit verify`\n"+
		"checks every anchor: a chain rewritten after an anchored entry no longer matches it.")
	c.register(fs, useDB|useS3)
	a.register(fs, false)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit anchor takes no arguments, got %q", fs.Args())
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := a.open(ctx, &c)
	if err != nil {
		return err
	}
	an, wrote, err := audit.New(db.Pool()).Anchor(ctx, store)
	switch {
	case err != nil:
		return schemaHint(err)
	case an.EntryID == 0:
		fmt.Fprintln(stdout, "the audit trail is empty: nothing to anchor")
	case wrote:
		fmt.Fprintf(stdout, "anchored entry %d (hash %s) as %s, %s\n", an.EntryID, an.Hash, an.Key, describeLock(an.Mode, an.RetainUntil))
	default:
		fmt.Fprintf(stdout, "entry %d is already anchored (%s, written %s)\n", an.EntryID, an.Key, an.At.Local().Format(time.DateTime))
	}
	return nil
}

// verifyOutput is what `audit verify --json` prints.
type verifyOutput struct {
	audit.VerifyReport
	Anchors *audit.AnchorReport `json:"anchors,omitempty"`
}

func auditVerify(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	var a anchorConfig
	fs := newFlags("audit verify", "[flags]", "Checks that the audit trail is whole: recomputes every entry's hash and checks every link\n"+
		"of the chain, then that every anchor in the object store (see `audit anchor`) still matches\n"+
		"the chain. Exits non-zero and names the first broken entry when an entry was changed, deleted\n"+
		"or moved, and each anchor that no longer matches when the chain was rewritten. Run it daily.")
	c.register(fs, useDB|useS3)
	a.register(fs, false)
	asJSON := fs.Bool("json", false, "print JSON for scripts (exit status as without)")
	anchors := fs.Bool("anchors", true, "also check the chain against its anchors in the object store")
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
	log := audit.New(db.Pool())
	rep, err := log.Verify(ctx)
	if err != nil {
		return schemaHint(err)
	}
	out := verifyOutput{VerifyReport: rep}
	if *anchors {
		store, err := a.open(ctx, &c)
		if err != nil {
			return fmt.Errorf("%w (--anchors=false checks the chain alone)", err)
		}
		arep, err := log.VerifyAnchors(ctx, store)
		if err != nil {
			return fmt.Errorf("%w (--anchors=false checks the chain alone)", err)
		}
		out.Anchors = &arep
	}
	if *asJSON {
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	} else {
		if rep.Intact {
			fmt.Fprintf(stdout, "audit chain intact: %d entries (checked in %s)\nlast hash %s\n", rep.Entries, time.Since(start).Round(time.Millisecond), rep.Head)
		} else {
			fmt.Fprintf(stdout, "audit chain BROKEN at entry %d: %s\n", rep.BrokenID, rep.Problem)
			fmt.Fprintf(stdout, "entries before it: %d, intact (last good hash %s)\n", rep.Entries, rep.Head)
		}
		printAnchors(stdout, out.Anchors, c.S3Bucket)
		if !rep.Intact || (out.Anchors != nil && !out.Anchors.Intact) {
			fmt.Fprintln(stdout, "Do not repair the table: copy the database as it is (pg_dump) and report it to whoever is responsible for security.")
		}
	}
	if !rep.Intact {
		return fmt.Errorf("audit chain broken at entry %d", rep.BrokenID)
	}
	if out.Anchors != nil && !out.Anchors.Intact {
		return fmt.Errorf("audit chain does not match its anchors: %s", out.Anchors.Problems[0])
	}
	return nil
}

func printAnchors(w io.Writer, r *audit.AnchorReport, bucket string) {
	switch {
	case r == nil:
		fmt.Fprintln(w, "anchors not checked (--anchors=false)")
		return
	case r.Latest == nil && r.Intact:
		fmt.Fprintf(w, "no anchors in bucket %s yet: serve writes one every few minutes, `paperchart audit anchor` one now\n", bucket)
		return
	case r.Intact:
		fmt.Fprintf(w, "anchors: %d, every one matches the chain\n", r.Anchors)
	default:
		fmt.Fprintf(w, "anchors: %d checked, the chain does NOT match them (rewritten, or anchors tampered with):\n", r.Anchors)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	if l := r.Latest; l != nil {
		fmt.Fprintf(w, "latest anchor: entry %d, written %s, %s\n", l.EntryID, l.At.Local().Format(time.DateTime),
			describeLock(r.LatestLock, r.LatestRetainUntil))
	}
}

func auditList(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("audit list", "[flags]", "Lists audit entries, newest first: who read or changed what, when, from where, with what\n"+
		"outcome. With --patient, every access to that patient and to their documents (records merged\n"+
		"into them and documents read before they were filed included): an accounting of disclosures.\n"+
		"Documents released to a requester (paperchart release) are listed again below the table with\n"+
		"the request, its purpose and the requester.")
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
	disclosed, err := disclosures(ctx, release.NewStore(db.Pool()), es)
	if err != nil {
		return schemaHint(err)
	}
	if *asJSON {
		out := make([]auditListEntry, len(es))
		for i, e := range es {
			out[i] = auditListEntry{Entry: e, Disclosure: disclosed[e.ID]}
		}
		_, err := listed(stdout, out, true, "")
		return err
	}
	if done, err := listed(stdout, es, false, "no audit entries match"); done {
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
	printDisclosures(stdout, es, disclosed)
	if len(es) == f.Limit {
		fmt.Fprintf(stdout, "(the newest %d: use --limit or --since for more)\n", f.Limit)
	}
	return nil
}

// auditListEntry is one entry of `audit list --json`: the entry, and for
// a disclosure (audit.ActionDisclosure) to whom and why, from its request.
type auditListEntry struct {
	audit.Entry
	Disclosure *disclosure `json:"disclosure,omitempty"`
}

// disclosure is what the accounting of disclosures shows of a release:
// the request's number, purpose and requester.
type disclosure struct {
	Request     string            `json:"request"`
	Purpose     release.Purpose   `json:"purpose"`
	PurposeText string            `json:"purpose_text,omitempty"`
	Requester   release.Requester `json:"requester"`
	// Matches is false when the requester is no longer the one the entry
	// recorded (its digest differs): the request was changed afterwards.
	Matches bool `json:"requester_matches"`
}

// disclosures looks up the request of each disclosure entry, by entry ID.
func disclosures(ctx context.Context, store *release.Store, es []audit.Entry) (map[int64]*disclosure, error) {
	var ids []int64
	for _, e := range es {
		if id, ok := release.ResourceID(e.Resource); ok && e.Action == audit.ActionDisclosure {
			ids = append(ids, id)
		}
	}
	out := map[int64]*disclosure{}
	if len(ids) == 0 {
		return out, nil
	}
	reqs, err := store.List(ctx, release.Filter{IDs: ids, Limit: len(ids)})
	if err != nil {
		return nil, err
	}
	byID := map[int64]release.Request{}
	for _, q := range reqs {
		byID[q.ID] = q
	}
	for _, e := range es {
		id, ok := release.ResourceID(e.Resource)
		q, found := byID[id]
		if !ok || !found || e.Action != audit.ActionDisclosure {
			continue
		}
		out[e.ID] = &disclosure{Request: q.Number, Purpose: q.Purpose, PurposeText: q.PurposeText, Requester: q.Requester,
			Matches: strings.Contains(e.Detail, "requester="+q.Requester.Digest())}
	}
	return out, nil
}

// printDisclosures lists the disclosures among es: when, which document,
// to whom, why, and by whom.
func printDisclosures(w io.Writer, es []audit.Entry, d map[int64]*disclosure) {
	if len(d) == 0 {
		return
	}
	fmt.Fprintln(w, "\nDisclosures (release of information), newest first:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tREQUEST\tDOCUMENT\tPURPOSE\tREQUESTER\tRELEASED BY")
	for _, e := range es {
		x := d[e.ID]
		if x == nil {
			continue
		}
		purpose := x.Purpose.Label()
		if x.PurposeText != "" {
			purpose += ": " + x.PurposeText
		}
		who := x.Requester.Name
		if x.Requester.Organisation != "" {
			who += ", " + x.Requester.Organisation
		}
		if a := strings.Join(strings.Fields(x.Requester.Address), " "); a != "" {
			who += ", " + a
		}
		if !x.Matches {
			who += " (CHANGED since the disclosure was recorded)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format(time.DateTime), x.Request, auditID(e.DocumentID), purpose, who, e.Actor)
	}
	tw.Flush()
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
