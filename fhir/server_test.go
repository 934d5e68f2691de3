package fhir_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"paperchart/fhir"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
)

// scopedTokens authenticates "Bearer <name>" for the names it holds, each
// allowed the resource types listed.
type scopedTokens map[string][]string

func (st scopedTokens) Caller(r *http.Request) (fhir.Caller, error) {
	name, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	types, known := st[name]
	if !ok || !known {
		return fhir.Caller{}, fhir.ErrNoCaller
	}
	return fhir.Caller{Name: name, Allows: func(res string) bool {
		for _, t := range types {
			if t == res {
				return true
			}
		}
		return false
	}}, nil
}

type trail struct {
	mu     sync.Mutex
	events []fhir.Event
}

func (t *trail) Audit(_ context.Context, e fhir.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, e)
	return nil
}

func TestFHIR(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "fhir-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Text: filingtest.Lab}, {Text: filingtest.Discharge}, {Text: filingtest.Stranger}})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 4 || docs[0].State != "filed" || docs[2].State != "filed" || docs[3].State != "review" {
		t.Fatalf("fixture: %+v", docs)
	}
	hart, err := x.ByMRN(ctx, "", "00410001")
	testenv.Must(t, err, "patient")

	tr := &trail{}
	srv := httptest.NewServer((&fhir.Server{Documents: db, Patients: x, Objects: obj, Log: log, Audit: tr, DefaultAuthority: "MRN",
		Auth: scopedTokens{"ehr": {"Patient", "DocumentReference", "Binary"}, "pats": {"Patient"}}}).Handler())
	defer srv.Close()

	get := func(path, token, accept string) (int, http.Header, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "get")
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	sys := "urn:paperchart:authority:MRN"
	tests := []struct {
		name, path, token string
		code              int
		contains          []string
		not               []string
	}{
		{"metadata without token", "/fhir/metadata", "", 200, []string{`"CapabilityStatement"`, `"4.0.1"`, `"DocumentReference"`}, nil},
		{"metadata: US Core searches and $docref", "/fhir/metadata", "", 200, []string{`"name": "docref"`,
			`"definition": "http://hl7.org/fhir/us/core/OperationDefinition/docref"`, `"name": "_id"`, `"name": "period"`,
			`"definition": "http://hl7.org/fhir/us/core/SearchParameter/us-core-documentreference-period"`,
			`"definition": "http://hl7.org/fhir/us/core/SearchParameter/us-core-patient-id"`}, []string{`"instantiates"`}},
		{"too many ids", "/fhir/Patient?_id=" + strings.Repeat("1,", 101) + "1", "ehr", 400, []string{`"invalid"`}, nil},
		{"too many document ids", fmt.Sprintf("/fhir/DocumentReference?patient=%d&_id=", hart.ID) + strings.Repeat("1,", 101) + "1", "ehr", 400, []string{`"invalid"`}, nil},
		{"no token", "/fhir/DocumentReference?patient=1", "", 401, []string{`"OperationOutcome"`, `"login"`}, []string{"HARTMANN"}},
		{"wrong token", "/fhir/Patient/1", "forged", 401, []string{`"OperationOutcome"`}, nil},
		{"scope missing", fmt.Sprintf("/fhir/DocumentReference?patient=%d", hart.ID), "pats", 403, []string{`"forbidden"`}, []string{"HARTMANN", "Discharge"}},
		{"patient by identifier", "/fhir/Patient?identifier=" + sys + "|00410001", "pats", 200, []string{`"total": 1`, `"family": "HARTMANN"`, `"birthDate": "1961-04-12"`, `"code": "MR"`}, nil},
		{"patient by MRN alone", "/fhir/Patient?identifier=00410001", "ehr", 200, []string{`"total": 1`}, nil},
		{"patient unknown", "/fhir/Patient?identifier=" + sys + "|99999999", "ehr", 200, []string{`"total": 0`}, nil},
		{"patient read", fmt.Sprintf("/fhir/Patient/%d", hart.ID), "ehr", 200, []string{`"resourceType": "Patient"`, `"gender": "female"`}, nil},
		{"patient missing", "/fhir/Patient/999999", "ehr", 404, []string{`"not-found"`}, nil},
		{"documents of a patient", fmt.Sprintf("/fhir/DocumentReference?patient=%d", hart.ID), "ehr", 200,
			[]string{`"total": 2`, `"code": "18842-5"`, `"contentType": "application/pdf"`, `"clinical-note"`, `"status": "current"`, `/Binary/`}, nil},
		{"by patient identifier and type", "/fhir/DocumentReference?patient.identifier=" + sys + "|00410002&type=http://loinc.org|11502-2", "ehr", 200, []string{`"total": 1`, `"11502-2"`}, nil},
		{"type that matches nothing", fmt.Sprintf("/fhir/DocumentReference?patient=%d&type=11502-2", hart.ID), "ehr", 200, []string{`"total": 0`}, nil},
		{"date ge", fmt.Sprintf("/fhir/DocumentReference?patient=%d&date=ge2000-01-01", hart.ID), "ehr", 200, []string{`"total": 2`}, nil},
		{"date lt", fmt.Sprintf("/fhir/DocumentReference?patient=%d&date=lt2000", hart.ID), "ehr", 200, []string{`"total": 0`}, nil},
		{"date bad prefix", fmt.Sprintf("/fhir/DocumentReference?patient=%d&date=xx2000", hart.ID), "ehr", 400, []string{`"invalid"`}, nil},
		{"paging", fmt.Sprintf("/fhir/DocumentReference?patient=%d&_count=1", hart.ID), "ehr", 200, []string{`"total": 2`, `"relation": "next"`, `_offset=1`}, nil},
		{"status", fmt.Sprintf("/fhir/DocumentReference?patient=%d&status=superseded", hart.ID), "ehr", 200, []string{`"total": 0`}, nil},
		{"unsupported parameter", "/fhir/DocumentReference?author=x", "ehr", 400, []string{`"not-supported"`}, nil},
		{"no patient", "/fhir/DocumentReference", "ehr", 400, []string{`"required"`}, nil},
		{"document in review is not served", fmt.Sprintf("/fhir/DocumentReference/%d", docs[3].ID), "ehr", 404, []string{`"not-found"`}, []string{"ZIMMERMANN"}},
		{"document read", fmt.Sprintf("/fhir/DocumentReference/%d", docs[0].ID), "ehr", 200, []string{fmt.Sprintf(`"reference": "Patient/%d"`, hart.ID), `"period"`}, nil},
		{"other resources", "/fhir/Observation", "ehr", 404, []string{`"not-supported"`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := get(tc.path, tc.token, "")
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
				t.Errorf("content type %q", ct)
			}
			if !json.Valid(body) {
				t.Fatalf("not JSON: %s", body)
			}
			for _, c := range tc.contains {
				if !bytes.Contains(body, []byte(c)) {
					t.Errorf("body lacks %s:\n%s", c, body)
				}
			}
			for _, c := range tc.not {
				if bytes.Contains(body, []byte(c)) {
					t.Errorf("body has %s:\n%s", c, body)
				}
			}
		})
	}

	// The PDF, raw and as a Binary resource: the bytes stored, with the hash
	// the DocumentReference announced.
	stored, err := obj.Get(ctx, docs[0].ObjectKey)
	testenv.Must(t, err, "stored PDF")
	code, h, pdf := get(fmt.Sprintf("/fhir/Binary/%d", docs[0].ID), "ehr", "application/pdf")
	if code != 200 || h.Get("Content-Type") != "application/pdf" || !bytes.Equal(pdf, stored) {
		t.Fatalf("Binary as PDF: %d %s, %d bytes (stored %d)", code, h.Get("Content-Type"), len(pdf), len(stored))
	}
	_, _, js := get(fmt.Sprintf("/fhir/Binary/%d", docs[0].ID), "ehr", "application/fhir+json")
	var bin fhir.Binary
	testenv.Must(t, json.Unmarshal(js, &bin), "Binary JSON")
	data, _ := base64.StdEncoding.DecodeString(bin.Data)
	if !bytes.Equal(data, stored) || bin.ContentType != "application/pdf" {
		t.Fatalf("Binary resource holds %d bytes of %s", len(data), bin.ContentType)
	}
	_, _, js = get(fmt.Sprintf("/fhir/DocumentReference/%d", docs[0].ID), "ehr", "")
	var dr fhir.DocumentReference
	testenv.Must(t, json.Unmarshal(js, &dr), "DocumentReference")
	sum := sha1.Sum(stored)
	if a := dr.Content[0].Attachment; a.Hash != base64.StdEncoding.EncodeToString(sum[:]) || a.Size != int64(len(stored)) {
		t.Fatalf("attachment hash %s size %d, want %x %d", a.Hash, a.Size, sum, len(stored))
	}

	// Every request was audited; the denied ones too.
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var denied, downloads int
	for _, e := range tr.events {
		if e.Outcome == "denied" {
			denied++
		}
		if e.Action == "binary.download" && e.Outcome == "ok" {
			downloads++
		}
	}
	if denied != 3 || downloads != 2 {
		t.Fatalf("audit: %d denied (want 3), %d downloads (want 2) in %d events", denied, downloads, len(tr.events))
	}
	evs, err := db.DocumentEvents(ctx, docs[0].ID)
	testenv.Must(t, err, "history")
	if last := evs[len(evs)-1]; last.Actor != "token:ehr" || last.Event != "downloaded" {
		t.Fatalf("document history ends %+v", last)
	}
}
