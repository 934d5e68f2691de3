package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session is a signed-in browser.
type Session struct {
	ID       int64
	User     User
	CSRF     string // the token forms and scripts send back: CSRFField, header X-CSRF-Token
	Started  time.Time
	LastSeen time.Time
}

// Config says how long sessions last and how their cookie is set. Zero
// fields take the defaults.
type Config struct {
	IdleTimeout time.Duration // default 30 min: a session unused this long ends
	MaxAge      time.Duration // default 12 h: a session this old ends however busy
	Secure      bool          // cookie Secure flag (set when served over TLS)
	CookieName  string        // default "paperchart_session"
	LoginPath   string        // default "/review/login"; Require redirects there with ?next=
}

// The defaults of Config.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	DefaultCookieName  = "paperchart_session"
	DefaultLoginPath   = "/review/login"
)

// CSRFFormField and CSRFHeader carry the CSRF token of a state-changing request.
const (
	CSRFFormField = "csrf_token"
	CSRFHeader    = "X-CSRF-Token"
)

// MaxFormBytes is the most of a request body Require reads (a form, or a
// JSON body behind it): more is refused with 413.
const MaxFormBytes = 64 << 10

const tokenBytes = 32

// Sessions starts, loads and ends sessions kept in PostgreSQL.
type Sessions struct {
	store      *Store
	cfg        Config
	log        *slog.Logger
	touchEvery time.Duration // LastSeen is written at most this often per session
}

// NewSessions returns sessions kept by store. log may be nil.
func NewSessions(store *Store, cfg Config, log *slog.Logger) *Sessions {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = DefaultLoginPath
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{store: store, cfg: cfg, log: log, touchEvery: min(time.Minute, cfg.IdleTimeout/10)}
}

func randomToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenHash is the stored form of a cookie's token, or nil when the value
// cannot be one.
func tokenHash(value string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) != tokenBytes {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

// Start creates a session for u (server-side in PostgreSQL; the cookie holds
// a random 32-byte token, base64url; only its SHA-256 is stored; HttpOnly,
// SameSite=Strict, Path=/, no expiry so it goes when the browser closes) and
// a per-session CSRF token. Call it after Authenticate succeeds; the old
// session of the request, if any, should be ended first with End.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, u User) (Session, error) {
	if u.ID == 0 {
		return Session{}, fmt.Errorf("start session: %w", ErrNotFound)
	}
	if u.Disabled {
		return Session{}, fmt.Errorf("start session for %q: %w", u.Name, ErrBadCredentials)
	}
	token, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	now := s.store.clock()
	sess := Session{User: u, CSRF: csrf, Started: now, LastSeen: now}
	// Only a user who exists and is enabled gets a session.
	err = s.store.pool.QueryRow(ctx, `
		INSERT INTO user_sessions (user_id, token_sha256, csrf_token, started_at, last_seen_at)
		SELECT id, $2, $3, $4, $4 FROM users WHERE id = $1 AND NOT disabled
		RETURNING id`, u.ID, tokenHash(token), csrf, now).Scan(&sess.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, fmt.Errorf("start session for %q: %w", u.Name, ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("start session for %q: %w", u.Name, err)
	}
	s.purge(ctx, now)
	http.SetCookie(w, s.cookie(token, 0))
	s.log.Info("session started", "user", u.Name, "session", sess.ID)
	return sess, nil
}

// purge deletes every expired session (best effort).
func (s *Sessions) purge(ctx context.Context, now time.Time) {
	_, err := s.store.pool.Exec(ctx, `DELETE FROM user_sessions WHERE last_seen_at <= $1 OR started_at <= $2`,
		now.Add(-s.cfg.IdleTimeout), now.Add(-s.cfg.MaxAge))
	if err != nil {
		s.log.Warn("purge expired sessions", "err", err)
	}
}

func (s *Sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: s.cfg.CookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode,
	}
}

func (s *Sessions) clearCookie(w http.ResponseWriter) { http.SetCookie(w, s.cookie("", -1)) }

// End deletes the request's session and clears the cookie.
func (s *Sessions) End(w http.ResponseWriter, r *http.Request) error {
	s.clearCookie(w)
	c, err := r.Cookie(s.cfg.CookieName)
	if err != nil {
		return nil
	}
	h := tokenHash(c.Value)
	if h == nil {
		return nil
	}
	var id int64
	var name string
	err = s.store.pool.QueryRow(r.Context(), `
		DELETE FROM user_sessions s USING users u WHERE s.token_sha256 = $1 AND u.id = s.user_id
		RETURNING s.id, u.name`, h).Scan(&id, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	s.log.Info("session ended", "user", name, "session", id)
	return nil
}

type ctxKey int

const (
	sessionKey ctxKey = iota // Session
	loadedKey                // loadState: the middleware has looked
)

type loadState int

const (
	loadedNone loadState = iota + 1 // no valid session
	loadedOK
	loadedFailed // the database did not answer
)

// FromContext returns the session Middleware put in the request's context.
func FromContext(ctx context.Context) (Session, bool) {
	sess, ok := ctx.Value(sessionKey).(Session)
	return sess, ok
}

// Middleware loads a valid session (not idle, not too old, user not
// disabled) into the request context and refreshes LastSeen; it never
// redirects. A cookie of an ended or expired session is cleared.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, s.load(w, r))
	})
}

