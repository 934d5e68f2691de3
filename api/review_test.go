package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"paperchart/api"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

func TestReviewAPI(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	su := filingtest.New(t, log)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "api-"+testenv.Name(""), []filingtest.Page{
		{Text: filingtest.Discharge}, {Blank: true}, {Text: filingtest.Stranger},
	})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 2 || docs[0].State != storage.DocFiled || docs[1].State != storage.DocReview {
		t.Fatalf("fixture: want one filed and one in review, got %+v", docs)
	}
	filed, review := docs[0], docs[1]
	target, err := x.ByMRN(ctx, "", "00410005")
	testenv.Must(t, err, "patient")

	srv := httptest.NewServer((&api.Server{Batches: db, Log: log, Documents: db, Patients: x, Filer: f, Objects: obj}).Handler())
	defer srv.Close()

	tests := []struct {
		method, path, body string
		code               int
		contains           []string
	}{
		{"GET", "/api/review", "", 200, []string{`"count": 1`, fmt.Sprintf(`"id": %d`, review.ID), `"review_reasons"`}},
		{"GET", "/api/review?limit=0", "", 400, []string{"limit"}},
		{"GET", fmt.Sprintf("/api/documents/%d", review.ID), "", 200, []string{`"candidates"`, `"split_confidence"`, `"event": "viewed"`, `"actor": "hit7"`}},
		{"GET", fmt.Sprintf("/api/documents/%d", filed.ID), "", 200, []string{`"state": "filed"`, `"mrn": "00410001"`, `"type_name": "Discharge summary"`}},
		{"GET", "/api/documents/99999", "", 404, []string{"no such document"}},
		{"GET", "/api/documents/x", "", 400, []string{"positive whole number"}},
		{"POST", fmt.Sprintf("/api/documents/%d/file", review.ID), `{"patient_id": 1, "type": "nonsense"}`, 400, []string{"GET /api/types"}},
		{"POST", fmt.Sprintf("/api/documents/%d/file", review.ID), `{"patient": 1}`, 400, []string{"JSON object"}},
		{"POST", fmt.Sprintf("/api/documents/%d/file", review.ID), `{"patient_id": 99999, "type": "progress-note"}`, 422, []string{"no such patient"}},
		{"POST", fmt.Sprintf("/api/documents/%d/file", review.ID), fmt.Sprintf(`{"patient_id": %d, "type": "progress-note"}`, target.ID), 200, []string{`"state": "filed"`, `"filed_by": "hit7"`}},
		{"POST", fmt.Sprintf("/api/documents/%d/file", review.ID), fmt.Sprintf(`{"patient_id": %d, "type": "progress-note"}`, target.ID), 409, []string{"no longer waiting"}},
		{"POST", fmt.Sprintf("/api/documents/%d/discard", filed.ID), `{"reason": "duplicate fax"}`, 409, []string{"no longer waiting"}},
		{"POST", fmt.Sprintf("/api/documents/%d/discard", filed.ID), `{}`, 400, []string{"reason"}},
		{"GET", "/api/review", "", 200, []string{`"count": 0`, `"documents": []`}},
		{"GET", "/api/patients/search?family=NGUYEN&birth_date=1990-02-27", "", 200, []string{`"00410003"`, `"00410004"`}},
		{"GET", "/api/patients/search", "", 400, []string{"mrn"}},
		{"GET", "/api/patients/search?birth_date=31/31/1990", "", 400, []string{"birth_date"}},
		{"GET", fmt.Sprintf("/api/patients/%d/documents", target.ID), "", 200, []string{fmt.Sprintf(`"id": %d`, review.ID)}},
		{"GET", "/api/types", "", 200, []string{`"code": "insurance-card"`, `"loinc": "64290-0"`}},
		{"GET", "/api/coversheet?mrn=00777777", "", 404, []string{"no patient with that MRN"}},
		{"GET", "/api/coversheet?mrn=00410001&type=bogus", "", 400, []string{"type"}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("X-Paperchart-User", "hit7")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if !json.Valid(body) {
				t.Fatalf("not JSON: %s", body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(string(body), c) {
					t.Errorf("body lacks %s: %s", c, body)
				}
			}
		})
	}

	// The PDF, and its read in the document's history.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/documents/%d/pdf", srv.URL, filed.ID), nil)
	req.Header.Set("X-Paperchart-User", "clerk2")
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err, "get PDF")
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("PDF: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), pdf[:min(len(pdf), 8)])
	}
	evs, err := db.DocumentEvents(ctx, filed.ID)
	testenv.Must(t, err, "events")
	var seen []string
	for _, e := range evs {
		seen = append(seen, e.Actor+":"+e.Event)
	}
	if got := strings.Join(seen, " "); got != "auto:filed hit7:viewed clerk2:downloaded" {
		t.Fatalf("history %q", got)
	}

	// A cover sheet for a patient of the index.
	resp, err = http.Get(srv.URL + "/api/coversheet?mrn=00410001&type=consult-note")
	testenv.Must(t, err, "cover sheet")
	sheet, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(sheet, []byte("%PDF-")) {
		t.Fatalf("cover sheet: %d %q", resp.StatusCode, sheet[:min(len(sheet), 40)])
	}

	// No patient data in the logs.
	for _, phi := range []string{"HARTMANN", "ZIMMERMANN", "00410001", "1961"} {
		if strings.Contains(logs.String(), phi) {
			t.Errorf("log holds patient data %q:\n%s", phi, logs.String())
		}
	}
}

