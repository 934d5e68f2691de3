package review

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/filing"
	"paperchart/patients"
	"paperchart/storage"
	"paperchart/users"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// DefaultClaimTTL is how long opening a document keeps it from others when
// Server.ClaimTTL is zero. The open page renews its claim while the person
// works on it.
const DefaultClaimTTL = 10 * time.Minute

// Server is the indexing workstation. Every field but Log and ClaimTTL is
// required.
type Server struct {
	DB       *storage.DB
	Objects  *storage.Objects
	Patients *patients.Index
	Filer    *filing.Filer
	Users    *users.Store
	Sessions *users.Sessions
	Log      *slog.Logger
	// Audit, when set, is the audit trail (package audit): every document
	// read, decision and sign-in is recorded there too. Without it only the
	// documents' own histories are kept.
	Audit *audit.Log
	// ClaimTTL is how long a claim on a document lasts without renewal.
	// Default DefaultClaimTTL.
	ClaimTTL time.Duration
	// Access, when set, is minimum necessary (users.Access): a document
	// outside a person's work opens only after breaking the glass. Without
	// it every signed-in user reads every document.
	Access *users.Access
	// ViewKey signs the per-view tokens of page-image URLs, which tie each
	// image read in the audit trail to the view it belongs to (paperchart
	// serve --view-key); processes behind one load balancer need the same
	// one. Empty: a random key of the process (tokens then verify only on
	// the process that rendered the view; an image read elsewhere is
	// recorded as not from a view).
	ViewKey []byte
}

// app is a Server ready to serve: defaults applied, templates parsed.
type app struct {
	*Server
	log    *slog.Logger
	ttl    time.Duration
	pages  map[string]*template.Template
	static map[string]staticFile
	// version is a hash of the static files, appended to their URLs so a
	// browser keeps them until they change.
	version string
	viewKey []byte
}

// route is one pattern the workstation serves; need is the role it takes,
// "" for a public page.
type route struct {
	pattern string
	need    users.Role
	h       http.HandlerFunc
}

func (a *app) routes() []route {
	const public = users.Role("")
	rs := []route{
		{"GET /review/static/{file}", public, a.serveStatic},
		{"GET /review/login", public, a.loginPage},
		{"POST /review/login", public, a.login},
		{"POST /review/logout", users.Indexer, a.logout},

		{"GET /review/{$}", users.Indexer, a.queue},
		{"POST /review/next", users.Indexer, a.next},
		{"GET /review/doc/{id}", users.Indexer, a.document},
		{"GET /review/doc/{id}/page/{no}", users.Indexer, a.pageImage},
		{"POST /review/doc/{id}/open", users.Indexer, a.open},
		{"POST /review/doc/{id}/break-glass", users.Indexer, a.breakGlass},
		{"POST /review/doc/{id}/claim", users.Indexer, a.renewClaim},
		{"POST /review/doc/{id}/release", users.Indexer, a.release},
		{"POST /review/doc/{id}/skip", users.Indexer, a.skip},
		{"POST /review/doc/{id}/confirm", users.Indexer, a.confirm},
		{"POST /review/doc/{id}/reject", users.Indexer, a.reject},
		{"POST /review/doc/{id}/split", users.Indexer, a.split},
		{"POST /review/doc/{id}/merge", users.Indexer, a.merge},
		{"POST /review/doc/{id}/remove-page", users.Indexer, a.removePage},
		{"POST /review/doc/{id}/move-page", users.Indexer, a.movePage},
		{"GET /review/patients", users.Indexer, a.searchPatients},
		{"GET /review/search", users.Indexer, a.searchDocuments},
		{"GET /review/types", users.Indexer, a.typeQueue},
		{"POST /review/doc/{id}/type", users.Indexer, a.confirmType},
		{"POST /review/doc/{id}/move-filed", users.Records, a.moveFiled},

		{"GET /review/batches", users.Indexer, a.batches},
		{"GET /review/batches.json", users.Indexer, a.batchesJSON},

		{"GET /review/stats", users.Supervisor, a.stats},

		{"GET /review/admin/users", users.Admin, a.adminUsers},
		{"POST /review/admin/users", users.Admin, a.addUser},
		{"POST /review/admin/users/disable", users.Admin, a.disableUser},
		{"POST /review/admin/users/role", users.Admin, a.setRole},
		{"POST /review/admin/users/unlock", users.Admin, a.unlockUser},
	}
	return append(rs, a.releaseRoutes()...) // release.go
}

// Routes lists the patterns Handler serves (method and path, as
// http.ServeMux reads them), for tests that walk every route.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range (&app{Server: s}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// Handler returns the workstation's routes, all under /review/. It panics
// when an embedded template does not parse (a build defect, caught by any
// test).
func (s *Server) Handler() http.Handler {
	a := &app{Server: s, log: s.Log, ttl: s.ClaimTTL}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.ttl <= 0 {
		a.ttl = DefaultClaimTTL
	}
	a.static, a.version = loadStatic()
	a.pages = parseTemplates()
	a.parseReleaseTemplates() // release.go

	a.viewKey = s.ViewKey
	if len(a.viewKey) == 0 {
		a.viewKey = make([]byte, 32)
		rand.Read(a.viewKey)
	}

	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		if rt.need == "" {
			mux.HandleFunc(rt.pattern, rt.h)
		} else {
			mux.Handle(rt.pattern, s.Sessions.Require(rt.need, rt.h))
		}
	}
	mux.HandleFunc("/review/", func(w http.ResponseWriter, r *http.Request) {
		a.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such page.")
	})
	return a.headers(s.Sessions.Middleware(mux))
}

// headers sets the security headers of every answer: scripts, styles,
// images and requests from this server only, no framing, and no caching of
// anything but the static files (pages carry patient data).
func (a *app) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/review/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// staticFile is one embedded asset.
type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

