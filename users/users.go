// Package users owns who may sign in to paperchart's web pages and what they
// may do there.
//
// A user has a case-insensitive name, a role (indexer, supervisor or admin,
// each allowing what the one before allows), a bcrypt password hash and a
// disabled flag. Store keeps them in PostgreSQL (tables users,
// user_sessions and sign_in_attempts, migration storage/migrations/0005)
// and checks passwords: every attempt is recorded, and five failures for a
// name within 15 minutes lock that name for 15 minutes.
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
	Supervisor Role = "supervisor" // also oversees the queue and others' work
	Admin      Role = "admin"      // also manages the system
)

// ParseRole reads a role name (indexer, supervisor or admin, in any case).
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
	case Supervisor:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// Allows reports whether a user with role r may do what needs role need:
// admin ⊇ supervisor ⊇ indexer. An unknown role allows nothing and is
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
	ErrLocked         = errors.New("too many failed sign-ins: try again in 15 minutes")
	ErrBadName        = errors.New("a user name is 1 to 64 letters, digits, dots, underscores or dashes")
	ErrBadRole        = errors.New("a role is indexer, supervisor or admin")
)

const (
	// DefaultCost is the bcrypt cost of new password hashes.
	DefaultCost = 12
	// MinPasswordLength is the fewest characters a password may have.
	MinPasswordLength = 12
	// maxPasswordBytes is the most bcrypt reads.
	maxPasswordBytes = 72

	// LockAfter failures for a name within LockWindow lock it for LockFor.
	LockAfter  = 5
	LockWindow = 15 * time.Minute
	LockFor    = 15 * time.Minute

	maxNameLen = 64
	// Attempts record what was typed, cut to these many characters.
	maxAttemptName   = 100
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

// Add creates a user. The name must be new whatever its case.
func (s *Store) Add(ctx context.Context, name string, role Role, password string) (User, error) {
	n, err := normName(name)
	if err != nil {
		return User{}, err
	}
	if role.rank() == 0 {
		return User{}, fmt.Errorf("role %q: %w", role, ErrBadRole)
	}
	h, err := s.hash(password)
	if err != nil {
		return User{}, err
	}
	now := s.clock()
	u, err := scanUser(s.pool.QueryRow(ctx, `
		INSERT INTO users (name, role, password_hash, created_at, updated_at, password_changed_at)
		VALUES ($1, $2, $3, $4, $4, $4) RETURNING `+userCols, n, string(role), string(h), now))
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

// update runs set (an UPDATE ... WHERE name = $1 RETURNING id) and then,
// when endSessions, deletes the user's sessions, in one transaction.
func (s *Store) update(ctx context.Context, name, what string, endSessions bool, set string, args ...any) error {
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
			_, err := tx.Exec(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, id)
			return err
		}
		return nil
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
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	h, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.update(ctx, name, "set the password of", true, `
		UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3
		WHERE name = $1 RETURNING id`, string(h), s.clock())
}

// SetRole changes a user's role. Signed-in sessions get the new role on
// their next request.
func (s *Store) SetRole(ctx context.Context, name string, role Role) error {
	if role.rank() == 0 {
		return fmt.Errorf("role %q: %w", role, ErrBadRole)
	}
	return s.update(ctx, name, "set the role of", false,
		`UPDATE users SET role = $2, updated_at = $3 WHERE name = $1 RETURNING id`, string(role), s.clock())
}

// SetDisabled disables or enables a user. Disabling ends the user's
// sessions; a disabled user cannot sign in.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	what := "enable"
	if disabled {
		what = "disable"
	}
	return s.update(ctx, name, what, disabled,
		`UPDATE users SET disabled = $2, updated_at = $3 WHERE name = $1 RETURNING id`, disabled, s.clock())
}

// signInLockClass is the first key of the advisory locks that serialise the
// sign-in attempts of one name ("user").
const signInLockClass = 0x75736572

// Authenticate checks a password (bcrypt). Unknown user, wrong password and
// disabled user all give ErrBadCredentials, taking the same time (an unknown
// name is checked against a dummy hash). After LockAfter failures for a name
// within LockWindow it gives ErrLocked for LockFor, even for the right
// password; a success forgets earlier failures. Every attempt is recorded in
// sign_in_attempts with the name typed, the time, the outcome and remote
// (the client's address, as the caller knows it). Other errors are the
// database's.
func (s *Store) Authenticate(ctx context.Context, name, password, remote string) (User, error) {
	n, nameErr := normName(name)
	key := n
	if nameErr != nil {
		key = clip(strings.ToLower(strings.TrimSpace(name)), maxAttemptName)
	}
	remote = clip(remote, maxAttemptRemote)
	dummy, err := s.dummyHash()
	if err != nil {
		return User{}, err
	}

	var u User
	var result error
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, result = User{}, nil
		// One attempt per name at a time, so that parallel guesses cannot
		// slip past the lockout.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, signInLockClass, key); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		now := s.clock()
		locked, err := lockedOut(ctx, tx, key, now)
		if err != nil {
			return err
		}
		outcome := "locked"
		switch {
		case locked:
			result = ErrLocked
		default:
			hash := dummy
			found := false
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

// lockedOut reports whether the name is locked at now: its last LockAfter
// failures since its last success fall within LockWindow, the latest less
// than LockFor ago. Attempts refused because of a lock do not count, so a
// lock is never prolonged by knocking on it.
func lockedOut(ctx context.Context, tx pgx.Tx, key string, now time.Time) (bool, error) {
	since := now.Add(-LockFor - LockWindow)
	rows, err := tx.Query(ctx, `
		SELECT at FROM sign_in_attempts
		WHERE name = $1 AND at > $2 AND NOT ok AND outcome <> 'locked'
		  AND at > coalesce((SELECT max(at) FROM sign_in_attempts WHERE name = $1 AND at > $2 AND ok), '-infinity')
		ORDER BY at DESC LIMIT $3`, key, since, LockAfter)
	if err != nil {
		return false, fmt.Errorf("read attempts: %w", err)
	}
	ats, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return false, fmt.Errorf("read attempts: %w", err)
	}
	if len(ats) < LockAfter {
		return false, nil
	}
	latest, first := ats[0], ats[LockAfter-1]
	return now.Sub(latest) < LockFor && latest.Sub(first) < LockWindow, nil
}

// clip makes s valid text for PostgreSQL (UTF-8, no NUL) of at most n characters.
func clip(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n])
	}
	return s
}
