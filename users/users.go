// Package users owns who may sign in to paperchart's web pages and what they
// may do there.
//
// A user has a case-insensitive name, a role (indexer, records, supervisor
// or admin, each allowing what the one before allows), a bcrypt password
// hash and a disabled flag. Store keeps them in PostgreSQL (tables users,
// user_sessions and sign_in_attempts, migrations storage/migrations/0005
// and 0015) and checks passwords: every attempt is recorded (under the
// user's name, or a hash of what was typed when it names nobody); five
// failures for a name from one address within an hour lock that name at
// that address only, for a minute, doubling with each further failure up
// to 15 minutes; one address may try RateLimit sign-ins a minute; an admin
// unlocks a name (Unlock).
//
// Access decides which documents a person may read: minimum necessary,
// with break-the-glass.
//
// Sessions keeps signed-in browsers server-side: the cookie holds only a
// random token whose SHA-256 is stored. Its Middleware loads the session of a
// request, Require guards a handler by role and checks the per-session CSRF
// token of every state-changing request, and CSRFField puts that token in a
// form.
//
// Nothing here logs a password, a token or a hash.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"paperchart/chart"
)

// Role is what a user may do. Admin allows everything Supervisor allows,
// which allows everything Indexer allows.
type Role string

// The roles, from least to most allowed.
const (
	Indexer    Role = "indexer"    // reviews and indexes documents
	Records    Role = "records"    // also reads any filed document (release of information)
	Supervisor Role = "supervisor" // also oversees the queue and others' work
	Admin      Role = "admin"      // also manages the system
)

// Roles lists the roles from least to most allowed.
var Roles = []Role{Indexer, Records, Supervisor, Admin}

// ParseRole reads a role name (indexer, records, supervisor or admin, in
// any case).
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return "", fmt.Errorf("role %q: %w", s, ErrBadRole)
	}
	return r, nil
}

func (r Role) rank() int {
	switch r {
	case Indexer:
		return 1
	case Records:
		return 2
	case Supervisor:
		return 3
	case Admin:
		return 4
	}
	return 0
}

// Allows reports whether a user with role r may do what needs role need:
// admin ⊇ supervisor ⊇ records ⊇ indexer. An unknown role allows nothing and is
// allowed by nothing.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && need.rank() > 0 && r.rank() >= need.rank()
}

