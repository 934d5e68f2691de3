// Package tokens owns the bearer tokens other systems (the EHR) use to read
// documents through paperchart's FHIR API, with SMART-style system scopes.
//
// A token has a name (the same rules as user names; never reused, even once
// revoked, so that "token:NAME" in the audit trail always means one token),
// one or more scopes, an optional expiry and a revocation time. Its secret,
// "pct_" followed by 32 random bytes in base64url, is given once by Create;
// Store keeps only its SHA-256 (table api_tokens, migration
// storage/migrations/0008), so reading the table lets no one in.
//
// Scopes grant reading only: system/DocumentReference.read,
// system/Patient.read, system/Binary.read, or system/*.read for all three.
// Token.Allows checks one resource type against them.
//
// Middleware reads "Authorization: Bearer ..." into the request's context;
// what to answer without a valid token is the handler's choice: FromContext
// gives the token, AuthError why there is none, and Challenge the
// WWW-Authenticate header for the 401 or 403.
//
// Nothing here logs, and no error carries a secret or its hash.
package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"paperchart/chart"
)

// The scopes a token may have.
const (
	ScopeDocumentReference = "system/DocumentReference.read"
	ScopePatient           = "system/Patient.read"
	ScopeBinary            = "system/Binary.read"
	ScopeAll               = "system/*.read" // every resource type, read only
)

// Scopes lists the scopes a token may have, in the order tokens list them.
func Scopes() []string {
	return []string{ScopeDocumentReference, ScopePatient, ScopeBinary, ScopeAll}
}

// SecretPrefix starts every secret, so that one found where it should not
// be (a log, a repository) is recognised.
const SecretPrefix = "pct_"

const secretBytes = 32

// Errors.
var (
	// ErrInvalid is returned by Authenticate for a secret that is malformed,
	// unknown, revoked or expired; the wrapping error says which.
	ErrInvalid = errors.New("invalid token")
	// ErrMissing is AuthError's answer for a request without a bearer token.
	ErrMissing = errors.New("no bearer token")
	// ErrBadScope is returned for a scope paperchart does not grant.
	ErrBadScope = errors.New("paperchart grants only these scopes: " + strings.Join(Scopes(), ", "))
	ErrExists   = errors.New("a token with this name exists already (names are never reused, even once revoked)")
	ErrNotFound = fmt.Errorf("token %w", chart.ErrNotFound) // wraps chart.ErrNotFound, which HTTP layers map to 404
	ErrBadName  = errors.New("a token name is 1 to 64 letters, digits, dots, underscores or dashes")
	ErrBadTTL   = errors.New("a token's lifetime must be positive (or zero for no expiry)")
)

// Token is one system's access. It never carries the secret or its hash.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Actor is how the audit trail names the token's holder: "token:NAME".
func (t Token) Actor() string { return "token:" + t.Name }

// State is "revoked", "expired" or "active" at now.
func (t Token) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Allows reports whether the token's scopes let it read resources of the
// type ("DocumentReference", "Patient", "Binary"; "Patient/7" is taken as
// its type). Types are case-sensitive, as in FHIR; system/*.read allows
// every type. Allows does not look at expiry or revocation: Authenticate
// refuses those tokens.
func (t Token) Allows(resource string) bool {
	typ, _, _ := strings.Cut(resource, "/")
	if !validType(typ) {
		return false
	}
	for _, s := range t.Scopes {
		if s == ScopeAll || s == "system/"+typ+".read" {
			return true
		}
	}
	return false
}

