package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/internal/testenv"
	"paperchart/users"
)

func TestUsersCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	dbFlag := "--database-url=" + url
	st := users.NewStore(db.Pool())

	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
		want    []string
	}{
		{"empty list", []string{dbFlag}, "", "", []string{"no users yet"}},
		{"add", []string{"add", "Kate", "--role", "supervisor", "--password-stdin", dbFlag}, "correct horse battery\n", "", []string{"added kate (supervisor)"}},
		{"add, flags first, CRLF", []string{"add", "--role=indexer", "--password-stdin", dbFlag, "bob"}, "another long password\r\n", "", []string{"added bob (indexer)"}},
		{"add duplicate", []string{"add", "KATE", "--role", "admin", "--password-stdin", dbFlag}, "correct horse battery\n", "already exists", nil},
		{"add weak", []string{"add", "carol", "--role", "admin", "--password-stdin", dbFlag}, "short\n", "at least 12 characters", nil},
		{"add bad name", []string{"add", "carol smith", "--role", "admin", "--password-stdin", dbFlag}, "correct horse battery\n", "letters, digits", nil},
		{"add two names", []string{"add", "carol", "smith", "--role", "admin", "--password-stdin", dbFlag}, "correct horse battery\n", "give NAME", nil},
		{"add bad name chars", []string{"add", "carol/smith", "--role", "admin", "--password-stdin", dbFlag}, "correct horse battery\n", "letters, digits", nil},
		{"add without role", []string{"add", "carol", "--password-stdin", dbFlag}, "correct horse battery\n", "--role indexer, records, supervisor or admin", nil},
		{"add bad role", []string{"add", "carol", "--role", "root", "--password-stdin", dbFlag}, "correct horse battery\n", "indexer, records, supervisor or admin", nil},
		{"add without --password-stdin", []string{"add", "carol", "--role", "admin", dbFlag}, "", "--password-stdin", nil},
		{"add, empty stdin", []string{"add", "carol", "--role", "admin", "--password-stdin", dbFlag}, "", "no password", nil},
		{"list", []string{"list", dbFlag}, "", "", []string{"NAME", "bob", "indexer", "kate", "supervisor", "enabled", "never"}},
		{"role", []string{"role", "bob", "admin", dbFlag}, "", "", []string{"bob is now admin"}},
		{"role bad", []string{"role", "bob", "king", dbFlag}, "", "indexer, records, supervisor or admin", nil},
		{"role nobody", []string{"role", "nobody", "admin", dbFlag}, "", "paperchart users list", nil},
		{"passwd", []string{"passwd", "bob", "--password-stdin", dbFlag}, "a third long password\n", "", []string{"password of bob changed"}},
		{"disable", []string{"disable", "kate", dbFlag}, "", "", []string{"kate is disabled"}},
		{"disable nobody", []string{"disable", "nobody", dbFlag}, "", "user not found", nil},
		{"unknown", []string{"frobnicate"}, "", "unknown subcommand", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := usersCommand(strings.NewReader(tc.stdin))(ctx, tc.args, &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}

	// The passwords given on stdin work; kate is disabled.
	if u, err := st.Authenticate(ctx, "bob", "a third long password", "test"); err != nil || u.Role != users.Admin {
		t.Errorf("bob signs in: %+v, %v", u, err)
	}
	if _, err := st.Authenticate(ctx, "kate", "correct horse battery", "test"); !errors.Is(err, users.ErrBadCredentials) {
		t.Errorf("disabled kate signs in: %v", err)
	}

	var out bytes.Buffer
	testenv.Must(t, usersCommand(nil)(ctx, []string{"--json", dbFlag}, &out), "list --json")
	var got []users.User
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out.String())
	}
	if len(got) != 2 || got[0].Name != "bob" || got[0].Role != users.Admin || got[0].LastSignIn == nil ||
		got[1].Name != "kate" || !got[1].Disabled || got[1].LastSignIn != nil {
		t.Errorf("list --json = %+v", got)
	}
	if strings.Contains(out.String(), "password") || strings.Contains(out.String(), "$2") {
		t.Errorf("list --json shows a password hash:\n%s", out.String())
	}

	// Disabling ends the user's sessions; enabling lets them sign in again.
	ss := users.NewSessions(st, users.Config{}, nil)
	bob, err := st.ByName(ctx, "bob")
	testenv.Must(t, err, "bob")
	_, err = ss.Start(ctx, httptest.NewRecorder(), bob)
	testenv.Must(t, err, "start")
	testenv.Must(t, usersCommand(nil)(ctx, []string{"disable", "bob", dbFlag}, &out), "disable")
	var n int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM user_sessions`).Scan(&n), "count sessions")
	if n != 0 {
		t.Errorf("%d sessions left after disable", n)
	}
	out.Reset()
	testenv.Must(t, usersCommand(nil)(ctx, []string{"enable", "kate", dbFlag}, &out), "enable")
	if !strings.Contains(out.String(), "kate is enabled") {
		t.Errorf("enable: %q", out.String())
	}
	if _, err := st.Authenticate(ctx, "kate", "correct horse battery", "test"); err != nil {
		t.Errorf("enabled kate signs in: %v", err)
	}

	// Five wrong passwords lock kate at one address; unlock lets her in.
	for range 5 {
		st.Authenticate(ctx, "kate", "wrong password!", "203.0.113.9")
	}
	if _, err := st.Authenticate(ctx, "kate", "correct horse battery", "203.0.113.9"); !errors.Is(err, users.ErrLocked) {
		t.Fatalf("after five failures: %v", err)
	}
	out.Reset()
	testenv.Must(t, usersCommand(nil)(ctx, []string{"unlock", "KATE", dbFlag}, &out), "unlock")
	if !strings.Contains(out.String(), "kate is unlocked") {
		t.Errorf("unlock: %q", out.String())
	}
	if _, err := st.Authenticate(ctx, "kate", "correct horse battery", "203.0.113.9"); err != nil {
		t.Errorf("unlocked kate signs in: %v", err)
	}
	if err := usersCommand(nil)(ctx, []string{"unlock", "nobody", dbFlag}, &out); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unlock nobody: %v", err)
	}

	// Every change is in the audit trail.
	es, err := audit.New(db.Pool()).List(ctx, audit.Filter{Limit: 100})
	testenv.Must(t, err, "audit list")
	var got2 []string
	for _, e := range es {
		got2 = append(got2, e.Action+" "+e.Resource)
	}
	for _, w := range []string{"user.add user/kate", "user.add user/bob", "user.role user/bob", "user.password user/bob",
		"user.disable user/kate", "user.enable user/kate", "user.unlock user/kate"} {
		if !slices.Contains(got2, w) {
			t.Errorf("audit trail lacks %q: %q", w, got2)
		}
	}
}

func TestUsersCommandWithoutMigration(t *testing.T) {
	url := testenv.DBURL(t)
	err := usersCommand(nil)(context.Background(), []string{"list", "--database-url=" + url}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "paperchart migrate") {
		t.Errorf("list on an empty database: %v", err)
	}
}