// load returns r with its session, if valid, in the context.
func (s *Sessions) load(w http.ResponseWriter, r *http.Request) *http.Request {
	if _, done := r.Context().Value(loadedKey).(loadState); done {
		return r
	}
	sess, state := s.lookup(w, r)
	ctx := context.WithValue(r.Context(), loadedKey, state)
	if state == loadedOK {
		ctx = context.WithValue(ctx, sessionKey, sess)
	}
	return r.WithContext(ctx)
}

func (s *Sessions) lookup(w http.ResponseWriter, r *http.Request) (Session, loadState) {
	c, err := r.Cookie(s.cfg.CookieName)
	if err != nil {
		return Session{}, loadedNone
	}
	h := tokenHash(c.Value)
	if h == nil {
		s.clearCookie(w)
		return Session{}, loadedNone
	}
	ctx := r.Context()
	var sess Session
	var role string
	u := &sess.User
	err = s.store.pool.QueryRow(ctx, `
		SELECT s.id, s.csrf_token, s.started_at, s.last_seen_at,
		       u.id, u.name, u.role, u.disabled, u.created_at, u.last_sign_in
		FROM user_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_sha256 = $1`, h).Scan(&sess.ID, &sess.CSRF, &sess.Started, &sess.LastSeen,
		&u.ID, &u.Name, &role, &u.Disabled, &u.CreatedAt, &u.LastSignIn)
	u.Role = Role(role)
	if errors.Is(err, pgx.ErrNoRows) {
		s.clearCookie(w)
		return Session{}, loadedNone
	}
	if err != nil {
		s.log.Error("load session", "err", err)
		return Session{}, loadedFailed
	}
	now := s.store.clock()
	why := ""
	switch {
	case u.Disabled:
		why = "user disabled"
	case now.Sub(sess.LastSeen) >= s.cfg.IdleTimeout:
		why = "idle"
	case now.Sub(sess.Started) >= s.cfg.MaxAge:
		why = "too old"
	}
	if why != "" {
		if _, err := s.store.pool.Exec(ctx, `DELETE FROM user_sessions WHERE id = $1`, sess.ID); err != nil {
			s.log.Warn("delete expired session", "session", sess.ID, "err", err)
		}
		s.clearCookie(w)
		s.log.Info("session expired", "user", u.Name, "session", sess.ID, "why", why)
		return Session{}, loadedNone
	}
	if now.Sub(sess.LastSeen) >= s.touchEvery {
		if _, err := s.store.pool.Exec(ctx, `UPDATE user_sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`,
			sess.ID, now); err != nil {
			s.log.Warn("refresh session", "session", sess.ID, "err", err)
		}
	}
	sess.LastSeen = now
	return sess, loadedOK
}

// Require serves next only to a signed-in user whose role allows need. No
// session: GET/HEAD redirect (303) to LoginPath?next=<path>; other methods
// 401. Wrong role: 403. The body of any other method is read up to
// MaxFormBytes (413 beyond). Every method but GET, HEAD and OPTIONS must carry
// the session's CSRF token (form field "csrf_token" or header
// "X-CSRF-Token", compared in constant time), or gets 403. Error bodies are
// short plain text. Require loads the session itself when Middleware has
// not run.
func (s *Sessions) Require(need Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = s.load(w, r)
		sess, ok := FromContext(r.Context())
		if !ok {
			if st, _ := r.Context().Value(loadedKey).(loadState); st == loadedFailed {
				plain(w, http.StatusServiceUnavailable, "sign-in is unavailable just now: try again in a minute")
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, s.loginURL(r), http.StatusSeeOther)
				return
			}
			plain(w, http.StatusUnauthorized, "sign in first")
			return
		}
		if !sess.User.Role.Allows(need) {
			plain(w, http.StatusForbidden, fmt.Sprintf("forbidden: this needs the %s role", need))
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
			if r.Header.Get(CSRFHeader) == "" {
				var tooBig *http.MaxBytesError
				if err := r.ParseForm(); errors.As(err, &tooBig) {
					plain(w, http.StatusRequestEntityTooLarge, "the form is too large")
					return
				}
			}
			if !validCSRF(r, sess.CSRF) {
				plain(w, http.StatusForbidden, "forbidden: the form is out of date; reload the page and try again")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFFormField)
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}

// loginURL is LoginPath with next set to the request's path and query.
func (s *Sessions) loginURL(r *http.Request) string {
	sep := "?"
	if strings.Contains(s.cfg.LoginPath, "?") {
		sep = "&"
	}
	return s.cfg.LoginPath + sep + "next=" + url.QueryEscape(r.URL.RequestURI())
}

// SafeNext returns next when it is a path on this site (as Require puts in
// ?next=), or else fallback: a login handler must not redirect elsewhere.
func SafeNext(next, fallback string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t\\") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return next
}

// CSRFField returns the hidden input for forms:
// <input type="hidden" name="csrf_token" value="...">
func CSRFField(sess Session) template.HTML {
	return template.HTML(`<input type="hidden" name="` + CSRFFormField + `" value="` +
		template.HTMLEscapeString(sess.CSRF) + `">`)
}