// validType reports whether s can be a FHIR resource type: a capital letter
// then letters.
func validType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// ParseScopes checks scopes and returns them without repeats, in the order
// of Scopes(). Each argument may hold several scopes separated by spaces or
// commas (OAuth's scope parameter is space-separated). At least one is
// needed; anything but the four scopes paperchart grants is refused.
func ParseScopes(in []string) ([]string, error) {
	seen := map[string]bool{}
	for _, arg := range in {
		for _, s := range strings.FieldsFunc(arg, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			if !slices.Contains(Scopes(), s) {
				return nil, fmt.Errorf("scope %q: %w", s, ErrBadScope)
			}
			seen[s] = true
		}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("no scope given: %w", ErrBadScope)
	}
	var out []string
	for _, s := range Scopes() {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Store keeps tokens in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time // tests move it
}

// New returns a store on pool, whose database has been migrated.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, now: time.Now} }

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// touchEvery is how often LastUsedAt is written at most per token, so that a
// busy EHR does not make every read a write.
const touchEvery = time.Minute

// normName checks a token name and returns it in lower case.
func normName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if len(n) == 0 || len(n) > 64 {
		return "", ErrBadName
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", ErrBadName
		}
	}
	return strings.ToLower(n), nil
}

// secretHash is the stored form of a secret, or nil when the value cannot
// be one.
func secretHash(secret string) []byte {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) != secretBytes {
		return nil
	}
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

const tokenCols = `id, name, scopes, created_at, expires_at, revoked_at, last_used_at`

func scanToken(row pgx.Row, extra ...any) (Token, error) {
	var t Token
	err := row.Scan(append([]any{&t.ID, &t.Name, &t.Scopes, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt}, extra...)...)
	return t, err
}

// Hook runs inside the transaction of a change to a token (Create,
// Revoke), after the change, with the token as changed: the change's audit
// entry, so that the two are committed together. An error rolls the change
// back.
type Hook func(ctx context.Context, tx pgx.Tx, t Token) error

