package review

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"paperchart/audit"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
	"paperchart/users"
)

// syncBuffer collects the server's log for the no-patient-data checks.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is the workstation on a database, bucket and patient index of the
// test's own (filingtest.Index), served by httptest.
type env struct {
	t     testing.TB
	db    *storage.DB
	obj   *storage.Objects
	index *patients.Index
	filer *filing.Filer
	users *users.Store
	sess  *users.Sessions
	audit *audit.Log
	srv   *httptest.Server
	logs  *syncBuffer
	ctx   context.Context
	// served adds up the time the handler spent serving requests, in
	// nanoseconds: the server-side time the benchmark measures.
	served atomic.Int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	su := filingtest.New(t, log)
	e.db, e.obj, e.index, e.filer = su.DB, su.Objects, su.Index, su.Filer
	e.users = users.NewStore(e.db.Pool())
	e.sess = users.NewSessions(e.users, users.Config{}, log)
	e.audit = audit.New(e.db.Pool())
	s := &Server{DB: e.db, Objects: e.obj, Patients: e.index, Filer: e.filer, Users: e.users, Sessions: e.sess, Log: log,
		Audit: e.audit, Access: users.NewAccess(e.users, 0)}
	h := s.Handler()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		e.served.Add(int64(time.Since(start)))
	}))
	t.Cleanup(e.srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

// password is a user's password in tests.
func password(name string) string { return name + "-correct-horse" }

// addUser adds a user straight to the table with a hash at bcrypt's lowest
// cost: users.Store.Add hashes at cost 12, which takes seconds under the
// race detector. Sessions and sign-in are the users package's own.
func (e *env) addUser(name string, role users.Role) users.User {
	e.t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password(name)), bcrypt.MinCost)
	testenv.Must(e.t, err, "hash")
	_, err = e.db.Pool().Exec(e.ctx, `INSERT INTO users (name, role, password_hash, created_at, updated_at, password_changed_at)
		VALUES ($1, $2, $3, now(), now(), now())`, name, string(role), string(h))
	testenv.Must(e.t, err, "add user %s", name)
	u, err := e.users.ByName(e.ctx, name)
	testenv.Must(e.t, err, "read user %s", name)
	return u
}

// batch records a batch of the pages as OCR leaves it, files it, and
// returns its documents in batch order.
func (e *env) batch(name string, pages []filingtest.Page) []storage.Document {
	e.t.Helper()
	id := filingtest.Batch(e.t, e.db, e.obj, name+"-"+testenv.Name(""), pages)
	_, err := e.filer.FileBatch(e.ctx, id)
	testenv.Must(e.t, err, "file batch")
	docs, err := e.db.BatchDocuments(e.ctx, id)
	testenv.Must(e.t, err, "documents")
	return docs
}

func (e *env) doc(id int64) storage.Document {
	e.t.Helper()
	d, err := e.db.Document(e.ctx, id)
	testenv.Must(e.t, err, "read document %d", id)
	return d
}

func (e *env) patient(mrn string) patients.Patient {
	e.t.Helper()
	p, err := e.index.ByMRN(e.ctx, "", mrn)
	testenv.Must(e.t, err, "patient")
	return p
}

// events lists a document's history as "actor:event".
func (e *env) events(id int64) []string {
	e.t.Helper()
	evs, err := e.db.DocumentEvents(e.ctx, id)
	testenv.Must(e.t, err, "events")
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Actor+":"+ev.Event)
	}
	return out
}

// client is a browser of one signed-in user (or of nobody), that does not
// follow redirects.
type client struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) anonymous() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// sessionCookie starts a session for u the way the sign-in page does,
// without the password check.
func (e *env) sessionCookie(u users.User) *http.Cookie {
	e.t.Helper()
	rec := httptest.NewRecorder()
	_, err := e.sess.Start(e.ctx, rec, u)
	testenv.Must(e.t, err, "start session")
	cs := rec.Result().Cookies()
	if len(cs) == 0 {
		e.t.Fatal("no session cookie")
	}
	return cs[0]
}

func (e *env) as(u users.User) *client {
	e.t.Helper()
	c := e.anonymous()
	base, _ := url.Parse(e.srv.URL)
	c.c.Jar.SetCookies(base, []*http.Cookie{e.sessionCookie(u)})
	r := c.get("/review/batches")
	if r.code != 200 {
		e.t.Fatalf("signed-in page: %d %s", r.code, r.body)
	}
	c.csrf = r.csrf()
	return c
}

type resp struct {
	code   int
	body   string
	header http.Header
}

func (r resp) loc() string { return r.header.Get("Location") }

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (r resp) csrf() string {
	m := csrfMeta.FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func (c *client) do(req *http.Request) resp {
	c.e.t.Helper()
	res, err := c.c.Do(req)
	testenv.Must(c.e.t, err, "%s %s", req.Method, req.URL.Path)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, body: string(b), header: res.Header}
}

func (c *client) get(path string) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	return c.do(req)
}

// post sends a form with the session's CSRF token.
func (c *client) post(path string, form url.Values) resp {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf_token") {
		form.Set("csrf_token", c.csrf)
	}
	return c.postRaw(path, form)
}

// postRaw sends a form as it is (no CSRF token unless it has one).
func (c *client) postRaw(path string, form url.Values) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// A two-page progress note of one of the twins NGUYEN (filingtest.Index):
// only the birth date and family name are on it, so both twins are equally
// likely and it waits for a person.
const (
	twinPage1 = "SPRINGFIELD MEMORIAL HOSPITAL\n1200 North Main Street, Springfield IL\nPROGRESS NOTE\nPatient: NGUYEN\nDOB: 02/27/1990\n" +
		"Date of Service: 03/14/2024\nSubjective: The patient reports improved sleep and less fatigue since the last visit.\n" +
		"Objective: Blood pressure 118/76, pulse 72, afebrile.\nPage 1 of 2\n"
	twinPage2 = "PROGRESS NOTE (continued)\nPatient: NGUYEN DOB: 02/27/1990\nAssessment: iron deficiency anemia, improving on oral iron.\n" +
		"Plan: continue ferrous sulfate, repeat complete blood count in six weeks.\nPage 2 of 2\n"
)

// twinBatch is a batch of two documents in review: the twins' note (pages
// 1–2, two candidates) and a stranger's note (page 3, no candidate).
func (e *env) twinBatch(name string) (twin, stranger storage.Document) {
	e.t.Helper()
	docs := e.batch(name, []filingtest.Page{{Text: twinPage1}, {Text: twinPage2}, {Text: filingtest.Stranger}})
	if len(docs) != 2 || docs[0].State != storage.DocReview || docs[1].State != storage.DocReview || len(docs[0].Pages) != 2 {
		e.t.Fatalf("fixture: want two documents in review, the first of two pages; got %+v", docs)
	}
	return docs[0], docs[1]
}
