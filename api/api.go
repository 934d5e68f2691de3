package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/storage"
	"paperchart/users"
)

// Batches is what the API reads of the database.
type Batches interface {
	ListBatches(ctx context.Context, f storage.BatchFilter) ([]storage.Batch, error)
	Batch(ctx context.Context, id int64) (storage.Batch, error)
	Pages(ctx context.Context, batchID int64) ([]storage.Page, error)
	Events(ctx context.Context, batchID int64) ([]storage.Event, error)
}

// Check is one dependency the health endpoint asks.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// Server serves the API.
type Server struct {
	Batches Batches
	Checks  []Check
	Log     *slog.Logger
	// The review queue and documents; without Documents those routes are
	// not served.
	Documents Documents
	Patients  Patients
	Filer     Filer
	Objects   Objects
	// Protect wraps the routes that carry patient data (review queue,
	// documents, patients, cover sheets), for sign-in; nil serves them as
	// they are.
	Protect func(http.Handler) http.Handler
	// Access, when set, is minimum necessary (users.Access) for the
	// signed-in user: a document outside their work is refused (403) until
	// they break the glass (POST /api/documents/{id}/break-glass).
	Access *users.Access
	// Audit, when set, is the audit trail: every read of patient data is
	// recorded there before it is served.
	Audit *audit.Log
}

// Handler returns the routes. Every answer carries
// X-Content-Type-Options: nosniff.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /livez", Live)
	mux.HandleFunc("GET /api/batches", s.listBatches)
	mux.HandleFunc("GET /api/batches/{id}", s.showBatch)
	s.reviewRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// Routes lists the patterns Handler serves (method and path, as
// http.ServeMux reads them), for tests that walk every route.
func (s *Server) Routes() []string {
	out := []string{"GET /healthz", "GET /livez", "GET /api/batches", "GET /api/batches/{id}"}
	if s.Documents != nil {
		for pattern := range s.reviewHandlers() {
			out = append(out, pattern)
		}
	}
	slices.Sort(out)
	return out
}

// anonymousBatch hides what a batch's file name may tell (clerks name
// scans after patients) from a request without a signed-in user.
func anonymousBatch(r *http.Request, b storage.Batch) storage.Batch {
	if _, ok := users.FromContext(r.Context()); !ok {
		b.Name = ""
	}
	return b
}

// HealthHandler answers GET /healthz alone: 200 when every check's
// dependency answers, 503 naming the ones down. A Server with only Checks
// and Log serves it, for roles without the rest of the API.
func (s *Server) HealthHandler() http.Handler { return http.HandlerFunc(s.health) }

// Live answers GET /livez: 200 while the process serves HTTP at all, whatever
// its dependencies say. Orchestrators restart a process whose liveness fails,
// which would not bring a lost database back: probe liveness here, readiness
// on /healthz.
func Live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status := map[string]string{}
	code := http.StatusOK
	for _, c := range s.Checks {
		if err := c.Ping(ctx); err != nil {
			status[c.Name] = "down"
			code = http.StatusServiceUnavailable
			s.Log.Warn("health check failed", "dependency", c.Name, "err", err)
		} else {
			status[c.Name] = "ok"
		}
	}
	writeJSON(w, code, map[string]any{"ok": code == http.StatusOK, "checks": status})
}

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := storage.BatchFilter{State: q.Get("state"), Source: q.Get("source")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	bs, err := s.Batches.ListBatches(r.Context(), f)
	if err != nil {
		s.internal(w, "list batches", err)
		return
	}
	if bs == nil {
		bs = []storage.Batch{}
	}
	for i := range bs {
		bs[i] = anonymousBatch(r, bs[i])
	}
	writeJSON(w, http.StatusOK, bs)
}

// BatchDetail is a batch with its pages and history.
type BatchDetail struct {
	storage.Batch
	PageList []storage.Page  `json:"page_list"`
	Events   []storage.Event `json:"events"`
}

func (s *Server) showBatch(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "batch id must be a positive whole number")
		return
	}
	b, err := s.Batches.Batch(r.Context(), id)
	if err != nil {
		s.fail(w, "no such batch", "read batch", err)
		return
	}
	d := BatchDetail{Batch: anonymousBatch(r, b)}
	if d.PageList, err = s.Batches.Pages(r.Context(), id); err != nil {
		s.internal(w, "read pages", err)
		return
	}
	if d.Events, err = s.Batches.Events(r.Context(), id); err != nil {
		s.internal(w, "read events", err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// fail answers an error a handler did not answer itself: 404 with
// notFound for anything not found (chart.ErrNotFound, whichever package
// said it), else 500, logging what failed.
func (s *Server) fail(w http.ResponseWriter, notFound, what string, err error) {
	if errors.Is(err, chart.ErrNotFound) {
		writeError(w, http.StatusNotFound, notFound)
		return
	}
	s.internal(w, what, err)
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.Log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error; see the server log")
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