// User is an account. It never carries the password hash.
type User struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	Disabled   bool       `json:"disabled"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSignIn *time.Time `json:"last_sign_in,omitempty"`
}

// Errors. Their messages are fit to show to the person signing in.
var (
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrExists         = errors.New("a user with this name already exists")
	ErrNotFound       = fmt.Errorf("user %w", chart.ErrNotFound) // wraps chart.ErrNotFound, which HTTP layers map to 404
	ErrWeakPassword   = errors.New("password too short: use at least 12 characters")
	ErrLocked         = errors.New("too many failed sign-ins: try again in a few minutes")
	ErrRateLimited    = errors.New("too many sign-in attempts from this address: wait a minute")
	ErrBadName        = errors.New("a user name is 1 to 64 letters, digits, dots, underscores or dashes, and not one paperchart keeps for itself")
	ErrBadRole        = errors.New("a role is indexer, records, supervisor or admin")
)

const (
	// DefaultCost is the bcrypt cost of new password hashes.
	DefaultCost = 12
	// MinPasswordLength is the fewest characters a password may have.
	MinPasswordLength = 12
	// maxPasswordBytes is the most bcrypt reads.
	maxPasswordBytes = 72

	// LockAfter failures for a name from one address within LockWindow
	// lock the name at that address for LockBase after the last, doubled
	// for each further failure, at most LockMax.
	LockAfter  = 5
	LockWindow = time.Hour
	LockBase   = time.Minute
	LockMax    = 15 * time.Minute

	// RateLimit sign-in attempts from one address within RateWindow, over
	// every name; more are refused with ErrRateLimited.
	RateLimit  = 20
	RateWindow = time.Minute

	maxNameLen = 64
	// Attempts record the address, cut to these many characters.
	maxAttemptRemote = 200
)

// Store keeps users, sessions and sign-in attempts in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	cost int              // bcrypt cost of new hashes; tests lower it
	now  func() time.Time // tests move it

	dummyOnce sync.Once
	dummy     []byte // a hash to compare against for unknown names
	dummyErr  error
}

// NewStore returns a store on pool, whose database has been migrated.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, cost: DefaultCost, now: time.Now}
}

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// normName checks a user name and returns it in lower case.
func normName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if len(name) == 0 || len(name) > maxNameLen {
		return "", fmt.Errorf("user name %q: %w", name, ErrBadName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", fmt.Errorf("user name %q: %w", name, ErrBadName)
		}
	}
	return strings.ToLower(name), nil
}

// hash checks a new password and hashes it.
func (s *Store) hash(password string) ([]byte, error) {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return nil, ErrWeakPassword
	}
	if len(password) > maxPasswordBytes {
		return nil, fmt.Errorf("password longer than %d bytes, the most bcrypt reads: use a shorter one: %w", maxPasswordBytes, bcrypt.ErrPasswordTooLong)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummyHash is a hash of a random password at the store's cost, so that
// checking a password for an unknown name takes as long as for a known one.
func (s *Store) dummyHash() ([]byte, error) {
	s.dummyOnce.Do(func() {
		s.dummy, s.dummyErr = bcrypt.GenerateFromPassword([]byte(rand.Text()), s.cost)
		if s.dummyErr != nil {
			s.dummyErr = fmt.Errorf("make dummy hash: %w", s.dummyErr)
		}
	})
	return s.dummy, s.dummyErr
}

const userCols = `id, name, role, disabled, created_at, last_sign_in`

func scanUser(row pgx.Row, extra ...any) (User, error) {
	var u User
	var role string
	err := row.Scan(append([]any{&u.ID, &u.Name, &role, &u.Disabled, &u.CreatedAt, &u.LastSignIn}, extra...)...)
	u.Role = Role(role)
	return u, err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// reserved are names paperchart itself acts under in documents' histories
// and the audit trail: a person named so would pass for it.
var reserved = map[string]bool{"auto": true, "system": true, "api": true, "anonymous": true, "cli": true, "paperchart": true}

// Hook runs inside the transaction of a change to a user (Add, SetPassword,
// SetRole, SetDisabled, Unlock), after the change: the change's audit entry,
// so that the two are committed together. An error rolls the change back.
type Hook func(ctx context.Context, tx pgx.Tx) error

// runHooks runs then in tx.
func runHooks(ctx context.Context, tx pgx.Tx, then []Hook) error {
	for _, h := range then {
		if err := h(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// Add creates a user. The name must be new whatever its case, and not one
// paperchart acts under itself (auto, system, api, anonymous, cli).
func (s *Store) Add(ctx context.Context, name string, role Role, password string, then ...Hook) (User, error) {
	n, err := normName(name)
	if err != nil {
		return User{}, err
	}
	if reserved[n] {
		return User{}, fmt.Errorf("user name %q is paperchart's own: %w", n, ErrBadName)
	}
	if role.rank() == 0 {
		return User{}, fmt.Errorf("role %q: %w", role, ErrBadRole)
	}
	h, err := s.hash(password)
	if err != nil {
		return User{}, err
	}
	now := s.clock()
	var u User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if u, err = scanUser(tx.QueryRow(ctx, `
			INSERT INTO users (name, role, password_hash, created_at, updated_at, password_changed_at)
			VALUES ($1, $2, $3, $4, $4, $4) RETURNING `+userCols, n, string(role), string(h), now)); err != nil {
			return err
		}
		return runHooks(ctx, tx, then)
	})
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("user %q: %w", n, ErrExists)
	}
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", n, err)
	}
	return u, nil
}

// List returns every user by name.
func (s *Store) List(ctx context.Context) ([]User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// ByName returns the user of that name, in any case.
func (s *Store) ByName(ctx context.Context, name string) (User, error) {
	n, err := normName(name)
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, n))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", n, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("read user %q: %w", n, err)
	}
	return u, nil
}

// update runs set (an UPDATE ... WHERE name = $1 RETURNING id), then,
// when endSessions, deletes the user's sessions, then runs the hooks, in
// one transaction.
func (s *Store) update(ctx context.Context, name, what string, endSessions bool, then []Hook, set string, args ...any) error {
	n, err := normName(name)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, set, append([]any{n}, args...)...).Scan(&id); err != nil {
			return err
		}
		if endSessions {
			if _, err := tx.Exec(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, id); err != nil {
				return err
			}
		}
		return runHooks(ctx, tx, then)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("user %q: %w", n, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s user %q: %w", what, n, err)
	}
	return nil
}

// SetPassword changes a user's password and ends the user's sessions, so
// that whoever knew the old one is signed out everywhere.
func (s *Store) SetPassword(ctx context.Context, name, password string, then ...Hook) error {
	h, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.update(ctx, name, "set the password of", true, then, `
		UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3
		WHERE name = $1 RETURNING id`, string(h), s.clock())
}

// SetRole changes a user's role. Signed-in sessions get the new role on
// their next request.
func (s *Store) SetRole(ctx context.Context, name string, role Role, then ...Hook) error {
	if role.rank() == 0 {
		return fmt.Errorf("role %q: %w", role, ErrBadRole)
	}
	return s.update(ctx, name, "set the role of", false, then,
		`UPDATE users SET role = $2, updated_at = $3 WHERE name = $1 RETURNING id`, string(role), s.clock())
}

// SetDisabled disables or enables a user. Disabling ends the user's
// sessions; a disabled user cannot sign in.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool, then ...Hook) error {
	what := "enable"
	if disabled {
		what = "disable"
	}
	return s.update(ctx, name, what, disabled, then,
		`UPDATE users SET disabled = $2, updated_at = $3 WHERE name = $1 RETURNING id`, disabled, s.clock())
}

// signInLockClass and remoteLockClass are the first keys of the advisory
// locks that serialise the sign-in attempts of one name ("user") and of one
// address ("addr").
const (
	signInLockClass = 0x75736572
	remoteLockClass = 0x61646472
)

// unknownKey is how an attempt with a name that is no user's is kept: a
// hash of what was typed (trimmed, lower case), so that a password typed
// into the name field is not stored, while repeated guesses of one name
// still count together.
func unknownKey(typed string) string {
	sum := sha256.Sum256([]byte("paperchart sign-in name\n" + strings.ToLower(strings.TrimSpace(typed))))
	return "unknown:" + hex.EncodeToString(sum[:8])
}

// AttemptName is how a sign-in attempt with the name typed is recorded
// (sign_in_attempts, the audit trail): the user's name when such a user
// exists, else a hash of what was typed (unknown:<16 hex digits>).
func (s *Store) AttemptName(ctx context.Context, typed string) (name string, known bool, err error) {
	u, err := s.ByName(ctx, typed)
	switch {
	case err == nil:
		return u.Name, true, nil
	case errors.Is(err, ErrNotFound):
		return unknownKey(typed), false, nil
	}
	return "", false, err
}

// Authenticate checks a password (bcrypt). Unknown user, wrong password and
// disabled user all give ErrBadCredentials, taking the same time (an unknown
// name is checked against a dummy hash). After LockAfter failures for a name
// from one address within LockWindow it gives ErrLocked there, even for the
// right password, for LockBase after the last failure, doubled for each
// further one up to LockMax; the same name from another address is not
// locked. A success from that address, or Unlock, forgets earlier failures.
// More than RateLimit attempts from one address within RateWindow give
// ErrRateLimited (not recorded, not checked). Every other attempt is
// recorded in sign_in_attempts with the name (AttemptName), the time, the
// outcome and remote (the client's address, as the caller knows it). Other
// errors are the database's.
func (s *Store) Authenticate(ctx context.Context, name, password, remote string) (User, error) {
	n, nameErr := normName(name)
	remote = clip(remote, maxAttemptRemote)
	dummy, err := s.dummyHash()
	if err != nil {
		return User{}, err
	}

	var u User
	var result error
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, result = User{}, nil
		hash, found := dummy, false
		if nameErr == nil {
			var h string
			u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE name = $1`, n), &h)
			switch {
			case err == nil:
				hash, found = []byte(h), true
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("read user: %w", err)
			}
		}
		key := n
		if !found {
			key = unknownKey(name)
		}
		// One attempt per address, then per name, at a time, so that
		// parallel guesses cannot slip past the limits.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2)), pg_advisory_xact_lock($3, hashtext($4))`,
			remoteLockClass, remote, signInLockClass, key); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		now := s.clock()
		var recent int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM sign_in_attempts WHERE remote = $1 AND at > $2 AND outcome <> 'unlocked'`,
			remote, now.Add(-RateWindow)).Scan(&recent); err != nil {
			return fmt.Errorf("count attempts: %w", err)
		}
		if recent >= RateLimit {
			u, result = User{}, ErrRateLimited
			return nil
		}
		until, err := lockedUntil(ctx, tx, key, remote, now)
		if err != nil {
			return err
		}
		outcome := "locked"
		switch {
		case now.Before(until):
			result = ErrLocked
		default:
			match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil && len(password) <= maxPasswordBytes
			switch {
			case !found:
				outcome, result = "unknown_user", ErrBadCredentials
			case !match:
				outcome, result = "wrong_password", ErrBadCredentials
			case u.Disabled:
				outcome, result = "disabled", ErrBadCredentials
			default:
				outcome = "ok"
				if err := s.signedIn(ctx, tx, &u, hash, password, now); err != nil {
					return err
				}
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO sign_in_attempts (name, at, ok, outcome, remote) VALUES ($1, $2, $3, $4, $5)`,
			key, now, outcome == "ok", outcome, remote)
		if err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("sign in: %w", err)
	}
	if result != nil {
		return User{}, result
	}
	return u, nil
}

