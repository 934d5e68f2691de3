package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/internal/testenv"
	"paperchart/patients"
)

// TestCoversheetAudited prints a cover sheet looked up in the patient index:
// the sheet carries the patient's name, so the look-up is in the audit
// trail, by patient ID.
func TestCoversheetAudited(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	t.Setenv("PAPERCHART_DATABASE_URL", url)
	x := patients.New(db.Pool(), patients.Options{})
	res, err := x.Upsert(ctx, patients.Patient{MRN: "00410001", Family: "Hartmann", Given: "Elise"})
	testenv.Must(t, err, "patient")
	out := filepath.Join(t.TempDir(), "cover.pdf")
	var stdout bytes.Buffer
	testenv.Must(t, runCoversheet(ctx, []string{"--mrn", "00410001", "--out", out}, &stdout), "coversheet: %s", stdout.String())
	if b, err := os.ReadFile(out); err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Fatalf("cover sheet: %v", err)
	}
	es, err := audit.New(db.Pool()).List(ctx, audit.Filter{})
	testenv.Must(t, err, "audit list")
	if len(es) != 1 || es[0].Action != audit.ActionCoverSheet || es[0].Resource != fmt.Sprintf("Patient/%d", res.ID) ||
		es[0].PatientID == nil || *es[0].PatientID != res.ID || !strings.HasPrefix(es[0].Actor, "cli") {
		t.Errorf("audit trail %+v, want one %s of Patient/%d", es, audit.ActionCoverSheet, res.ID)
	}
}
