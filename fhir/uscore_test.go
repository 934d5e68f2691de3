package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"paperchart/fhir"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
)

// usCoreRequest is one request uscore.mjs sends.
type usCoreRequest struct {
	Name         string         `json:"name"`
	Kind         string         `json:"kind"` // search, read, docref-get, docref-post
	ResourceType string         `json:"resourceType,omitempty"`
	ID           string         `json:"id,omitempty"`
	Params       map[string]any `json:"params,omitempty"`
}

// usCoreResult is what uscore.mjs saw of one.
type usCoreResult struct {
	Name         string   `json:"name"`
	Status       int      `json:"status"`
	ResourceType string   `json:"resourceType"`
	Total        *int     `json:"total"`
	IDs          []string `json:"ids"`
	Statuses     []string `json:"statuses"`
	RelatesTo    []string `json:"relatesTo"`
	Error        string   `json:"error"`
}

// TestUSCoreClient drives the US Core searches and $docref from
// fhir-kit-client (npm), against documents of two patients, one of them
// moved from the first patient to the second, and validates every resource
// received against the FHIR R4 JSON schema. The moved document's old id
// still reads (entered-in-error) and is found by its old patient's
// searches, with status=current leaving it out; the new one (current,
// relatesTo replaces) is found by the new patient's.
func TestUSCoreClient(t *testing.T) {
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
	id := filingtest.Batch(t, db, obj, "uscore-"+testenv.Name(""), []filingtest.Page{
		{Text: filingtest.Discharge}, {Text: filingtest.Discharge}, {Text: filingtest.Lab}, {Text: filingtest.Discharge}})
	_, err = f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 4 {
		t.Fatalf("fixture: %d documents", len(docs))
	}
	for _, d := range docs {
		if d.State != "filed" {
			t.Fatalf("fixture: document %d is %s", d.ID, d.State)
		}
	}
	hart, err := x.ByMRN(ctx, "", "00410001")
	testenv.Must(t, err, "patient")
	oka, err := x.ByMRN(ctx, "", "00410002")
	testenv.Must(t, err, "patient")
	// The second discharge summary is older: seen in 2023, filed the day after.
	_, err = db.Pool().Exec(ctx, `UPDATE documents SET service_date = '2023-06-01', filed_at = '2023-06-02T10:00:00Z' WHERE id = $1`, docs[1].ID)
	testenv.Must(t, err, "date the fixture")
	moved, err := f.MoveFiled(ctx, docs[3].ID, filing.Move{Actor: "rob", PatientID: oka.ID, Reason: "wrong patient"})
	testenv.Must(t, err, "move")
	d0, d1, lab, old, nw := fmt.Sprint(docs[0].ID), fmt.Sprint(docs[1].ID), fmt.Sprint(docs[2].ID), fmt.Sprint(docs[3].ID), fmt.Sprint(moved.To.ID)
	h, o := fmt.Sprint(hart.ID), fmt.Sprint(oka.ID)
	catSys := "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category|"

	tr := &trail{}
	srv := httptest.NewServer((&fhir.Server{Documents: db, Patients: x, Objects: obj, Log: log, Audit: tr, DefaultAuthority: "MRN",
		Auth: scopedTokens{"ehr-token": {"Patient", "DocumentReference", "Binary"}}}).Handler())
	defer srv.Close()

	search := func(name string, params map[string]any) usCoreRequest {
		return usCoreRequest{Name: name, Kind: "search", ResourceType: "DocumentReference", Params: params}
	}
	tests := []struct {
		rq       usCoreRequest
		status   int
		ids      []string // any order
		statuses []string // per id, in the order of ids
	}{
		{search("_id", map[string]any{"_id": d0}), 200, []string{d0}, nil},
		{search("_id list", map[string]any{"_id": d0 + "," + lab}), 200, []string{d0, lab}, nil},
		{search("_id of the moved document", map[string]any{"_id": old}), 200, []string{old}, []string{"entered-in-error"}},
		{search("_id not a number", map[string]any{"_id": "abc"}), 200, nil, nil},
		{search("_id and patient", map[string]any{"_id": d0 + "," + lab, "patient": h}), 200, []string{d0}, nil},
		{search("old patient: the moved one, entered-in-error", map[string]any{"patient": h}), 200, []string{d0, d1, old}, nil},
		{search("old patient, status current", map[string]any{"patient": h, "status": "current"}), 200, []string{d0, d1}, nil},
		{search("old patient, status entered-in-error", map[string]any{"patient": h, "status": "entered-in-error"}), 200, []string{old}, []string{"entered-in-error"}},
		{search("new patient", map[string]any{"patient": o}), 200, []string{lab, nw}, []string{"current", "current"}},
		{search("status superseded", map[string]any{"patient": h, "status": "superseded"}), 200, nil, nil},
		{search("category", map[string]any{"patient": h, "category": "clinical-note", "status": "current"}), 200, []string{d0, d1}, nil},
		{search("category with system", map[string]any{"patient": h, "category": catSys + "clinical-note", "status": "current"}), 200, []string{d0, d1}, nil},
		{search("category list", map[string]any{"patient": h, "category": "cardiology,clinical-note", "status": "current"}), 200, []string{d0, d1}, nil},
		{search("category not served", map[string]any{"patient": h, "category": "cardiology"}), 200, nil, nil},
		{search("category, date ge", map[string]any{"patient": h, "category": "clinical-note", "date": "ge2024-01-01", "status": "current"}), 200, []string{d0}, nil},
		{search("category, date lt", map[string]any{"patient": h, "category": "clinical-note", "date": "lt2024"}), 200, []string{d1}, nil},
		{search("date le the day", map[string]any{"patient": h, "date": "le2023-06-02"}), 200, []string{d1}, nil},
		{search("date gt the day", map[string]any{"patient": h, "date": "gt2023-06-02", "status": "current"}), 200, []string{d0}, nil},
		{search("date eq the month", map[string]any{"patient": h, "date": "eq2023-06"}), 200, []string{d1}, nil},
		{search("date the instant", map[string]any{"patient": h, "date": "2023-06-02T10:00:00Z"}), 200, []string{d1}, nil},
		{search("date range", map[string]any{"patient": h, "date": []string{"ge2023-01-01", "lt2023-07-01"}}), 200, []string{d1}, nil},
		{search("type", map[string]any{"patient": h, "type": "http://loinc.org|18842-5", "status": "current"}), 200, []string{d0, d1}, nil},
		{search("type of none", map[string]any{"patient": h, "type": "http://loinc.org|11502-2"}), 200, nil, nil},
		{search("type, period ge", map[string]any{"patient": h, "type": "http://loinc.org|18842-5", "period": "ge2024-01-01", "status": "current"}), 200, []string{d0}, nil},
		{search("type, period lt the day", map[string]any{"patient": h, "type": "18842-5", "period": "lt2024-03-14"}), 200, []string{d1}, nil},
		{search("type, period le the day", map[string]any{"patient": h, "type": "18842-5", "period": "le2024-03-14", "status": "current"}), 200, []string{d0, d1}, nil},
		{search("type, period gt the day", map[string]any{"patient": h, "type": "18842-5", "period": "gt2024-03-14"}), 200, nil, nil},
		{search("type, period eq the month", map[string]any{"patient": h, "type": "18842-5", "period": "eq2024-03", "status": "current"}), 200, []string{d0}, nil},
		{search("type, period the day", map[string]any{"patient": h, "type": "18842-5", "period": "2023-06-01"}), 200, []string{d1}, nil},
		{search("type, period an instant contains no day", map[string]any{"patient": h, "type": "18842-5", "period": "2023-06-01T10:00:00Z"}), 200, nil, nil},
		{search("type, period range", map[string]any{"patient": h, "type": "18842-5", "period": []string{"ge2023-06-01", "le2023-06-30"}}), 200, []string{d1}, nil},
		{search("period bad prefix", map[string]any{"patient": h, "period": "ap2023"}), 400, nil, nil},
		{usCoreRequest{Name: "read the moved document", Kind: "read", ResourceType: "DocumentReference", ID: old}, 200, []string{old}, []string{"entered-in-error"}},
		{usCoreRequest{Name: "read its replacement", Kind: "read", ResourceType: "DocumentReference", ID: nw}, 200, []string{nw}, []string{"current"}},
		{usCoreRequest{Name: "Patient _id", Kind: "search", ResourceType: "Patient", Params: map[string]any{"_id": h}}, 200, []string{h}, nil},
		{usCoreRequest{Name: "Patient _id list", Kind: "search", ResourceType: "Patient", Params: map[string]any{"_id": h + "," + o + ",999999"}}, 200, []string{h, o}, nil},
		{usCoreRequest{Name: "Patient _id unknown", Kind: "search", ResourceType: "Patient", Params: map[string]any{"_id": "999999"}}, 200, nil, nil},
		{usCoreRequest{Name: "Patient _id and another's identifier", Kind: "search", ResourceType: "Patient",
			Params: map[string]any{"_id": h, "identifier": "urn:paperchart:authority:MRN|00410002"}}, 200, nil, nil},
		{usCoreRequest{Name: "$docref: the most current", Kind: "docref-get", Params: map[string]any{"patient": h}}, 200, []string{d0}, nil},
		{usCoreRequest{Name: "$docref: most current of each type", Kind: "docref-get", Params: map[string]any{"patient": o}}, 200, []string{lab, nw}, nil},
		{usCoreRequest{Name: "$docref: start and end", Kind: "docref-get", Params: map[string]any{"patient": h, "start": "2023-01-01", "end": "2023-12-31"}}, 200, []string{d1}, nil},
		{usCoreRequest{Name: "$docref: start only", Kind: "docref-get", Params: map[string]any{"patient": h, "start": "2023-01-01"}}, 200, []string{d0, d1}, nil},
		{usCoreRequest{Name: "$docref: end only", Kind: "docref-get", Params: map[string]any{"patient": h, "end": "2024-03-13T23:59:59Z"}}, 200, []string{d1}, nil},
		{usCoreRequest{Name: "$docref: type", Kind: "docref-get", Params: map[string]any{"patient": o, "type": "http://loinc.org|11502-2"}}, 200, []string{lab}, nil},
		{usCoreRequest{Name: "$docref: on-demand, profile", Kind: "docref-get", Params: map[string]any{"patient": h, "on-demand": "false",
			"profile": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"}}, 200, []string{d0}, nil},
		{usCoreRequest{Name: "$docref: POST Parameters", Kind: "docref-post", Params: map[string]any{"resourceType": "Parameters", "parameter": []any{
			map[string]any{"name": "patient", "valueId": o},
			map[string]any{"name": "type", "valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "18842-5"}}}},
		}}}, 200, []string{nw}, nil},
		{usCoreRequest{Name: "$docref: POST Parameters with dates", Kind: "docref-post", Params: map[string]any{"resourceType": "Parameters", "parameter": []any{
			map[string]any{"name": "patient", "valueId": h},
			map[string]any{"name": "start", "valueDateTime": "2023-06-01T00:00:00Z"},
			map[string]any{"name": "end", "valueDate": "2023-06-30"},
		}}}, 200, []string{d1}, nil},
		{usCoreRequest{Name: "$docref: no patient", Kind: "docref-get", Params: map[string]any{"start": "2023-01-01"}}, 400, nil, nil},
		{usCoreRequest{Name: "$docref: not a parameter", Kind: "docref-get", Params: map[string]any{"patient": h, "date": "2023"}}, 400, nil, nil},
	}
	var rqs []usCoreRequest
	for _, tc := range tests {
		rqs = append(rqs, tc.rq)
	}
	in, _ := json.Marshal(rqs)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, "uscore.mjs", srv.URL+"/fhir", "ehr-token")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node uscore.mjs: %v\n%s", err, out)
	}
	var rep struct {
		Resources int               `json:"resources"`
		Invalid   []json.RawMessage `json:"invalid"`
		Results   []usCoreResult    `json:"results"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	t.Logf("fhir-kit-client: %d requests, %d resources validated", len(rep.Results), rep.Resources)
	if len(rep.Invalid) > 0 {
		t.Errorf("resources failing the FHIR R4 schema: %s", rep.Invalid)
	}
	if len(rep.Results) != len(tests) {
		t.Fatalf("%d results for %d requests", len(rep.Results), len(tests))
	}
	for i, tc := range tests {
		got := rep.Results[i]
		t.Run(tc.rq.Name, func(t *testing.T) {
			if got.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", got.Status, tc.status, got.Error)
			}
			if tc.status != 200 {
				if got.ResourceType != "OperationOutcome" {
					t.Errorf("answered a %s, want an OperationOutcome", got.ResourceType)
				}
				return
			}
			ids := slices.Clone(got.IDs)
			slices.Sort(ids)
			want := slices.Clone(tc.ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) && !(len(ids) == 0 && len(want) == 0) {
				t.Errorf("ids %v, want %v", got.IDs, tc.ids)
			}
			if got.Total != nil && *got.Total != len(tc.ids) {
				t.Errorf("total %d, want %d", *got.Total, len(tc.ids))
			}
			for j, st := range tc.statuses {
				k := slices.Index(got.IDs, tc.ids[j])
				if k < 0 || got.Statuses[k] != st {
					t.Errorf("document %s: status %v, want %s", tc.ids[j], got.Statuses, st)
				}
			}
			if slices.Contains(got.IDs, nw) && tc.rq.ResourceType != "Patient" && !slices.Contains(got.RelatesTo, "replaces DocumentReference/"+old) {
				t.Errorf("document %s: relatesTo %v, want replaces DocumentReference/%s", nw, got.RelatesTo, old)
			}
		})
	}

	// Every request was audited, $docref with its patient and the
	// documents disclosed, by ID.
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var docref int
	for _, e := range tr.events {
		if e.Resource == "DocumentReference/$docref" && e.Outcome == "ok" && e.PatientID != nil {
			docref++
			if strings.Contains(e.Detail, "HARTMANN") || strings.Contains(e.Detail, "00410001") {
				t.Errorf("audit detail holds patient data: %s", e.Detail)
			}
		}
	}
	if docref != 9 {
		t.Errorf("%d $docref requests audited with their patient, want 9", docref)
	}
	// All but the three refused (400) before anything was read.
	if len(tr.events) != len(tests)-3 {
		t.Errorf("%d audit entries for %d requests, want %d", len(tr.events), len(tests), len(tests)-3)
	}
}