// Unlock forgets the failed sign-ins of a user at every address, so that a
// locked user can sign in again at once. It is recorded as an attempt of
// its own (outcome unlocked).
func (s *Store) Unlock(ctx context.Context, name string, then ...Hook) error {
	u, err := s.ByName(ctx, name)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sign_in_attempts (name, at, ok, outcome, remote) VALUES ($1, $2, false, 'unlocked', '')`,
			u.Name, s.clock()); err != nil {
			return err
		}
		return runHooks(ctx, tx, then)
	})
	if err != nil {
		return fmt.Errorf("unlock user %q: %w", u.Name, err)
	}
	return nil
}

// Lock is a name locked at an address.
type Lock struct {
	Name   string    `json:"name"` // a user's name, or unknown:<hash>
	Remote string    `json:"remote"`
	Until  time.Time `json:"until"`
}

// Locks lists the names locked now, with the address and until when, by
// name and address.
func (s *Store) Locks(ctx context.Context) ([]Lock, error) {
	now := s.clock()
	var out []Lock
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT name, remote FROM sign_in_attempts
			WHERE at > $1 AND NOT ok AND outcome NOT IN ('locked', 'unlocked') ORDER BY name, remote`, now.Add(-LockWindow-LockMax))
		if err != nil {
			return err
		}
		type pair struct{ Name, Remote string }
		pairs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[pair])
		if err != nil {
			return err
		}
		for _, p := range pairs {
			until, err := lockedUntil(ctx, tx, p.Name, p.Remote, now)
			if err != nil {
				return err
			}
			if now.Before(until) {
				out = append(out, Lock{Name: p.Name, Remote: p.Remote, Until: until})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list sign-in locks: %w", err)
	}
	return out, nil
}

