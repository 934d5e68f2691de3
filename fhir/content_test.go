package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/fhir"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/search"
)

// TestContentSearch: DocumentReference?_content= finds filed documents by
// their text, with the other parameters as filters, audited as a FHIR
// search (the IDs) and in the audit trail with the text searched.
func TestContentSearch(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	id := filingtest.Batch(t, su.DB, su.Objects, "content-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Sep: true},
		{Text: filingtest.Lab}, {Sep: true}, {Text: filingtest.Stranger}})
	_, err := su.Filer.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := su.DB.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 3 || docs[0].State != "filed" || docs[1].State != "filed" || docs[2].State != "review" {
		t.Fatalf("fixture: %+v", docs)
	}
	disch, lab := docs[0], docs[1]
	trailDB := audit.New(su.DB.Pool())
	tr := &trail{}
	srv := httptest.NewServer((&fhir.Server{Documents: su.DB, Patients: su.Index, Objects: su.Objects, Log: log, Audit: tr, DefaultAuthority: "MRN",
		Auth:    scopedTokens{"ehr": {"Patient", "DocumentReference", "Binary"}, "pats": {"Patient"}},
		Content: &search.Searcher{Pool: su.DB.Pool(), Audit: trailDB}}).Handler())
	defer srv.Close()
	get := func(path, token string) (int, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "get")
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	content := func(q string, more ...string) string {
		return "/fhir/DocumentReference?_content=" + url.QueryEscape(q) + strings.Join(more, "")
	}
	ref := func(id int64) string { return fmt.Sprintf(`"fullUrl": "%s/fhir/DocumentReference/%d"`, srv.URL, id) }
	for _, tt := range []struct {
		name, path, token string
		code              int
		contains, not     []string
	}{
		{"stemmed words", content("coughing"), "ehr", 200, []string{`"total": 1`, ref(disch.ID), `"18842-5"`, `"mode": "match"`}, []string{ref(lab.ID)}},
		{"phrase", content(`"productive cough"`), "ehr", 200, []string{`"total": 1`, ref(disch.ID)}, nil},
		{"phrase in another order", content(`"cough productive"`), "ehr", 200, []string{`"total": 0`}, nil},
		{"two documents", content("page"), "ehr", 200, []string{`"total": 2`, ref(disch.ID), ref(lab.ID)}, nil},
		{"not filed: not served", content("lisinopril"), "ehr", 200, []string{`"total": 0`}, []string{"ZIMMERMANN"}},
		{"patient", content("page", fmt.Sprintf("&patient=%d", *lab.PatientID)), "ehr", 200, []string{`"total": 1`, ref(lab.ID)}, nil},
		{"subject", content("page", fmt.Sprintf("&subject=Patient/%d", *disch.PatientID)), "ehr", 200, []string{`"total": 1`, ref(disch.ID)}, nil},
		{"type", content("page", "&type=http://loinc.org|11502-2"), "ehr", 200, []string{`"total": 1`, ref(lab.ID)}, nil},
		{"type with no document", content("page", "&type=11488-4"), "ehr", 200, []string{`"total": 0`}, nil},
		{"type unknown", content("page", "&type=00000-0"), "ehr", 200, []string{`"total": 0`}, nil},
		{"date", content("page", "&date=ge2024-03-14&date=le2024-03-14"), "ehr", 200, []string{`"total": 2`}, nil},
		{"date after", content("page", "&date=gt2024-03-14"), "ehr", 200, []string{`"total": 0`}, nil},
		{"date month", content("page", "&date=2024-03"), "ehr", 200, []string{`"total": 2`}, nil},
		{"count", content("page", "&_count=1"), "ehr", 200, []string{`"total": 2`}, nil},
		{"only stop words", content("the"), "ehr", 400, []string{`"invalid"`}, nil},
		{"empty", content(""), "ehr", 400, []string{`"invalid"`}, nil},
		{"parameter not taken with _content", content("page", "&status=current"), "ehr", 400, []string{`"not-supported"`}, nil},
		{"bad patient", content("page", "&patient=x"), "ehr", 400, []string{`"invalid"`}, nil},
		{"no token", content("page"), "", 401, []string{`"login"`}, []string{"Discharge"}},
		{"scope missing", content("page"), "pats", 403, []string{`"forbidden"`}, []string{"Discharge"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(tt.path, tt.token)
			if code != tt.code {
				t.Fatalf("status %d, want %d: %s", code, tt.code, body)
			}
			if !json.Valid(body) {
				t.Fatalf("not JSON: %s", body)
			}
			for _, c := range tt.contains {
				if !bytes.Contains(body, []byte(c)) {
					t.Errorf("body lacks %s:\n%.2000s", c, body)
				}
			}
			for _, c := range tt.not {
				if bytes.Contains(body, []byte(c)) {
					t.Errorf("body has %s", c)
				}
			}
		})
	}
	// The FHIR search is audited by IDs, like every FHIR search...
	var found bool
	for _, e := range tr.events {
		if e.Action == "fhir.search" && e.Detail == fmt.Sprintf("by _content; DocumentReference/%d", disch.ID) && e.Actor == "token:ehr" &&
			e.PatientID != nil && *e.PatientID == *disch.PatientID {
			found = true
		}
		if strings.Contains(e.Detail, "coughing") {
			t.Errorf("the FHIR event holds the text searched: %+v", e)
		}
	}
	if !found {
		t.Errorf("no fhir.search event for the first search: %+v", tr.events)
	}
	// ... and the search with its text is in the audit trail.
	es, err := trailDB.List(ctx, audit.Filter{Limit: 100})
	testenv.Must(t, err, "audit list")
	found = false
	for _, e := range es {
		if e.Action == search.ActionSearch && e.Actor == "token:ehr" && e.Detail == fmt.Sprintf(`q="coughing"; 1 found: DocumentReference/%d`, disch.ID) {
			found = true
		}
	}
	if !found {
		t.Errorf("the audit trail lacks the _content search")
	}
	// The CapabilityStatement says so.
	if _, body := get("/fhir/metadata", ""); !bytes.Contains(body, []byte(`"name": "_content"`)) {
		t.Errorf("metadata lacks _content")
	}
}
