package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"paperchart/audit"
	"paperchart/internal/testenv"
	"paperchart/tokens"
	"paperchart/workers"
)

// TestWebHandler checks how serve puts the parts together: FHIR behind
// bearer tokens and audited, patient data of the JSON API and the
// workstation behind sign-in, the batch status and health open.
func TestWebHandler(t *testing.T) {
	ctx := context.Background()
	db, _ := migratedDB(t)
	s := &services{db: db, objs: testenv.Objects(t),
		queue: workers.NewQueue(asynq.RedisClientOpt{Addr: testenv.RedisAddr()}, workers.QueueConfig{Prefix: testenv.Name("web") + ":"})}
	c := &config{Authority: "MRN", MRNWidth: 8}
	h, err := webHandler(c, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testenv.Must(t, err, "web handler")
	srv := httptest.NewServer(h)
	defer srv.Close()
	secret, _, err := tokens.New(db.Pool()).Create(ctx, "ehr", []string{"system/*.read"}, 0)
	testenv.Must(t, err, "token")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		path, token string
		code        int
		location    string
	}{
		{"/", "", 303, "/review/"},
		{"/healthz", "", 200, ""},
		{"/api/batches", "", 200, ""},
		{"/api/review", "", 303, "/review/login"},
		{"/review/", "", 303, "/review/login"},
		{"/review/login", "", 200, ""},
		{"/fhir/metadata", "", 200, ""},
		{"/fhir/Patient?identifier=1", "", 401, ""},
		{"/fhir/Patient?identifier=1", "pct_forged", 401, ""},
		{"/fhir/Patient?identifier=1", secret, 200, ""},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := noRedirect.Do(req)
		testenv.Must(t, err, "get")
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.HasPrefix(resp.Header.Get("Location"), tc.location) {
			t.Errorf("%s (token %v): %d %q, want %d %q", tc.path, tc.token != "", resp.StatusCode, resp.Header.Get("Location"), tc.code, tc.location)
		}
	}
	// The FHIR requests are in the audit trail, which verifies.
	trail := audit.New(db.Pool())
	es, err := trail.List(ctx, audit.Filter{Limit: 100})
	testenv.Must(t, err, "audit list")
	var actors []string
	for _, e := range es {
		actors = append(actors, e.Actor+":"+e.Outcome)
	}
	if got := strings.Join(actors, " "); !strings.Contains(got, "token:ehr:ok") || strings.Count(got, ":denied") != 2 {
		t.Errorf("audit trail %q, want the token's search and two denials", got)
	}
	rep, err := trail.Verify(ctx)
	testenv.Must(t, err, "verify")
	if !rep.Intact {
		t.Errorf("audit chain broken: %+v", rep)
	}
}