func TestProtectGuardsPatientData(t *testing.T) {
	db := testenv.DB(t)
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "sign in", http.StatusUnauthorized) })
	}
	srv := httptest.NewServer((&api.Server{Batches: db, Documents: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Protect: deny}).Handler())
	defer srv.Close()
	for path, want := range map[string]int{"/api/batches": 200, "/api/review": 401, "/api/documents/1": 401, "/api/patients/search?mrn=1": 401, "/api/coversheet?mrn=1": 401} {
		resp, err := http.Get(srv.URL + path)
		testenv.Must(t, err, "get")
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// The type-check queue over the API: a filed, preliminary document is
// listed, its type confirmed once (final after), and bad requests refused.
func TestTypeCheckAPI(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	db := su.DB
	id := filingtest.Batch(t, db, su.Objects, "api-tc-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.VagueType}})
	_, err := su.Filer.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	if len(docs) != 1 || docs[0].DocStatus != storage.DocStatusPreliminary {
		t.Fatalf("fixture: want one preliminary document, got %+v", docs)
	}
	doc := docs[0]
	srv := httptest.NewServer((&api.Server{Batches: db, Log: log, Documents: db, Patients: su.Index, Filer: su.Filer, Objects: su.Objects}).Handler())
	defer srv.Close()
	typePath := fmt.Sprintf("/api/documents/%d/type", doc.ID)
	for _, tc := range []struct {
		method, path, body string
		code               int
		contains           string
	}{
		{"GET", "/api/typecheck", "", 200, fmt.Sprintf(`"id": %d`, doc.ID)},
		{"GET", "/api/typecheck?after=x", "", 400, "after"},
		{"POST", typePath, `{"type": "nonsense"}`, 400, "GET /api/types"},
		{"POST", "/api/documents/99999/type", `{"type": "progress-note"}`, 404, "no such document"},
		{"POST", typePath, `{"type": "progress-note"}`, 200, `"doc_status": "final"`},
		{"POST", typePath, `{"type": "progress-note"}`, 409, "not waiting"},
		{"GET", "/api/typecheck", "", 200, `"count": 0`},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("X-Paperchart-User", "hit7")
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "%s %s", tc.method, tc.path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.contains) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.contains)
		}
	}
}