// signedIn records a successful sign-in and, when the hash's cost is not the
// store's, hashes the password again.
func (s *Store) signedIn(ctx context.Context, tx pgx.Tx, u *User, hash []byte, password string, now time.Time) error {
	u.LastSignIn = &now
	if cost, err := bcrypt.Cost(hash); err == nil && cost != s.cost {
		if h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost); err == nil {
			if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, string(h)); err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET last_sign_in = $2 WHERE id = $1`, u.ID, now); err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	return nil
}

// lockedUntil returns until when the name is locked at the address (a
// time not after now when it is not): its failures there since its last
// success there and its last unlock, within LockWindow of the latest, are
// LockAfter or more, and the lock lasts LockBase after the latest, doubled
// for each failure past LockAfter, at most LockMax. Attempts refused because
// of a lock do not count, so a lock is never prolonged by knocking on it.
func lockedUntil(ctx context.Context, tx pgx.Tx, key, remote string, now time.Time) (time.Time, error) {
	since := now.Add(-LockMax - LockWindow)
	rows, err := tx.Query(ctx, `
		SELECT at FROM sign_in_attempts
		WHERE name = $1 AND remote = $2 AND at > $3 AND NOT ok AND outcome NOT IN ('locked', 'unlocked')
		  AND at > coalesce((SELECT max(at) FROM sign_in_attempts WHERE name = $1 AND at > $3
		                     AND ((ok AND remote = $2) OR outcome = 'unlocked')), '-infinity')
		ORDER BY at DESC LIMIT 64`, key, remote, since)
	if err != nil {
		return time.Time{}, fmt.Errorf("read attempts: %w", err)
	}
	ats, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return time.Time{}, fmt.Errorf("read attempts: %w", err)
	}
	if len(ats) == 0 {
		return time.Time{}, nil
	}
	latest, n := ats[0], 0
	for _, at := range ats {
		if latest.Sub(at) < LockWindow {
			n++
		}
	}
	if n < LockAfter {
		return time.Time{}, nil
	}
	d := LockMax
	if shift := n - LockAfter; shift < 8 {
		d = min(LockMax, LockBase<<shift)
	}
	return latest.Add(d), nil
}

// clip makes s valid text for PostgreSQL (UTF-8, no NUL) of at most n characters.
func clip(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n])
	}
	return s
}
