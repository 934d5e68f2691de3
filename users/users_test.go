package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"paperchart/internal/testenv"
)

// newStore is a store on a migrated database of the test's own, with a
// clock the test moves and bcrypt at its lowest cost so tests stay fast.
func newStore(t *testing.T) (*Store, *testenv.Clock) {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := NewStore(testenv.DB(t).Pool())
	s.cost = bcrypt.MinCost
	s.now = clk.Now
	return s, clk
}

const goodPassword = "correct horse battery"

func TestParseRoleAndAllows(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Role
		err  bool
	}{
		{"indexer", Indexer, false}, {"Records", Records, false}, {"Supervisor", Supervisor, false}, {" admin ", Admin, false},
		{"", "", true}, {"root", "", true}, {"admins", "", true},
	} {
		got, err := ParseRole(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseRole(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrBadRole) {
			t.Errorf("ParseRole(%q) error %v is not ErrBadRole", tc.in, err)
		}
	}
	for _, tc := range []struct {
		have, need Role
		want       bool
	}{
		{Indexer, Indexer, true}, {Indexer, Supervisor, false}, {Indexer, Admin, false},
		{Supervisor, Indexer, true}, {Supervisor, Supervisor, true}, {Supervisor, Admin, false},
		{Admin, Indexer, true}, {Admin, Supervisor, true}, {Admin, Admin, true},
		{Records, Indexer, true}, {Records, Records, true}, {Records, Supervisor, false}, {Indexer, Records, false},
		{Supervisor, Records, true}, {Admin, Records, true},
		{Role("root"), Indexer, false}, {Role(""), Indexer, false}, {Admin, Role("root"), false}, {Admin, Role(""), false},
	} {
		if got := tc.have.Allows(tc.need); got != tc.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tc.have, tc.need, got, tc.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	if s := NewStore(nil); s.cost != 12 {
		t.Errorf("default bcrypt cost %d, want 12", s.cost)
	}
	ss := NewSessions(NewStore(nil), Config{}, nil)
	want := Config{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour, CookieName: "paperchart_session", LoginPath: "/review/login"}
	if ss.cfg != want {
		t.Errorf("default config %+v, want %+v", ss.cfg, want)
	}
}

func TestAddListAndChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)

	for _, tc := range []struct {
		name, user string
		role       Role
		password   string
		want       error  // nil: added
		wantName   string // as stored
	}{
		{"ok", "Kate.Smith", Indexer, goodPassword, nil, "kate.smith"},
		{"ok admin", "admin_1", Admin, "twelve chars", nil, "admin_1"},
		{"ok 12 runes", "rune-user", Supervisor, "ééééééééééé1", nil, "rune-user"},
		{"duplicate", "kate.smith", Admin, goodPassword, ErrExists, ""},
		{"duplicate other case", "KATE.SMITH", Indexer, goodPassword, ErrExists, ""},
		{"weak password", "bob", Indexer, "short pass1", ErrWeakPassword, ""},
		{"empty password", "bob", Indexer, "", ErrWeakPassword, ""},
		{"password over 72 bytes", "bob", Indexer, strings.Repeat("x", 73), bcrypt.ErrPasswordTooLong, ""},
		{"empty name", "", Indexer, goodPassword, ErrBadName, ""},
		{"name with space", "kate smith", Indexer, goodPassword, ErrBadName, ""},
		{"name with non-ASCII", "kåte", Indexer, goodPassword, ErrBadName, ""},
		{"Kelvin sign", "\u212Aate", Indexer, goodPassword, ErrBadName, ""},
		{"name too long", strings.Repeat("a", 65), Indexer, goodPassword, ErrBadName, ""},
		{"name 64", strings.Repeat("a", 64), Indexer, goodPassword, nil, strings.Repeat("a", 64)},
		{"bad role", "carol", Role("root"), goodPassword, ErrBadRole, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := s.Add(ctx, tc.user, tc.role, tc.password)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Add: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.ID == 0 || u.Name != tc.wantName || u.Role != tc.role || u.Disabled || !u.CreatedAt.Equal(clk.Now()) || u.LastSignIn != nil {
				t.Errorf("Add = %+v", u)
			}
		})
	}

	us, err := s.List(ctx)
	testenv.Must(t, err, "list")
	var names []string
	for _, u := range us {
		names = append(names, u.Name+":"+string(u.Role))
	}
	if got, want := strings.Join(names, " "), strings.Repeat("a", 64)+":indexer admin_1:admin kate.smith:indexer rune-user:supervisor"; got != want {
		t.Errorf("List = %s, want %s", got, want)
	}

	u, err := s.ByName(ctx, "KATE.smith")
	if err != nil || u.Name != "kate.smith" {
		t.Errorf("ByName = %+v, %v", u, err)
	}
	for _, name := range []string{"nobody", "bad name!", ""} {
		if _, err := s.ByName(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("ByName(%q): %v, want ErrNotFound", name, err)
		}
	}

	testenv.Must(t, s.SetRole(ctx, "Kate.Smith", Supervisor), "set role")
	testenv.Must(t, s.SetDisabled(ctx, "kate.smith", true), "disable")
	u, _ = s.ByName(ctx, "kate.smith")
	if u.Role != Supervisor || !u.Disabled {
		t.Errorf("after SetRole, SetDisabled: %+v", u)
	}
	testenv.Must(t, s.SetDisabled(ctx, "kate.smith", false), "enable")
	testenv.Must(t, s.SetPassword(ctx, "kate.smith", "another good one"), "set password")
	if _, err := s.Authenticate(ctx, "kate.smith", "another good one", ""); err != nil {
		t.Errorf("sign in with the new password: %v", err)
	}
	if _, err := s.Authenticate(ctx, "kate.smith", goodPassword, ""); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("sign in with the old password: %v", err)
	}

	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"role of nobody", s.SetRole(ctx, "nobody", Admin), ErrNotFound},
		{"bad role", s.SetRole(ctx, "kate.smith", Role("root")), ErrBadRole},
		{"disable nobody", s.SetDisabled(ctx, "nobody", true), ErrNotFound},
		{"password of nobody", s.SetPassword(ctx, "nobody", goodPassword), ErrNotFound},
		{"weak password", s.SetPassword(ctx, "kate.smith", "short"), ErrWeakPassword},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}

	// Only the hash is stored, at the store's cost.
	var hash string
	testenv.Must(t, s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE name = 'admin_1'`).Scan(&hash), "read hash")
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != s.cost || strings.Contains(hash, "twelve") {
		t.Errorf("stored hash %q: cost %d, %v", hash, cost, err)
	}
}

// attempts returns the recorded outcomes for a name, oldest first, as
// "outcome@remote".
func attempts(t *testing.T, s *Store, name string) []string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT outcome || '@' || remote FROM sign_in_attempts WHERE name = $1 ORDER BY id`, name)
	testenv.Must(t, err, "read attempts")
	var out []string
	for rows.Next() {
		var o string
		testenv.Must(t, rows.Scan(&o), "scan")
		out = append(out, o)
	}
	testenv.Must(t, rows.Err(), "read attempts")
	return out
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	_, err := s.Add(ctx, "kate", Indexer, goodPassword)
	testenv.Must(t, err, "add")
	_, err = s.Add(ctx, "gone", Indexer, goodPassword)
	testenv.Must(t, err, "add")
	testenv.Must(t, s.SetDisabled(ctx, "gone", true), "disable")
	// A password whose first 72 bytes are right is still wrong.
	long := strings.Repeat("y", 72)
	_, err = s.Add(ctx, "longpw", Indexer, long)
	testenv.Must(t, err, "add")

	for _, tc := range []struct {
		name, user, password string
		want                 error
		key, outcome         string // the attempt recorded
	}{
		{"right", "kate", goodPassword, nil, "kate", "ok"},
		{"right, other case", " KATE ", goodPassword, nil, "kate", "ok"},
		{"wrong password", "kate", "incorrect horse", ErrBadCredentials, "kate", "wrong_password"},
		{"empty password", "kate", "", ErrBadCredentials, "kate", "wrong_password"},
		// What was typed is kept only when it names a user: a password typed
		// into the name field is not kept.
		{"unknown user", "nobody", goodPassword, ErrBadCredentials, unknownKey("nobody"), "unknown_user"},
		{"impossible name", "No Body\x00", goodPassword, ErrBadCredentials, unknownKey("no body\x00"), "unknown_user"},
		{"disabled, right password", "gone", goodPassword, ErrBadCredentials, "gone", "disabled"},
		{"disabled, wrong password", "gone", "incorrect horse", ErrBadCredentials, "gone", "wrong_password"},
		{"over 72 bytes", "longpw", long + "z", ErrBadCredentials, "longpw", "wrong_password"},
		{"exactly 72 bytes", "longpw", long, nil, "longpw", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(attempts(t, s, tc.key))
			clk.Add(time.Second)
			u, err := s.Authenticate(ctx, tc.user, tc.password, "10.0.0.7")
			if err != tc.want { // exactly the sentinel: the UI shows its message
				t.Fatalf("Authenticate: %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if u.Name != tc.key || u.LastSignIn == nil || !u.LastSignIn.Equal(clk.Now()) {
					t.Errorf("user %+v", u)
				}
				stored, _ := s.ByName(ctx, tc.key)
				if stored.LastSignIn == nil || !stored.LastSignIn.Equal(clk.Now()) {
					t.Errorf("stored last sign-in %v, want %v", stored.LastSignIn, clk.Now())
				}
			} else if u.ID != 0 {
				t.Errorf("failed sign-in returned user %+v", u)
			}
			got := attempts(t, s, tc.key)
			if len(got) != before+1 || got[len(got)-1] != tc.outcome+"@10.0.0.7" {
				t.Errorf("attempts %v, want one more: %s@10.0.0.7", got, tc.outcome)
			}
		})
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	for _, n := range []string{"kate", "bob", "carol"} {
		_, err := s.Add(ctx, n, Indexer, goodPassword)
		testenv.Must(t, err, "add")
	}
	const attacker, desk = "198.51.100.9", "10.0.0.7"
	try := func(name, pw, from string) error {
		t.Helper()
		_, err := s.Authenticate(ctx, name, pw, from)
		if err != nil && err != ErrBadCredentials && err != ErrLocked && err != ErrRateLimited {
			t.Fatalf("Authenticate: %v", err)
		}
		return err
	}
	fail := func(name, from string, n int, every time.Duration) {
		t.Helper()
		for range n {
			if err := try(name, "wrong password!", from); err != ErrBadCredentials {
				t.Fatalf("failure %s: %v", name, err)
			}
			clk.Add(every)
		}
	}

	// Five failures from one address lock the name there, even for the
	// right password — but not from the user's own desk.
	fail("kate", attacker, 5, time.Second)
	if err := try("kate", goodPassword, attacker); err != ErrLocked {
		t.Fatalf("after 5 failures: %v, want ErrLocked", err)
	}
	if err := try("kate", goodPassword, desk); err != nil {
		t.Fatalf("the user's own address is locked out by another's guesses: %v", err)
	}
	if err := try("bob", goodPassword, attacker); err != nil {
		t.Errorf("another user is not locked: %v", err)
	}
	// The lock backs off: a minute after the fifth failure, then each
	// further failure doubles it (2, 4, 8 minutes...), up to 15.
	clk.Add(LockBase)
	if err := try("kate", "wrong password!", attacker); err != ErrBadCredentials {
		t.Fatalf("a minute after the fifth failure: %v", err)
	}
	clk.Add(LockBase + 50*time.Second) // 1:50 after the sixth: still locked
	if err := try("kate", goodPassword, attacker); err != ErrLocked {
		t.Errorf("1:50 after the sixth failure: %v, want ErrLocked", err)
	}
	clk.Add(10 * time.Second) // 2 min after the sixth; knocking did not prolong it
	if err := try("kate", goodPassword, attacker); err != nil {
		t.Errorf("2 min after the sixth failure: %v", err)
	}

	// A success forgets earlier failures.
	fail("bob", attacker, 4, time.Second)
	if err := try("bob", goodPassword, attacker); err != nil {
		t.Fatal(err)
	}
	fail("bob", attacker, 4, time.Second)
	if err := try("bob", goodPassword, attacker); err != nil {
		t.Errorf("4 failures, success, 4 failures: %v", err)
	}

	// Five failures spread over more than the window do not lock.
	fail("carol", desk, 5, LockWindow/4+time.Second)
	if err := try("carol", goodPassword, desk); err != nil {
		t.Errorf("5 failures over more than %v: %v", LockWindow, err)
	}

	// An admin unlocks a name at every address.
	clk.Add(time.Second)
	fail("carol", attacker, 5, 0)
	fail("carol", desk, 5, 0)
	if err := try("carol", goodPassword, desk); err != ErrLocked {
		t.Fatalf("carol at her desk: %v", err)
	}
	locks, err := s.Locks(ctx)
	testenv.Must(t, err, "locks")
	if len(locks) != 2 || locks[0].Name != "carol" || locks[1].Name != "carol" {
		t.Errorf("locks %+v, want carol at two addresses", locks)
	}
	testenv.Must(t, s.Unlock(ctx, "CAROL"), "unlock")
	if err := try("carol", goodPassword, desk); err != nil {
		t.Errorf("after unlock: %v", err)
	}
	if err := s.Unlock(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unlock of an unknown user: %v", err)
	}

	// Unknown names lock the same way, so a lock tells nothing of who exists.
	fail("nobody", desk, 5, 0)
	if err := try("nobody", goodPassword, desk); err != ErrLocked {
		t.Errorf("unknown name after 5 failures: %v, want ErrLocked", err)
	}

	// One address may try at most RateLimit sign-ins a minute, whatever
	// the names.
	clk.Add(time.Hour)
	for i := range RateLimit {
		if err := try(fmt.Sprintf("guess%d", i), "wrong password!", attacker); err != ErrBadCredentials {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := try("bob", goodPassword, attacker); err != ErrRateLimited {
		t.Errorf("attempt %d within a minute: %v, want ErrRateLimited", RateLimit+1, err)
	}
	if err := try("bob", goodPassword, desk); err != nil {
		t.Errorf("another address is not limited: %v", err)
	}
	clk.Add(RateWindow)
	if err := try("bob", goodPassword, attacker); err != nil {
		t.Errorf("a minute later: %v", err)
	}

	// Parallel guesses cannot get past the limit. A slower hash and a warm
	// pool make the attempts overlap.
	s.cost = 7
	_, err = s.Add(ctx, "erin", Indexer, goodPassword)
	testenv.Must(t, err, "add")
	s.cost = bcrypt.MinCost
	var warm sync.WaitGroup
	for range 4 {
		warm.Go(func() { s.pool.Exec(ctx, `SELECT pg_sleep(0.05)`) })
	}
	warm.Wait()
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			_, err := s.Authenticate(ctx, "erin", "wrong password!", "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	bad, locked := 0, 0
	for err := range errs {
		switch err {
		case ErrBadCredentials:
			bad++
		case ErrLocked:
			locked++
		default:
			t.Errorf("parallel attempt: %v", err)
		}
	}
	if bad != 5 || locked != 7 {
		t.Errorf("12 parallel guesses: %d checked, %d locked; want 5 and 7", bad, locked)
	}
}

// TestHooks: the hooks of Add, SetPassword, SetRole, SetDisabled and Unlock
// (the callers' audit entries) run in the change's transaction; a failing
// one undoes the change.
func TestHooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	failed := errors.New("audit trail down")
	fail := func(context.Context, pgx.Tx) error { return failed }
	ran := 0
	see := func(_ context.Context, tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE name = 'ann'`).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("the hook does not see the user: %d, %v", n, err)
		}
		ran++
		return nil
	}
	if _, err := s.Add(ctx, "ann", Indexer, goodPassword, fail); !errors.Is(err, failed) {
		t.Fatalf("add with a failing hook: %v", err)
	}
	if _, err := s.ByName(ctx, "ann"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("user after a failed add: %v", err)
	}
	_, err := s.Add(ctx, "ann", Indexer, goodPassword, see)
	testenv.Must(t, err, "add")
	for _, tc := range []struct {
		name   string
		change func(...Hook) error
	}{
		{"password", func(h ...Hook) error { return s.SetPassword(ctx, "ann", "another good password", h...) }},
		{"role", func(h ...Hook) error { return s.SetRole(ctx, "ann", Admin, h...) }},
		{"disable", func(h ...Hook) error { return s.SetDisabled(ctx, "ann", true, h...) }},
		{"unlock", func(h ...Hook) error { return s.Unlock(ctx, "ann", h...) }},
	} {
		before := state(t, s)
		if err := tc.change(fail); !errors.Is(err, failed) {
			t.Errorf("%s with a failing hook: %v", tc.name, err)
		}
		if after := state(t, s); after != before {
			t.Errorf("a failed %s changed ann: %s, then %s", tc.name, before, after)
		}
		testenv.Must(t, tc.change(see), "%s", tc.name)
		if after := state(t, s); after == before {
			t.Errorf("%s changed nothing: %s", tc.name, after)
		}
	}
	var unlocks int
	testenv.Must(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM sign_in_attempts WHERE outcome = 'unlocked'`).Scan(&unlocks), "count unlocks")
	if ran != 5 || unlocks != 1 {
		t.Errorf("hooks ran %d times, %d unlocks recorded; want 5 and 1", ran, unlocks)
	}
}

// state is what the changes of TestHooks change: ann's row and unlocks.
func state(t *testing.T, s *Store) string {
	t.Helper()
	var st string
	testenv.Must(t, s.pool.QueryRow(context.Background(), `SELECT concat_ws(' ', password_hash, role, disabled,
		(SELECT count(*) FROM sign_in_attempts WHERE outcome = 'unlocked')) FROM users WHERE name = 'ann'`).Scan(&st), "read ann")
	return st
}
