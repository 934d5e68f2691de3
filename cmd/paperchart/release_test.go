package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/release"
)

// TestReleaseCommand: release list, show and packet, and the accounting
// of disclosures in audit list --patient: one row per released document,
// with the request, purpose and requester; a denied request none.
func TestReleaseCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	obj := testenv.Objects(t)
	_, err := patients.New(db.Pool(), patients.Options{}).Import(ctx, strings.NewReader(filingtest.Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	f, err := filing.New(db, obj, filing.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testenv.Must(t, err, "filer")
	id := filingtest.Batch(t, db, obj, "cmd-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}})
	_, err = f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	doc := docs[0]

	store := release.NewStore(db.Pool())
	trail := audit.New(db.Pool())
	rel := &release.Releaser{Requests: store, DB: db, Objects: obj, Audit: trail, WorkDir: t.TempDir()}
	released, err := store.Create(ctx, release.NewRequest{Requester: release.Requester{Name: "Dana Whitfield", Organisation: "Whitfield & Ames LLP"},
		Purpose: release.PurposeLegal, PurposeText: "subpoena 24-CV-118", PatientID: *doc.PatientID, Selection: release.Selection{Documents: []int64{doc.ID}}}, "ann")
	testenv.Must(t, err, "create")
	_, _, err = rel.Release(ctx, released.ID, "ann", "user:ann", "127.0.0.1")
	testenv.Must(t, err, "release")
	denied, err := store.Create(ctx, release.NewRequest{Requester: release.Requester{Name: "Acme Insurance"}, Purpose: release.PurposePayment,
		PatientID: *doc.PatientID, Received: chart.Date{Year: 2020, Month: 5, Day: 1}}, "ann")
	testenv.Must(t, err, "create")
	open, err := store.Create(ctx, release.NewRequest{Requester: release.Requester{Name: "Dr Rowe"}, Purpose: release.PurposeTreatment,
		PatientID: *doc.PatientID, Received: chart.Date{Year: 2020, Month: 5, Day: 1}}, "ann")
	testenv.Must(t, err, "create")
	_, err = store.Deny(ctx, denied.ID, "bob", "no authorisation")
	testenv.Must(t, err, "deny")

	dbFlag := "--database-url=" + url
	out := filepath.Join(t.TempDir(), "packet.pdf")
	runCommandCases(t, runRelease, []commandCase{
		{"list", []string{dbFlag}, "", []string{"REQUEST", released.Number, "released", denied.Number, "denied", open.Number, "open",
			"2020-05-31 OVERDUE", "HARTMANN, ELISE MRN 00410001", "Dana Whitfield (Whitfield & Ames LLP)"}, nil},
		{"list open", []string{"list", "--status", "open", dbFlag}, "", []string{open.Number}, []string{released.Number, denied.Number}},
		{"list json", []string{"list", "--json", dbFlag}, "", []string{`"number": "` + released.Number + `"`, `"status": "denied"`}, nil},
		{"bad status", []string{"list", "--status", "lost", dbFlag}, "a status is", nil, nil},
		{"show", []string{"show", released.Number, dbFlag}, "", []string{released.Number + ": released", "Legal: subpoena 24-CV-118",
			fmt.Sprintf("document %d  discharge-summary  2024-03-14  1 pages", doc.ID), "Packet: 2 pages", "pages 2-2"}, nil},
		{"show json", []string{"show", fmt.Sprint(denied.ID), "--json", dbFlag}, "", []string{`"deny_reason": "no authorisation"`, `"selected"`}, nil},
		{"show missing", []string{"show", "REL-999", dbFlag}, "not found", nil, nil},
		{"show bad number", []string{"show", "X-1", dbFlag}, "REL-N", nil, nil},
		{"packet", []string{"packet", released.Number, "--out", out, dbFlag, "--s3-bucket=" + obj.Bucket()}, "", []string{"wrote " + released.Number + " (2 pages"}, nil},
		{"packet of a denied request", []string{"packet", denied.Number, "--out", out, dbFlag, "--s3-bucket=" + obj.Bucket()}, "only a released request", nil, nil},
		{"packet without --out", []string{"packet", released.Number, dbFlag}, "--out", nil, nil},
	})
	b, err := os.ReadFile(out)
	testenv.Must(t, err, "read packet")
	if !strings.HasPrefix(string(b), "%PDF-") {
		t.Fatal("the packet is not a PDF")
	}
	txt, err := exec.Command("pdftotext", out, "-").Output()
	testenv.Must(t, err, "pdftotext")
	if !strings.Contains(string(txt), released.Number+" page 2 of 2") {
		t.Errorf("packet text lacks its stamp:\n%s", txt)
	}

	runCommandCases(t, runAudit, []commandCase{
		{"accounting of disclosures", []string{"list", "--patient", "00410001", dbFlag}, "",
			[]string{"Disclosures (release of information)", released.Number, "document.disclosure", "Legal: subpoena 24-CV-118",
				"Dana Whitfield, Whitfield & Ames LLP", "user:ann"}, []string{"Acme", "CHANGED"}},
	})
	var es []auditListEntry
	var buf strings.Builder
	testenv.Must(t, runAudit(ctx, []string{"list", "--patient", "00410001", "--json", dbFlag}, &buf), "audit list --json")
	testenv.Must(t, json.Unmarshal([]byte(buf.String()), &es), "decode")
	n := 0
	for _, e := range es {
		if e.Action == audit.ActionDisclosure {
			n++
			if e.Disclosure == nil || e.Disclosure.Request != released.Number || e.Disclosure.Purpose != release.PurposeLegal ||
				e.Disclosure.Requester.Name != "Dana Whitfield" || !e.Disclosure.Matches || *e.DocumentID != doc.ID {
				t.Errorf("disclosure %+v %+v", e.Entry, e.Disclosure)
			}
		} else if e.Disclosure != nil {
			t.Errorf("entry %d (%s) has a disclosure", e.ID, e.Action)
		}
	}
	if n != 1 {
		t.Errorf("%d disclosures, want 1", n)
	}
	// Every command's read is in the trail, as the person at the command line.
	all, err := trail.List(ctx, audit.Filter{Limit: 100})
	testenv.Must(t, err, "audit")
	seen := map[string]bool{}
	for _, e := range all {
		if strings.HasPrefix(e.Actor, "cli") {
			seen[e.Action] = true
		}
	}
	for _, a := range []string{release.ActionList, release.ActionView, release.ActionPacket, audit.ActionDocumentPDF} {
		if !seen[a] {
			t.Errorf("no %s entry by the command line", a)
		}
	}
}