func loadStatic() (map[string]staticFile, string) {
	out := map[string]staticFile{}
	all := sha256.New()
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		panic(fmt.Sprintf("review: read embedded static files: %v", err))
	}
	for _, e := range entries {
		b, err := staticFiles.ReadFile("static/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("review: read embedded %s: %v", e.Name(), err))
		}
		sum := sha256.Sum256(b)
		all.Write(sum[:])
		ctype := "application/octet-stream"
		switch path.Ext(e.Name()) {
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		out[e.Name()] = staticFile{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return out, hex.EncodeToString(all.Sum(nil)[:6])
}

func (a *app) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := a.static[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(f.body)
}

// view is what every page's template gets.
type view struct {
	Title    string
	Nav      string // the navigation entry to mark current
	Page     string // body data-page, for the script
	Session  users.Session
	SignedIn bool
	CanStats bool
	CanAdmin bool
	CSRF     template.HTML // the hidden form field
	Token    string        // the same token, for the script's requests
	Version  string
	Data     any
}

func (a *app) view(r *http.Request, title, nav, page string, data any) view {
	v := view{Title: title, Nav: nav, Page: page, Version: a.version, Data: data}
	if sess, ok := users.FromContext(r.Context()); ok {
		v.Session, v.SignedIn = sess, true
		v.CanStats = sess.User.Role.Allows(users.Supervisor)
		v.CanAdmin = sess.User.Role.Allows(users.Admin)
		v.CSRF = users.CSRFField(sess)
		v.Token = sess.CSRF
	}
	return v
}

// render writes a page with its status.
func (a *app) render(w http.ResponseWriter, r *http.Request, code int, name string, v view) {
	t, ok := a.pages[name]
	if !ok {
		a.fail(w, r, "render page", fmt.Errorf("no template %q", name))
		return
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		a.fail(w, r, "render page", fmt.Errorf("template %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(buf.String()))
}

type errorData struct {
	Title   string
	Message string
	Ref     string
	Back    string // a link back, when there is a useful one
	Holder  string // who holds the claim (conflict pages)
	Until   time.Time
	Release int64 // a document a supervisor may release
	// BreakGlass is a document the person may open by saying why.
	BreakGlass int64
}

// errorPage answers with a page in plain words and no technical detail.
func (a *app) errorPage(w http.ResponseWriter, r *http.Request, code int, title, msg string) {
	a.renderError(w, r, code, errorData{Title: title, Message: msg})
}

func (a *app) renderError(w http.ResponseWriter, r *http.Request, code int, d errorData) {
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": d.Message})
		return
	}
	a.render(w, r, code, "error.html", a.view(r, d.Title, "", "error", d))
}

// fail logs an unexpected error under a reference and shows only the
// reference. Errors from storage, filing and patients carry IDs, never
// patient data; the request's query (a patient search) is not logged.
//
// Anything not found (chart.ErrNotFound, whichever package said it) is
// answered 404 instead, naming what the request was for.
func (a *app) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, chart.ErrNotFound) {
		a.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such "+missing(r)+".")
		return
	}
	b := make([]byte, 4)
	rand.Read(b)
	ref := hex.EncodeToString(b)
	a.log.Error(what, "ref", ref, "method", r.Method, "path", r.URL.Path, "err", err)
	if r.Context().Err() != nil {
		return // the browser went away
	}
	d := errorData{Title: "Something went wrong",
		Message: "paperchart could not do that. Try again; if it keeps happening, give this reference to your administrator.",
		Ref:     ref}
	if wantsJSON(r) {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": d.Message, "ref": ref})
		return
	}
	t, ok := a.pages["error.html"]
	if !ok {
		http.Error(w, "internal error, reference "+ref, http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", a.view(r, d.Title, "", "error", d)); err != nil {
		http.Error(w, "internal error, reference "+ref, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte(buf.String()))
}

// wantsJSON reports whether the request came from the page's script.
// missing names what a request asked for, for its 404.
func missing(r *http.Request) string {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/review/doc/"):
		return "document"
	case strings.HasPrefix(p, "/review/admin/users"):
		return "user"
	case strings.HasPrefix(p, "/review/batches"):
		return "batch"
	case strings.HasPrefix(p, "/review/release"):
		return "release request"
	}
	return "record"
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// user is the signed-in person's name: who acts, in every history.
func user(r *http.Request) string {
	sess, _ := users.FromContext(r.Context())
	return sess.User.Name
}

func role(r *http.Request) users.Role {
	sess, _ := users.FromContext(r.Context())
	return sess.User.Role
}

// pathID reads a positive ID from the path.
func pathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// parseForm reads a posted form (at most 64 KiB), answering 400 itself.
func (a *app) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	return true
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// detached keeps a request's values but not its cancellation, for writes
// that must finish once begun.
func detached(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// pageTemplates are the pages, each parsed with layout.html.
var pageTemplates = []string{"login.html", "queue.html", "typecheck.html", "document.html", "batches.html", "stats.html", "admin_users.html", "error.html", "search.html"}

func parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"age":       age,
		"clock":     func(t time.Time) string { return t.Local().Format("15:04") },
		"when":      func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
		"pct":       pct,
		"join":      strings.Join,
		"hasPrefix": strings.HasPrefix,
		"ratio": func(n, of int) int {
			if of <= 0 {
				return 0
			}
			return 100 * n / of
		},
	}
	out := make(map[string]*template.Template, len(pageTemplates))
	for _, name := range pageTemplates {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name))
	}
	return out
}

// age says how long ago t was, briefly: "40 s", "12 min", "3 h", "2 d".
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(0, int(d.Seconds()))) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " d"
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
