package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"paperchart/api"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

func TestBatchesAPI(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	b, _, err := db.RecordBatch(ctx, storage.NewBatch{Source: "ward3", Name: "a.pdf", IngestKey: "k", SHA256: "s", Size: 3})
	testenv.Must(t, err, "record")
	db.MarkQueued(ctx, b.ID, "pdf")
	testenv.Must(t, db.AddPages(ctx, b.ID, "pdf", []storage.NewPage{{No: 1, SourceKey: storage.PageSourceKey(b.ID, 1, ".pdf"), Kind: "image"}, {No: 2, SourceKey: storage.PageSourceKey(b.ID, 2, ".pdf"), Kind: "image"}}), "pages")
	_, err = db.CompletePage(ctx, storage.PageResult{BatchID: b.ID, No: 1, Text: "PATIENT SECRET TEXT", WordCount: 3})
	testenv.Must(t, err, "complete")

	down := errors.New("connection refused")
	srv := httptest.NewServer((&api.Server{Batches: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Checks: []api.Check{
		{Name: "database", Ping: db.Ping},
		{Name: "objects", Ping: func(context.Context) error { return down }},
	}}).Handler())
	defer srv.Close()

	tests := []struct {
		path     string
		code     int
		contains []string
	}{
		{"/api/batches", 200, []string{`"state": "ocr"`, `"pages": 2`, `"pages_done": 1`}},
		{"/api/batches?state=done", 200, []string{"[]"}},
		{"/api/batches?limit=0", 400, []string{"limit"}},
		{"/api/batches/1", 200, []string{`"page_list"`, `"events"`, `"event": "split"`}},
		{"/api/batches/999", 404, []string{"no such batch"}},
		{"/api/batches/abc", 400, []string{"positive whole number"}},
		{"/healthz", 503, []string{`"database": "ok"`, `"objects": "down"`}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if !json.Valid(body) {
				t.Errorf("not JSON: %s", body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(string(body), c) {
					t.Errorf("body lacks %s: %s", c, body)
				}
			}
			// Page text is patient data: it is never in the batch API.
			if strings.Contains(string(body), "SECRET") {
				t.Errorf("page text leaked: %s", body)
			}
			if strings.Contains(string(body), down.Error()) {
				t.Errorf("internal error detail leaked: %s", body)
			}
		})
	}
}
