package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"paperchart/api"
	"paperchart/audit"
	"paperchart/fhir"
	"paperchart/patients"
	"paperchart/review"
	"paperchart/search"
	"paperchart/tokens"
	"paperchart/users"
)

// webHandler puts together everything `paperchart serve` answers: the JSON
// API (/api/, /healthz), the indexing workstation (/review/, signed-in
// users) and the FHIR server (/fhir/, bearer tokens).
func webHandler(c *config, s *services, log *slog.Logger) (http.Handler, error) {
	if c.ViewKey != "" && len(c.ViewKey) < minViewKey {
		return nil, fmt.Errorf("--view-key is %d characters: give at least %d (say, openssl rand -hex 32)", len(c.ViewKey), minViewKey)
	}
	filer, err := s.filing(c, log)
	if err != nil {
		return nil, err
	}
	pool := s.db.Pool()
	idx := patients.New(pool, patients.Options{Log: log})
	us := users.NewStore(pool)
	sessions := users.NewSessions(us, users.Config{Secure: c.SecureCookies || c.TLSCert != ""}, log)
	trail := audit.New(pool)
	access := users.NewAccess(us, time.Duration(c.AccessDays)*24*time.Hour)
	a := &api.Server{Batches: s.db, Log: log, Checks: s.checks(), Documents: s.db, Patients: idx, Filer: filer, Objects: s.objs, Access: access, Audit: trail,
		Protect: func(h http.Handler) http.Handler { return sessions.Require(users.Indexer, h) }}
	rv := &review.Server{DB: s.db, Objects: s.objs, Patients: idx, Filer: filer, Users: us, Sessions: sessions, Audit: trail,
		Access: access, Log: log, ViewKey: []byte(c.ViewKey)}

	mux := http.NewServeMux()
	mux.Handle("/review/", sessions.Middleware(rv.Handler()))
	mux.Handle("/fhir/", fhirHandler(c, s, idx, trail, log))
	// Counts and timings only, never patient data: open like /healthz, for
	// Prometheus.
	mux.Handle("GET /metrics", s.registry().Handler())
	mux.Handle("GET /{$}", http.RedirectHandler("/review/", http.StatusSeeOther))
	mux.Handle("/", sessions.Middleware(a.Handler()))
	return secured(mux), nil
}

// fhirHandler is the FHIR server for the EHR (/fhir/), behind its bearer
// tokens: what serve answers there, and what the latency benchmark polls.
func fhirHandler(c *config, s *services, idx *patients.Index, trail *audit.Log, log *slog.Logger) http.Handler {
	fs := &fhir.Server{Documents: s.db, Patients: idx, Objects: s.objs, Auth: fhirTokens{}, Audit: fhirAudit{trail},
		Base: c.FHIRBase, DefaultAuthority: c.Authority, Log: log, Content: &search.Searcher{Pool: s.db.Pool(), Audit: trail}}
	return tokens.New(s.db.Pool()).Middleware(fs.Handler())
}

// minViewKey is the shortest --view-key accepted, in bytes.
const minViewKey = 32

// secured answers a path with dot segments (/review/../api, %2e%2e) 404
// itself instead of letting http.ServeMux redirect it to its clean form,
// and asks browsers to keep to HTTPS (HSTS) on a TLS connection.
func secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		p := r.URL.Path
		if p != "/" && (path.Clean(p) != strings.TrimSuffix(p, "/") || strings.Contains(p, "//")) {
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fhirTokens finds the FHIR caller from the bearer token tokens.Middleware
// read.
type fhirTokens struct{}

func (fhirTokens) Caller(r *http.Request) (fhir.Caller, error) {
	t, ok := tokens.FromContext(r.Context())
	if ok {
		return fhir.Caller{Name: t.Name, Allows: t.Allows}, nil
	}
	err := tokens.AuthError(r.Context())
	if errors.Is(err, tokens.ErrMissing) || errors.Is(err, tokens.ErrInvalid) {
		return fhir.Caller{}, errors.Join(fhir.ErrNoCaller, err)
	}
	return fhir.Caller{}, err
}

// fhirAudit writes the FHIR server's events to the audit trail.
type fhirAudit struct{ l *audit.Log }

func (a fhirAudit) Audit(ctx context.Context, e fhir.Event) error {
	_, err := a.l.Record(ctx, audit.Entry{Actor: e.Actor, Action: e.Action, Resource: e.Resource, PatientID: e.PatientID,
		DocumentID: e.DocumentID, Remote: e.Remote, Outcome: e.Outcome, Detail: e.Detail})
	return err
}

// Denied counts a request without valid credentials per address and
// minute (audit.Log.Denied).
func (a fhirAudit) Denied(ctx context.Context, remote, action, resource string) error {
	return a.l.Denied(ctx, remote, action, resource)
}
