package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/internal/testenv"
	"paperchart/patients"
)

// TestPatientsCommandAudit checks that the patient index changes made from
// the command line, imports (CSV and a FHIR Bundle) and merges, are in the
// audit trail by count, file hash and patient ID, with no patient data, and
// that a merge that changes nothing adds no entry.
func TestPatientsCommandAudit(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	dbFlag := "--database-url=" + url
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		testenv.Must(t, runPatients(ctx, append(args, dbFlag), &out), "patients %v: %s", args, out.String())
		return out.String()
	}
	trail := audit.New(db.Pool())
	newEntries := func(after int64) []audit.Entry {
		t.Helper()
		es, err := trail.List(ctx, audit.Filter{Limit: 100})
		testenv.Must(t, err, "audit list")
		var out []audit.Entry
		for _, e := range es {
			if e.ID > after {
				out = append([]audit.Entry{e}, out...)
			}
		}
		return out
	}
	fileSum := func(path string) string {
		b, err := os.ReadFile(path)
		testenv.Must(t, err, "read %s", path)
		return fmt.Sprintf("%x", sha256.Sum256(b))
	}

	var last int64
	for _, tc := range []struct {
		file, format, counts string
	}{
		{"patients.csv", "csv", "csv: 4 read, 4 inserted, 0 updated, 0 unchanged, 0 rejected"},
		{"bundle.json", "fhir", "fhir-bundle: "},
		{"patients.csv", "csv", "csv: 4 read, 0 inserted, 0 updated, 4 unchanged, 0 rejected"},
	} {
		path := filepath.Join("..", "..", "patients", "testdata", tc.file)
		run("import", path, "--format", tc.format)
		es := newEntries(last)
		if len(es) != 1 {
			t.Fatalf("import %s: %d audit entries %+v, want 1", tc.file, len(es), es)
		}
		e := es[0]
		last = e.ID
		if e.Action != audit.ActionPatientImport || !strings.HasPrefix(e.Actor, "cli") || e.Outcome != audit.OutcomeOK ||
			!strings.HasPrefix(e.Detail, tc.counts) || !strings.HasSuffix(e.Detail, "sha256 "+fileSum(path)) {
			t.Errorf("import %s: entry %+v, want %s with %q and the file's SHA-256", tc.file, e, audit.ActionPatientImport, tc.counts)
		}
		if strings.Contains(e.Detail+e.Resource, tc.file) {
			t.Errorf("import %s: entry %+v names the file", tc.file, e)
		}
	}

	x := patients.New(db.Pool(), patients.Options{})
	retired, err := x.ByMRN(ctx, patients.DefaultAuthority, "98765")
	testenv.Must(t, err, "retired patient")
	survivor, err := x.ByMRN(ctx, patients.DefaultAuthority, "000123")
	testenv.Must(t, err, "surviving patient")

	// Reads from the command line are audited too: a record shown, a search
	// (by parameter names and the IDs found).
	for _, tc := range []struct {
		args           []string
		action, detail string
	}{
		{[]string{"show", "000123"}, audit.ActionPatientRead, "paperchart patients show"},
		{[]string{"search", "--family", "Smith", "--dob", "1980-03-04"}, audit.ActionPatientSearch,
			fmt.Sprintf("paperchart patients search by family,dob; found Patient/%d", survivor.ID)},
	} {
		if out := run(tc.args...); !strings.Contains(out, "Smith") {
			t.Errorf("patients %v: %q", tc.args, out)
		}
		es := newEntries(last)
		if len(es) != 1 || es[0].Action != tc.action || es[0].Detail != tc.detail || !strings.HasPrefix(es[0].Actor, "cli") {
			t.Fatalf("patients %v: audit entries %+v, want one %s %q", tc.args, es, tc.action, tc.detail)
		}
		last = es[0].ID
	}

	// A merge moves documents between patients: audited by IDs.
	run("merge", "--retire", "98765", "--into", "000123")
	es := newEntries(last)
	want := fmt.Sprintf("Patient/%d", retired.ID)
	if len(es) != 1 || es[0].Action != audit.ActionPatientMerge || es[0].Resource != want ||
		es[0].PatientID == nil || *es[0].PatientID != survivor.ID {
		t.Fatalf("merge: audit entries %+v, want one %s of %s into patient %d", es, audit.ActionPatientMerge, want, survivor.ID)
	}
	last = es[0].ID
	for _, phi := range []string{"98765", "000123", "Nguyen", "Smith"} {
		if strings.Contains(es[0].Detail+es[0].Resource, phi) {
			t.Errorf("merge entry %+v carries patient data (%q)", es[0], phi)
		}
	}
	run("merge", "--retire", "98765", "--into", "000123")
	if es := newEntries(last); len(es) != 0 {
		t.Errorf("the same merge again added audit entries %+v", es)
	}
	rep, err := trail.Verify(ctx)
	testenv.Must(t, err, "verify")
	if !rep.Intact || rep.Entries != 6 {
		t.Errorf("audit chain %+v, want 6 intact entries", rep)
	}
}