// change runs q (returning tokenCols) and the hooks in one transaction.
func (s *Store) change(ctx context.Context, then []Hook, q string, args ...any) (Token, error) {
	var t Token
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if t, err = scanToken(tx.QueryRow(ctx, q, args...)); err != nil {
			return err
		}
		for _, h := range then {
			if err := h(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	return t, err
}

// Create makes a token and returns its secret, which is not kept and cannot
// be shown again. ttl 0 means it never expires.
func (s *Store) Create(ctx context.Context, name string, scopes []string, ttl time.Duration, then ...Hook) (string, Token, error) {
	n, err := normName(name)
	if err != nil {
		return "", Token{}, fmt.Errorf("token name %q: %w", strings.TrimSpace(name), err)
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		return "", Token{}, err
	}
	if ttl < 0 {
		return "", Token{}, fmt.Errorf("token %q expiring in %v: %w", n, ttl, ErrBadTTL)
	}
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", Token{}, fmt.Errorf("random secret: %w", err)
	}
	secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.clock()
	var expires *time.Time
	if ttl > 0 {
		e := now.Add(ttl).Truncate(time.Microsecond)
		expires = &e
	}
	t, err := s.change(ctx, then, `
		INSERT INTO api_tokens (name, scopes, secret_sha256, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+tokenCols, n, sc, secretHash(secret), now, expires)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "api_tokens_name_key" {
		return "", Token{}, fmt.Errorf("token %q: %w", n, ErrExists)
	}
	if err != nil {
		return "", Token{}, fmt.Errorf("create token %q: %w", n, err)
	}
	return secret, t, nil
}

// List returns every token, revoked and expired ones too, by name.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// Revoke stops the token of that name from working, at once. Revoking a
// revoked token keeps its first revocation time and is not an error.
func (s *Store) Revoke(ctx context.Context, name string, then ...Hook) (Token, error) {
	n, err := normName(name)
	if err != nil {
		return Token{}, fmt.Errorf("token %q: %w", strings.TrimSpace(name), ErrNotFound)
	}
	t, err := s.change(ctx, then, `
		UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE name = $1 RETURNING `+tokenCols, n, s.clock())
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, fmt.Errorf("token %q: %w", n, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %q: %w", n, err)
	}
	return t, nil
}

// Authenticate returns the token whose secret this is. A malformed, unknown,
// revoked or expired secret gives an error wrapping ErrInvalid that says
// which (naming the token, never the secret); other errors are the
// database's. The token is looked up by the secret's SHA-256. LastUsedAt is
// written at most once a minute; failing to write it does not fail the
// request.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	h := secretHash(secret)
	if h == nil {
		return Token{}, fmt.Errorf("malformed token: %w", ErrInvalid)
	}
	var stored []byte
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+`, secret_sha256 FROM api_tokens WHERE secret_sha256 = $1`, h), &stored)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(stored, h) != 1) {
		return Token{}, fmt.Errorf("unknown token: %w", ErrInvalid)
	}
	if err != nil {
		return Token{}, fmt.Errorf("look up token: %w", err)
	}
	now := s.clock()
	switch t.State(now) {
	case "revoked":
		return Token{}, fmt.Errorf("token %q was revoked on %s: %w", t.Name, t.RevokedAt.Format(time.DateOnly), ErrInvalid)
	case "expired":
		return Token{}, fmt.Errorf("token %q expired on %s: %w", t.Name, t.ExpiresAt.Format(time.DateOnly), ErrInvalid)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, t.ID, now); err == nil {
			t.LastUsedAt = &now
		}
	}
	return t, nil
}

type ctxKey int

const (
	tokenKey ctxKey = iota // Token
	errKey                 // error: why there is no token
)

// FromContext returns the token Middleware authenticated for the request.
func FromContext(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(tokenKey).(Token)
	return t, ok
}

// AuthError says why FromContext has no token: ErrMissing when the request
// carried no bearer token (or Middleware did not run), an error wrapping
// ErrInvalid for a bad one (answer 401), or the database's error (answer
// 503). It is nil when there is a token.
func AuthError(ctx context.Context) error {
	if _, ok := FromContext(ctx); ok {
		return nil
	}
	if err, ok := ctx.Value(errKey).(error); ok {
		return err
	}
	return ErrMissing
}

// Middleware authenticates the request's "Authorization: Bearer SECRET"
// (the scheme in any case) and puts the token, or why there is none, in
// its context. It never answers the request itself.
func (s *Store) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t, err := s.fromRequest(r)
		if err != nil {
			ctx = context.WithValue(ctx, errKey, err)
		} else {
			ctx = context.WithValue(ctx, tokenKey, t)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Store) fromRequest(r *http.Request) (Token, error) {
	hs := r.Header.Values("Authorization")
	if len(hs) == 0 {
		return Token{}, ErrMissing
	}
	if len(hs) > 1 {
		return Token{}, fmt.Errorf("more than one Authorization header: %w", ErrInvalid)
	}
	scheme, secret, _ := strings.Cut(strings.TrimSpace(hs[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return Token{}, ErrMissing // another scheme (Basic...): no bearer token
	}
	return s.Authenticate(r.Context(), strings.TrimSpace(secret))
}

// Challenge is the WWW-Authenticate header (RFC 6750) of an answer refusing
// a request for err: AuthError's errors give 401 answers, and
// InsufficientScope(resource) a 403 one.
func Challenge(err error) string {
	const realm = `Bearer realm="paperchart"`
	var se scopeError
	switch {
	case errors.As(err, &se):
		return realm + `, error="insufficient_scope", scope="system/` + se.typ + `.read"`
	case errors.Is(err, ErrInvalid):
		return realm + `, error="invalid_token"`
	}
	return realm
}

// scopeError is a token lacking the scope to read a resource type.
type scopeError struct{ typ string }

func (e scopeError) Error() string {
	return "the token's scopes do not allow reading " + e.typ + ": it needs system/" + e.typ + ".read or system/*.read"
}

// InsufficientScope is the error of a request refused because its token does
// not allow reading the resource's type (Allows is false); Challenge turns
// it into the 403's header.
func InsufficientScope(resource string) error {
	typ, _, _ := strings.Cut(resource, "/")
	if !validType(typ) {
		typ = "*"
	}
	return scopeError{typ: typ}
}
