package tokens

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"paperchart/internal/testenv"
)

// newStore is a store on a migrated database of the test's own, with a
// clock the test moves.
func newStore(t *testing.T) (*Store, *testenv.Clock) {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := New(testenv.DB(t).Pool())
	s.now = clk.Now
	return s, clk
}

func TestParseScopes(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string // joined by spaces; "" when refused
		err  string
	}{
		{[]string{"system/Patient.read"}, "system/Patient.read", ""},
		{[]string{"system/Binary.read", "system/DocumentReference.read"}, "system/DocumentReference.read system/Binary.read", ""},
		{[]string{"system/*.read"}, "system/*.read", ""},
		{[]string{"system/Patient.read system/Binary.read,system/Patient.read"}, "system/Patient.read system/Binary.read", ""},
		{[]string{" system/Patient.read "}, "system/Patient.read", ""},
		{nil, "", "no scope given"},
		{[]string{"", " , "}, "", "no scope given"},
		{[]string{"system/Patient.write"}, "", `scope "system/Patient.write"`},
		{[]string{"system/Patient.rs"}, "", "grants only"},
		{[]string{"user/Patient.read"}, "", `"user/Patient.read"`},
		{[]string{"patient/*.read"}, "", "grants only"},
		{[]string{"system/Observation.read"}, "", "grants only"},
		{[]string{"system/patient.read"}, "", "grants only"},
		{[]string{"system/*.*"}, "", "grants only"},
		{[]string{"system/Patient.read", "launch"}, "", `"launch"`},
	} {
		got, err := ParseScopes(tc.in)
		if tc.err != "" {
			if !errors.Is(err, ErrBadScope) || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "system/*.read") {
				t.Errorf("ParseScopes(%q) = %v, %v; want an ErrBadScope about %s listing the scopes", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParseScopes(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAllows(t *testing.T) {
	docs := Token{Scopes: []string{ScopeDocumentReference, ScopeBinary}}
	pat := Token{Scopes: []string{ScopePatient}}
	all := Token{Scopes: []string{ScopeAll}}
	none := Token{}
	for _, tc := range []struct {
		tok      Token
		resource string
		want     bool
	}{
		{docs, "DocumentReference", true}, {docs, "DocumentReference/12", true}, {docs, "Binary/12", true},
		{docs, "Patient", false}, {docs, "Patient/7", false},
		{pat, "Patient", true}, {pat, "DocumentReference", false}, {pat, "Binary", false},
		{all, "Patient", true}, {all, "DocumentReference/3", true}, {all, "Binary", true}, {all, "Observation", true},
		{all, "", false}, {all, "*", false}, {all, "patient", false}, {all, "Patient.read", false},
		{docs, "documentreference", false}, {none, "Patient", false},
	} {
		if got := tc.tok.Allows(tc.resource); got != tc.want {
			t.Errorf("%v.Allows(%q) = %v, want %v", tc.tok.Scopes, tc.resource, got, tc.want)
		}
	}
}

func TestCreateAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)

	secret, tok, err := s.Create(ctx, "EHR-Prod", []string{"system/DocumentReference.read system/Binary.read"}, 90*24*time.Hour)
	testenv.Must(t, err, "create")
	if !strings.HasPrefix(secret, "pct_") || len(secret) != 4+43 {
		t.Errorf("secret %q is not pct_ and 43 base64url characters", secret)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(secret[4:]); err != nil || len(raw) != 32 {
		t.Errorf("secret is not 32 base64url bytes: %v", err)
	}
	if tok.ID == 0 || tok.Name != "ehr-prod" || strings.Join(tok.Scopes, " ") != "system/DocumentReference.read system/Binary.read" ||
		!tok.CreatedAt.Equal(clk.Now()) || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(clk.Now().Add(90*24*time.Hour)) ||
		tok.RevokedAt != nil || tok.LastUsedAt != nil || tok.Actor() != "token:ehr-prod" {
		t.Errorf("token %+v", tok)
	}
	// Only the secret's SHA-256 is stored.
	var stored []byte
	testenv.Must(t, s.pool.QueryRow(ctx, `SELECT secret_sha256 FROM api_tokens WHERE id = $1`, tok.ID).Scan(&stored), "read")
	if h := sha256.Sum256([]byte(secret)); string(stored) != string(h[:]) {
		t.Errorf("stored hash is not the secret's SHA-256")
	}

	got, err := s.Authenticate(ctx, secret)
	testenv.Must(t, err, "authenticate")
	if got.ID != tok.ID || got.LastUsedAt == nil || !got.LastUsedAt.Equal(clk.Now()) || !got.Allows("Binary") || got.Allows("Patient") {
		t.Errorf("authenticated %+v", got)
	}

	for _, tc := range []struct{ name, secret, why string }{
		{"empty", "", "malformed"},
		{"no prefix", secret[4:], "malformed"},
		{"another prefix", "pat_" + secret[4:], "malformed"},
		{"short", secret[:len(secret)-1], "malformed"},
		{"long", secret + "A", "malformed"},
		{"not base64url", secret[:10] + "+" + secret[11:], "malformed"},
		{"with a space", secret + " ", "malformed"},
		{"unknown", "pct_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32)), "unknown token"},
		{"one character changed", secret[:20] + map[bool]string{true: "A", false: "B"}[secret[20] != 'A'] + secret[21:], "unknown token"},
	} {
		_, err := s.Authenticate(ctx, tc.secret)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want ErrInvalid (%s)", tc.name, err, tc.why)
		}
		if err != nil && strings.Contains(err.Error(), secret[4:20]) {
			t.Errorf("%s: error %q shows the secret", tc.name, err)
		}
	}

	// LastUsedAt is written at most once a minute.
	clk.Add(30 * time.Second)
	got, err = s.Authenticate(ctx, secret)
	testenv.Must(t, err, "authenticate")
	if !got.LastUsedAt.Equal(clk.Now().Add(-30 * time.Second)) {
		t.Errorf("last used %v, want unchanged after 30 s", got.LastUsedAt)
	}
	clk.Add(31 * time.Second)
	got, err = s.Authenticate(ctx, secret)
	testenv.Must(t, err, "authenticate")
	ts, err := s.List(ctx)
	testenv.Must(t, err, "list")
	if !got.LastUsedAt.Equal(clk.Now()) || len(ts) != 1 || !ts[0].LastUsedAt.Equal(clk.Now()) {
		t.Errorf("last used %v (stored %v), want %v", got.LastUsedAt, ts[0].LastUsedAt, clk.Now())
	}
}

func TestCreateRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	_, _, err := s.Create(ctx, "ehr", []string{ScopeAll}, 0)
	testenv.Must(t, err, "create")
	for _, tc := range []struct {
		name, token string
		scopes      []string
		ttl         time.Duration
		want        error
	}{
		{"same name", "ehr", []string{ScopePatient}, time.Hour, ErrExists},
		{"same name in another case", " EHR ", []string{ScopePatient}, time.Hour, ErrExists},
		{"empty name", "", []string{ScopePatient}, time.Hour, ErrBadName},
		{"name with a space", "ehr prod", []string{ScopePatient}, time.Hour, ErrBadName},
		{"name with a colon", "ehr:prod", []string{ScopePatient}, time.Hour, ErrBadName},
		{"name too long", strings.Repeat("a", 65), []string{ScopePatient}, time.Hour, ErrBadName},
		{"no scope", "a", nil, time.Hour, ErrBadScope},
		{"bad scope", "a", []string{"system/Patient.write"}, time.Hour, ErrBadScope},
		{"negative lifetime", "a", []string{ScopePatient}, -time.Hour, ErrBadTTL},
	} {
		if _, _, err := s.Create(ctx, tc.token, tc.scopes, tc.ttl); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A revoked token's name stays taken.
	_, err = s.Revoke(ctx, "ehr")
	testenv.Must(t, err, "revoke")
	if _, _, err := s.Create(ctx, "ehr", []string{ScopeAll}, 0); !errors.Is(err, ErrExists) {
		t.Errorf("reusing a revoked token's name: %v", err)
	}
}

func TestRevokeAndExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	forever, _, err := s.Create(ctx, "forever", []string{ScopeAll}, 0)
	testenv.Must(t, err, "create")
	hour, _, err := s.Create(ctx, "hour", []string{ScopePatient}, time.Hour)
	testenv.Must(t, err, "create")
	other, _, err := s.Create(ctx, "other", []string{ScopePatient}, 0)
	testenv.Must(t, err, "create")

	clk.Add(59 * time.Minute)
	for _, sec := range []string{forever, hour, other} {
		_, err := s.Authenticate(ctx, sec)
		testenv.Must(t, err, "authenticate before expiry")
	}
	clk.Add(time.Minute)
	if _, err := s.Authenticate(ctx, hour); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `token "hour" expired on 2026-03-02`) {
		t.Errorf("expired token: %v", err)
	}
	clk.Add(100 * 365 * 24 * time.Hour)
	_, err = s.Authenticate(ctx, forever)
	testenv.Must(t, err, "a token without expiry, a century later")

	rev, err := s.Revoke(ctx, " Forever ")
	testenv.Must(t, err, "revoke")
	if rev.RevokedAt == nil || !rev.RevokedAt.Equal(clk.Now()) || rev.State(clk.Now()) != "revoked" {
		t.Errorf("revoked token %+v", rev)
	}
	if _, err := s.Authenticate(ctx, forever); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `token "forever" was revoked`) {
		t.Errorf("revoked token: %v", err)
	}
	_, err = s.Authenticate(ctx, other)
	testenv.Must(t, err, "revoking one token leaves the others")
	// Revoking again keeps the first time.
	clk.Add(time.Hour)
	again, err := s.Revoke(ctx, "forever")
	testenv.Must(t, err, "revoke again")
	if !again.RevokedAt.Equal(*rev.RevokedAt) {
		t.Errorf("revoked again at %v, first at %v", again.RevokedAt, rev.RevokedAt)
	}
	for _, name := range []string{"nobody", "", "a b"} {
		if _, err := s.Revoke(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke %q: %v", name, err)
		}
	}

	ts, err := s.List(ctx)
	testenv.Must(t, err, "list")
	var states []string
	for _, tk := range ts {
		states = append(states, tk.Name+"="+tk.State(clk.Now()))
	}
	if got := strings.Join(states, " "); got != "forever=revoked hour=expired other=active" {
		t.Errorf("list: %s", got)
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	secret, _, err := s.Create(ctx, "ehr", []string{ScopeDocumentReference}, 0)
	testenv.Must(t, err, "create")
	revoked, _, err := s.Create(ctx, "old", []string{ScopeAll}, 0)
	testenv.Must(t, err, "create")
	_, err = s.Revoke(ctx, "old")
	testenv.Must(t, err, "revoke")

	// The handler answers as a FHIR server would: 401 without a valid
	// token, 403 without the scope, 503 when the database does not answer.
	h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := FromContext(r.Context())
		if !ok {
			err := AuthError(r.Context())
			code := http.StatusUnauthorized
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrInvalid) {
				code = http.StatusServiceUnavailable
			}
			w.Header().Set("WWW-Authenticate", Challenge(err))
			http.Error(w, err.Error(), code)
			return
		}
		if AuthError(r.Context()) != nil {
			t.Errorf("AuthError with a token: %v", AuthError(r.Context()))
		}
		if typ := strings.Trim(r.URL.Path, "/"); !tok.Allows(typ) {
			w.Header().Set("WWW-Authenticate", Challenge(InsufficientScope(typ)))
			http.Error(w, InsufficientScope(typ).Error(), http.StatusForbidden)
			return
		}
		fmt.Fprint(w, tok.Name)
	}))

	for _, tc := range []struct {
		name      string
		path      string
		auth      []string
		code      int
		body      string
		challenge string
	}{
		{"valid", "/DocumentReference", []string{"Bearer " + secret}, 200, "ehr", ""},
		{"scheme in lower case, extra spaces", "/DocumentReference", []string{"  bearer   " + secret + " "}, 200, "ehr", ""},
		{"no header", "/DocumentReference", nil, 401, "no bearer token", `Bearer realm="paperchart"`},
		{"basic auth", "/DocumentReference", []string{"Basic dXNlcjpwYXNz"}, 401, "no bearer token", `Bearer realm="paperchart"`},
		{"bearer without token", "/DocumentReference", []string{"Bearer"}, 401, "malformed", `error="invalid_token"`},
		{"garbage", "/DocumentReference", []string{"Bearer abc"}, 401, "malformed", `error="invalid_token"`},
		{"token without scheme", "/DocumentReference", []string{secret}, 401, "no bearer token", `Bearer realm="paperchart"`},
		{"two headers", "/DocumentReference", []string{"Bearer " + secret, "Bearer " + secret}, 401, "more than one", `error="invalid_token"`},
		{"revoked", "/DocumentReference", []string{"Bearer " + revoked}, 401, `token "old" was revoked`, `error="invalid_token"`},
		{"scope missing", "/Patient", []string{"Bearer " + secret}, 403, "system/Patient.read",
			`Bearer realm="paperchart", error="insufficient_scope", scope="system/Patient.read"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.path, nil)
			for _, a := range tc.auth {
				r.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("%d %q, want %d with %q", rec.Code, rec.Body.String(), tc.code, tc.body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) || (tc.challenge == "") != (got == "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if strings.Contains(rec.Body.String(), secret[4:]) || strings.Contains(rec.Body.String(), revoked[4:]) {
				t.Errorf("the answer shows a secret: %q", rec.Body.String())
			}
		})
	}

	t.Run("without middleware", func(t *testing.T) {
		if _, ok := FromContext(ctx); ok || !errors.Is(AuthError(ctx), ErrMissing) {
			t.Errorf("a context Middleware did not see: %v", AuthError(ctx))
		}
	})

	t.Run("database down", func(t *testing.T) {
		db := testenv.DB(t)
		down := New(db.Pool())
		db.Close()
		var got error
		down.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = AuthError(r.Context()) })).
			ServeHTTP(httptest.NewRecorder(), func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Authorization", "Bearer "+secret)
				return r
			}())
		if got == nil || errors.Is(got, ErrInvalid) || errors.Is(got, ErrMissing) {
			t.Errorf("database down: %v, want the database's error", got)
		}
	})
}

// TestHooks: the hooks of Create and Revoke (the callers' audit entries)
// run in the change's transaction with the token as changed; a failing one
// undoes the change.
func TestHooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	failed := errors.New("audit trail down")
	fail := func(context.Context, pgx.Tx, Token) error { return failed }
	if _, _, err := s.Create(ctx, "ehr", []string{ScopeAll}, 0, fail); !errors.Is(err, failed) {
		t.Fatalf("create with a failing hook: %v", err)
	}
	if ts, err := s.List(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("tokens after a failed create: %v, %v", ts, err)
	}
	var seen []Token
	see := func(_ context.Context, tx pgx.Tx, tk Token) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE id = $1`, tk.ID).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("the hook does not see token %d: %d, %v", tk.ID, n, err)
		}
		seen = append(seen, tk)
		return nil
	}
	secret, _, err := s.Create(ctx, "ehr", []string{ScopeAll}, 0, see)
	testenv.Must(t, err, "create")
	if _, err := s.Revoke(ctx, "ehr", fail); !errors.Is(err, failed) {
		t.Fatalf("revoke with a failing hook: %v", err)
	}
	_, err = s.Authenticate(ctx, secret)
	testenv.Must(t, err, "a token whose revocation failed still works")
	_, err = s.Revoke(ctx, "ehr", see)
	testenv.Must(t, err, "revoke")
	if len(seen) != 2 || seen[0].Name != "ehr" || seen[0].RevokedAt != nil || seen[1].RevokedAt == nil {
		t.Errorf("hooks saw %+v, want the created, then the revoked token", seen)
	}
}
