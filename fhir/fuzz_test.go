package fhir_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"paperchart/fhir"
	"paperchart/filing/filingtest"
)

// FuzzSearchParameters sends any query string to the Patient and
// DocumentReference searches and $docref, against a real database holding the test
// patient index: the answer is 200 or 400, never a server error, and
// always a FHIR resource in JSON (a Bundle or an OperationOutcome).
func FuzzSearchParameters(f *testing.F) {
	for _, q := range []string{
		"patient=1", "subject=Patient/1&type=http://loinc.org|18842-5", "patient.identifier=urn:paperchart:authority:MRN|00410001",
		"patient=1&date=ge2000-01-01&date=lt2030", "patient=1&date=2026-02-14T10:00:00Z", "patient=1&date=xx2000",
		"patient=1&_count=0&_offset=99999999999999999999", "patient=1&category=clinical-note&status=current",
		"patient=-1", "patient=Patient/", "patient.identifier=|", "identifier=00410001", "identifier=%00|%ff",
		"patient=1&type=a,b,,http://loinc.org|", "author=x", "_format=json&patient=1", "patient=1&date=ge",
		"patient=1;date=2000", "patient=1&patient=2", "%zz",
		"_id=1,2,abc", "_id=", "_id=1&_id=2", "patient=1&period=ge2024-03&type=18842-5", "patient=1&period=2024-03-14T00:00:00Z",
		"patient=1&status=entered-in-error,current", "patient=1&category=http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category|clinical-note",
		"patient=1&start=2023-01-01&end=2023", "patient=1&type=http://loinc.org|11502-2&on-demand=true", "patient=Patient/1&profile=x",
	} {
		f.Add(q)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(f, log)
	srv := &fhir.Server{Documents: su.DB, Patients: su.Index, Objects: su.Objects, Log: log, Audit: &trail{}, DefaultAuthority: "MRN",
		Auth: scopedTokens{"ehr": {"Patient", "DocumentReference", "Binary"}}}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, query string) {
		if strings.ContainsAny(query, " #\r\n") { // not one request line's query
			return
		}
		for _, path := range []string{"/fhir/DocumentReference", "/fhir/Patient", "/fhir/DocumentReference/$docref"} {
			req, err := http.NewRequest("GET", "http://paperchart.test"+path+"?"+query, nil)
			if err != nil {
				return
			}
			req.Header.Set("Authorization", "Bearer ehr")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("GET %s?%s: %d %s", path, query, rec.Code, rec.Body)
			}
			var res struct {
				ResourceType string `json:"resourceType"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || (res.ResourceType != "Bundle" && res.ResourceType != "OperationOutcome") {
				t.Fatalf("GET %s?%s: not a FHIR resource (%v): %s", path, query, err, rec.Body)
			}
		}
	})
}
