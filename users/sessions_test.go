package users

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"paperchart/internal/testenv"
)

// signIn starts a session for the user and returns its cookie.
func signIn(t *testing.T, ss *Sessions, u User) (Session, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	sess, err := ss.Start(context.Background(), rec, u)
	testenv.Must(t, err, "start session")
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("Start set %d cookies, want 1", len(cs))
	}
	return sess, cs[0]
}

// whoami answers with the signed-in user's name, or "-".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if sess, ok := FromContext(r.Context()); ok {
		io.WriteString(w, sess.User.Name+" "+string(sess.User.Role))
		return
	}
	io.WriteString(w, "-")
})

// do serves one request through h with the cookie, if any.
func do(h http.Handler, method, target string, c *http.Cookie, body url.Values, header http.Header) *httptest.ResponseRecorder {
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	kate, err := s.Add(ctx, "kate", Supervisor, goodPassword)
	testenv.Must(t, err, "add")
	ss := NewSessions(s, Config{}, nil)
	h := ss.Middleware(whoami)

	sessionRows := func() int {
		var n int
		testenv.Must(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM user_sessions`).Scan(&n), "count sessions")
		return n
	}

	t.Run("cookie", func(t *testing.T) {
		for _, secure := range []bool{false, true} {
			ss := NewSessions(s, Config{Secure: secure, CookieName: "pc"}, nil)
			sess, c := signIn(t, ss, kate)
			if c.Name != "pc" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != secure ||
				c.MaxAge != 0 || !c.Expires.IsZero() {
				t.Errorf("cookie %+v (secure %v)", c, secure)
			}
			if raw := tokenHash(c.Value); raw == nil {
				t.Errorf("cookie value %q is not a base64url 32-byte token", c.Value)
			}
			if sess.ID == 0 || len(sess.CSRF) < 43 || sess.CSRF == c.Value || sess.User.ID != kate.ID ||
				!sess.Started.Equal(clk.Now()) || !sess.LastSeen.Equal(clk.Now()) {
				t.Errorf("session %+v", sess)
			}
			// Only the token's SHA-256 is stored.
			var stored []byte
			testenv.Must(t, s.pool.QueryRow(ctx, `SELECT token_sha256 FROM user_sessions WHERE id = $1`, sess.ID).Scan(&stored), "read")
			if string(stored) != string(tokenHash(c.Value)) || strings.Contains(string(stored), c.Value) {
				t.Errorf("stored token is not the hash of the cookie's")
			}
		}
	})

	t.Run("middleware loads it", func(t *testing.T) {
		sess, c := signIn(t, ss, kate)
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "kate supervisor" {
			t.Errorf("signed in: %q", got)
		}
		if got := do(h, "GET", "/", nil, nil, nil).Body.String(); got != "-" {
			t.Errorf("no cookie: %q", got)
		}
		for _, v := range []string{"garbage", strings.Repeat("A", 43), ""} {
			rec := do(h, "GET", "/", &http.Cookie{Name: "paperchart_session", Value: v}, nil, nil)
			if rec.Body.String() != "-" {
				t.Errorf("cookie %q: %q", v, rec.Body.String())
			}
		}
		// The role comes from the database on every request.
		testenv.Must(t, s.SetRole(ctx, "kate", Admin), "set role")
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "kate admin" {
			t.Errorf("after role change: %q", got)
		}
		testenv.Must(t, s.SetRole(ctx, "kate", Supervisor), "set role")
		// LastSeen is refreshed.
		clk.Add(5 * time.Minute)
		var got Session
		ss.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, _ = FromContext(r.Context()) })).
			ServeHTTP(httptest.NewRecorder(), func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(c)
				return r
			}())
		var seen time.Time
		testenv.Must(t, s.pool.QueryRow(ctx, `SELECT last_seen_at FROM user_sessions WHERE id = $1`, sess.ID).Scan(&seen), "read")
		if got.ID != sess.ID || got.CSRF != sess.CSRF || !got.LastSeen.Equal(clk.Now()) || !seen.Equal(clk.Now()) || !got.Started.Equal(sess.Started) {
			t.Errorf("session %+v, stored last seen %v, want %v", got, seen, clk.Now())
		}
	})

	t.Run("idle timeout", func(t *testing.T) {
		_, c := signIn(t, ss, kate)
		clk.Add(29 * time.Minute)
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "kate supervisor" {
			t.Fatalf("after 29 idle minutes: %q", got)
		}
		clk.Add(29 * time.Minute) // used 29 minutes ago: still alive
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "kate supervisor" {
			t.Fatalf("29 minutes after last use: %q", got)
		}
		clk.Add(30 * time.Minute)
		rec := do(h, "GET", "/", c, nil, nil)
		if rec.Body.String() != "-" {
			t.Errorf("after 30 idle minutes: %q", rec.Body.String())
		}
		if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
			t.Errorf("expired session's cookie not cleared: %v", cs)
		}
		clk.Add(-30 * time.Minute) // deleted, not just refused
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "-" {
			t.Errorf("expired session came back: %q", got)
		}
	})

	t.Run("max age", func(t *testing.T) {
		ss := NewSessions(s, Config{MaxAge: time.Hour}, nil)
		h := ss.Middleware(whoami)
		_, c := signIn(t, ss, kate)
		for range 2 {
			clk.Add(20 * time.Minute) // busy: never idle
			if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "kate supervisor" {
				t.Fatalf("busy session: %q", got)
			}
		}
		clk.Add(20 * time.Minute)
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "-" {
			t.Errorf("session an hour old with MaxAge 1h: %q", got)
		}
	})

	t.Run("end", func(t *testing.T) {
		_, c := signIn(t, ss, kate)
		before := sessionRows()
		r := httptest.NewRequest("POST", "/logout", nil)
		r.AddCookie(c)
		rec := httptest.NewRecorder()
		testenv.Must(t, ss.End(rec, r), "end")
		if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].Name != "paperchart_session" || cs[0].Value != "" || cs[0].MaxAge >= 0 {
			t.Errorf("End's cookie: %v", cs)
		}
		if sessionRows() != before-1 {
			t.Errorf("End left the session in the database")
		}
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "-" {
			t.Errorf("after End: %q", got)
		}
		// Ending without a session is not an error.
		testenv.Must(t, ss.End(httptest.NewRecorder(), httptest.NewRequest("POST", "/logout", nil)), "end without session")
	})

	t.Run("disabled user", func(t *testing.T) {
		bob, err := s.Add(ctx, "bob", Indexer, goodPassword)
		testenv.Must(t, err, "add")
		_, c1 := signIn(t, ss, bob)
		_, c2 := signIn(t, ss, bob)
		testenv.Must(t, s.SetDisabled(ctx, "bob", true), "disable")
		for _, c := range []*http.Cookie{c1, c2} {
			if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "-" {
				t.Errorf("disabled user's session: %q", got)
			}
		}
		var n int
		testenv.Must(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM user_sessions WHERE user_id = $1`, bob.ID).Scan(&n), "count")
		if n != 0 {
			t.Errorf("disabling left %d sessions", n)
		}
		if _, err := ss.Start(ctx, httptest.NewRecorder(), bob); err == nil {
			t.Errorf("Start for a disabled user (stale User) succeeded")
		}
		// Disabled directly in the database, the session is refused too.
		testenv.Must(t, s.SetDisabled(ctx, "bob", false), "enable")
		_, c3 := signIn(t, ss, bob)
		_, err = s.pool.Exec(ctx, `UPDATE users SET disabled = true WHERE id = $1`, bob.ID)
		testenv.Must(t, err, "disable in SQL")
		if got := do(h, "GET", "/", c3, nil, nil).Body.String(); got != "-" {
			t.Errorf("session of a user disabled in SQL: %q", got)
		}
	})

	t.Run("password change ends sessions", func(t *testing.T) {
		_, c := signIn(t, ss, kate)
		testenv.Must(t, s.SetPassword(ctx, "kate", "a new long password"), "set password")
		if got := do(h, "GET", "/", c, nil, nil).Body.String(); got != "-" {
			t.Errorf("session after password change: %q", got)
		}
	})

	t.Run("start purges expired sessions", func(t *testing.T) {
		signIn(t, ss, kate)
		clk.Add(31 * time.Minute)
		signIn(t, ss, kate)
		if n := sessionRows(); n != 1 {
			t.Errorf("%d sessions after purge, want 1", n)
		}
	})
}

