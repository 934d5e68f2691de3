package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"paperchart/api"
	"paperchart/audit"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
	"paperchart/users"
)

// signedIn adds a user straight to the table (bcrypt at its lowest cost)
// and returns a session cookie and CSRF token for them.
func signedIn(t *testing.T, db *storage.DB, ss *users.Sessions, st *users.Store, name string, role users.Role) (*http.Cookie, string) {
	t.Helper()
	ctx := context.Background()
	h, err := bcrypt.GenerateFromPassword([]byte(name+"-password-1"), bcrypt.MinCost)
	testenv.Must(t, err, "hash")
	_, err = db.Pool().Exec(ctx, `INSERT INTO users (name, role, password_hash, created_at, updated_at, password_changed_at)
		VALUES ($1, $2, $3, now(), now(), now())`, name, string(role), string(h))
	testenv.Must(t, err, "add user")
	u, err := st.ByName(ctx, name)
	testenv.Must(t, err, "user")
	rec := httptest.NewRecorder()
	sess, err := ss.Start(ctx, rec, u)
	testenv.Must(t, err, "session")
	return rec.Result().Cookies()[0], sess.CSRF
}

// TestAPIAccess: the JSON API keeps minimum necessary as the workstation
// does, audits every read of patient data, sends nosniff, and shows batch
// file names only to a signed-in user.
func TestAPIAccess(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	db := su.DB
	id := filingtest.Batch(t, db, su.Objects, "hartmann-elise-discharge.pdf", []filingtest.Page{{Text: filingtest.Discharge}, {Blank: true}, {Text: filingtest.Stranger}})
	_, err := su.Filer.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	filed, review := docs[0], docs[1]
	st := users.NewStore(db.Pool())
	ss := users.NewSessions(st, users.Config{}, log)
	trail := audit.New(db.Pool())
	srv := httptest.NewServer(ss.Middleware((&api.Server{Batches: db, Log: log, Documents: db, Patients: su.Index, Filer: su.Filer,
		Objects: su.Objects, Access: users.NewAccess(st, 0), Audit: trail,
		Protect: func(h http.Handler) http.Handler { return ss.Require(users.Indexer, h) }}).Handler()))
	defer srv.Close()
	lou, louCSRF := signedIn(t, db, ss, st, "lou", users.Indexer)
	rob, _ := signedIn(t, db, ss, st, "rob", users.Records)

	call := func(method, path string, c *http.Cookie, csrf, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if c != nil {
			req.AddCookie(c)
		}
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "%s %s", method, path)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	head := func() int64 {
		es, err := trail.List(ctx, audit.Filter{Limit: 1})
		testenv.Must(t, err, "audit")
		if len(es) == 0 {
			return 0
		}
		return es[0].ID
	}
	since := func(after int64) string {
		es, err := trail.List(ctx, audit.Filter{Limit: 100})
		testenv.Must(t, err, "audit")
		var out []string
		for _, e := range es {
			if e.ID > after {
				out = append(out, fmt.Sprintf("%s %s %s %s", e.Actor, e.Action, e.Resource, e.Outcome))
			}
		}
		return strings.Join(out, "; ")
	}

	doc := fmt.Sprintf("/api/documents/%d", filed.ID)
	for _, tc := range []struct {
		name, method, path string
		c                  *http.Cookie
		csrf, body         string
		code               int
		has, lacks         string
		audited            string // an entry written, "" for none
	}{
		{"queue document", "GET", fmt.Sprintf("/api/documents/%d", review.ID), lou, "", "", 200, `"candidates"`, "", "user:lou document.view"},
		{"another's filed document", "GET", doc, lou, "", "", 403, "break-glass", "HARTMANN", "user:lou document.view " + fmt.Sprintf("DocumentReference/%d denied", filed.ID)},
		{"its PDF", "GET", doc + "/pdf", lou, "", "", 403, "", "%PDF", "user:lou document.pdf"},
		{"the patient's documents, filtered", "GET", fmt.Sprintf("/api/patients/%d/documents", *filed.PatientID), lou, "", "", 200, "[]", "", "user:lou document.list"},
		{"records reads it", "GET", doc, rob, "", "", 200, "HARTMANN", "", "user:rob document.view"},
		{"records reads the PDF", "GET", doc + "/pdf", rob, "", "", 200, "%PDF", "", "user:rob document.pdf"},
		{"records lists the patient's documents", "GET", fmt.Sprintf("/api/patients/%d/documents", *filed.PatientID), rob, "", "", 200, fmt.Sprintf(`"id": %d`, filed.ID), "", "user:rob document.list"},
		{"break-glass without a reason", "POST", doc + "/break-glass", lou, louCSRF, `{"reason": ""}`, 400, "reason", "", ""},
		{"break-glass", "POST", doc + "/break-glass", lou, louCSRF, `{"reason": "release of information request 2024-113"}`, 200, "", "", "user:lou document.break-glass"},
		{"then readable", "GET", doc, lou, "", "", 200, "HARTMANN", "", "user:lou document.view"},
		{"patient search", "GET", "/api/patients/search?family=HARTMANN", lou, "", "", 200, "00410001", "", "user:lou patient.search"},
		{"review list", "GET", "/api/review", lou, "", "", 200, "count", "", "user:lou document.list"},
		{"type-check list", "GET", "/api/typecheck", lou, "", "", 200, "count", "", "user:lou document.list"},
		{"cover sheet", "GET", "/api/coversheet?mrn=00410001", lou, "", "", 200, "%PDF", "", "user:lou coversheet.print"},
		{"batches, anonymous: no file names", "GET", "/api/batches", nil, "", "", 200, `"state"`, `"name": "hartmann`, ""},
		{"batch, anonymous: no file name", "GET", fmt.Sprintf("/api/batches/%d", id), nil, "", "", 200, `"state"`, `"name": "hartmann`, ""},
		{"batches, signed in", "GET", "/api/batches", lou, "", "", 200, "hartmann-elise", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := head()
			code, body, hdr := call(tc.method, tc.path, tc.c, tc.csrf, tc.body)
			if code != tc.code {
				t.Fatalf("%d, want %d: %.300s", code, tc.code, body)
			}
			if tc.has != "" && !strings.Contains(body, tc.has) {
				t.Errorf("body lacks %q: %.300s", tc.has, body)
			}
			if tc.lacks != "" && strings.Contains(body, tc.lacks) {
				t.Errorf("body has %q", tc.lacks)
			}
			if hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", hdr.Get("X-Content-Type-Options"))
			}
			if got := since(before); tc.audited != "" && !strings.Contains(got, tc.audited) {
				t.Errorf("audit trail %q lacks %q", got, tc.audited)
			}
		})
	}
}