func TestRequire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	indexer, err := s.Add(ctx, "ida", Indexer, goodPassword)
	testenv.Must(t, err, "add")
	super, err := s.Add(ctx, "sue", Supervisor, goodPassword)
	testenv.Must(t, err, "add")
	admin, err := s.Add(ctx, "al", Admin, goodPassword)
	testenv.Must(t, err, "add")
	ss := NewSessions(s, Config{}, nil)
	idaSess, ida := signIn(t, ss, indexer)
	sueSess, sue := signIn(t, ss, super)
	_, al := signIn(t, ss, admin)

	h := ss.Middleware(ss.Require(Supervisor, whoami))
	bare := ss.Require(Supervisor, whoami) // without Middleware: Require loads the session itself
	form := func(token string) url.Values { return url.Values{"csrf_token": {token}, "x": {"1"}} }
	hdr := func(token string) http.Header { return http.Header{"X-Csrf-Token": {token}} }

	for _, tc := range []struct {
		name     string
		h        http.Handler
		method   string
		cookie   *http.Cookie
		body     url.Values
		header   http.Header
		code     int
		body1    string // the answer contains this
		location string
	}{
		{"GET without session", h, "GET", nil, nil, nil, 303, "", "/review/login?next=%2Freview%2Fdocs%2F7%3Ftab%3Dpages"},
		{"HEAD without session", h, "HEAD", nil, nil, nil, 303, "", "/review/login?next=%2Freview%2Fdocs%2F7%3Ftab%3Dpages"},
		{"POST without session", h, "POST", nil, form("x"), nil, 401, "sign in", ""},
		{"DELETE without session", h, "DELETE", nil, nil, nil, 401, "sign in", ""},
		{"GET wrong role", h, "GET", ida, nil, nil, 403, "forbidden", ""},
		{"POST wrong role", h, "POST", ida, form(idaSess.CSRF), nil, 403, "forbidden", ""},
		{"GET right role", h, "GET", sue, nil, nil, 200, "sue supervisor", ""},
		{"GET higher role", h, "GET", al, nil, nil, 200, "al admin", ""},
		{"POST without CSRF token", h, "POST", sue, url.Values{"x": {"1"}}, nil, 403, "reload the page", ""},
		{"POST with empty CSRF token", h, "POST", sue, form(""), nil, 403, "reload the page", ""},
		{"POST with wrong CSRF token", h, "POST", sue, form(sueSess.CSRF[:len(sueSess.CSRF)-1] + "x"), nil, 403, "reload", ""},
		{"POST with another session's token", h, "POST", sue, form(idaSess.CSRF), nil, 403, "reload", ""},
		{"POST with CSRF field", h, "POST", sue, form(sueSess.CSRF), nil, 200, "sue supervisor", ""},
		{"POST with CSRF header", h, "POST", sue, nil, hdr(sueSess.CSRF), 200, "sue supervisor", ""},
		{"PUT with wrong header", h, "PUT", sue, nil, hdr("nope"), 403, "reload", ""},
		{"PATCH with header", h, "PATCH", sue, nil, hdr(sueSess.CSRF), 200, "sue", ""},
		{"DELETE without token", h, "DELETE", sue, nil, nil, 403, "reload", ""},
		{"DELETE with header", h, "DELETE", sue, nil, hdr(sueSess.CSRF), 200, "sue", ""},
		{"without Middleware GET", bare, "GET", sue, nil, nil, 200, "sue supervisor", ""},
		{"without Middleware, no session", bare, "GET", nil, nil, nil, 303, "", "/review/login?next=%2Freview%2Fdocs%2F7%3Ftab%3Dpages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(tc.h, tc.method, "/review/docs/7?tab=pages", tc.cookie, tc.body, tc.header)
			if rec.Code != tc.code {
				t.Fatalf("code %d, want %d; body %q", rec.Code, tc.code, rec.Body.String())
			}
			if !strings.Contains(rec.Body.String(), tc.body1) {
				t.Errorf("body %q lacks %q", rec.Body.String(), tc.body1)
			}
			if got := rec.Header().Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if tc.code >= 400 {
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("error Content-Type %q", ct)
				}
				if len(rec.Body.String()) > 100 {
					t.Errorf("error body too long: %q", rec.Body.String())
				}
			}
		})
	}

	// A form is read up to MaxFormBytes, not Go's 10 MiB default: a bigger
	// one is refused before its CSRF token is looked for.
	t.Run("form too large", func(t *testing.T) {
		big := form(sueSess.CSRF)
		big.Set("pad", strings.Repeat("a", 4<<20))
		if rec := do(h, "POST", "/review/docs/7", sue, big, nil); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("4 MiB form: %d, want 413", rec.Code)
		}
		ok := form(sueSess.CSRF)
		ok.Set("pad", strings.Repeat("a", MaxFormBytes-1000))
		if rec := do(h, "POST", "/review/docs/7", sue, ok, nil); rec.Code != 200 {
			t.Errorf("form under the cap: %d", rec.Code)
		}
	})

	t.Run("login path with query", func(t *testing.T) {
		ss := NewSessions(s, Config{LoginPath: "/login?from=review"}, nil)
		rec := do(ss.Require(Indexer, whoami), "GET", "/review/", nil, nil, nil)
		if got := rec.Header().Get("Location"); got != "/login?from=review&next=%2Freview%2F" {
			t.Errorf("Location %q", got)
		}
	})

	t.Run("database down", func(t *testing.T) {
		db := testenv.DB(t)
		st := NewStore(db.Pool())
		ss := NewSessions(st, Config{}, nil)
		db.Close()
		rec := do(ss.Middleware(ss.Require(Indexer, whoami)), "GET", "/review/", ida, nil, nil)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("code %d, want 503", rec.Code)
		}
		rec = do(ss.Middleware(whoami), "GET", "/review/login", ida, nil, nil)
		if rec.Code != 200 || rec.Body.String() != "-" {
			t.Errorf("public page with the database down: %d %q", rec.Code, rec.Body.String())
		}
	})
}

func TestCSRFField(t *testing.T) {
	got := string(CSRFField(Session{CSRF: `ab"c<d>`}))
	if want := `<input type="hidden" name="csrf_token" value="ab&#34;c&lt;d&gt;">`; got != want {
		t.Errorf("CSRFField = %s, want %s", got, want)
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/review/docs/7?tab=pages", "/review/docs/7?tab=pages"},
		{"/", "/"},
		{"", "/review/"},
		{"//evil.example/x", "/review/"},
		{"/\\evil.example", "/review/"},
		{"https://evil.example/", "/review/"},
		{"javascript:alert(1)", "/review/"},
		{"review", "/review/"},
		{"/a\r\nSet-Cookie: x", "/review/"},
	} {
		if got := SafeNext(tc.in, "/review/"); got != tc.want {
			t.Errorf("SafeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
