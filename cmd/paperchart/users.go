package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/term"

	"paperchart/audit"
	"paperchart/users"
)

func runUsers(ctx context.Context, args []string, stdout io.Writer) error {
	return usersCommand(os.Stdin)(ctx, args, stdout)
}

// usersCommand is `paperchart users` reading passwords from stdin.
func usersCommand(stdin io.Reader) runFunc {
	u := usersCmd{stdin: stdin}
	return func(ctx context.Context, args []string, stdout io.Writer) error {
		return subcommand(ctx, args, stdout, "list, add NAME --role ROLE, passwd NAME, role NAME ROLE, disable NAME, enable NAME or unlock NAME", map[string]runFunc{
			"list": u.list, "add": u.add, "passwd": u.passwd, "role": u.role, "disable": u.disable, "enable": u.enable,
			"unlock": u.unlock,
		})
	}
}

type usersCmd struct{ stdin io.Reader }

const passwordStdinHelp = "read the password from the first line of standard input (for scripts)"

// usersArgs parses the flags and exactly the positional arguments named.
func usersArgs(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return nil, err
	}
	if len(fs.Args()) != len(names) {
		return nil, fmt.Errorf("give %s (see `paperchart %s --help`)", strings.Join(names, " and "), fs.Name())
	}
	return fs.Args(), nil
}

// userStore is the user store and the audit trail every change is
// recorded in.
type userStore struct {
	*users.Store
	trail *audit.Log
}

// openUsers opens the database and the user store.
func openUsers(ctx context.Context, c *config) (userStore, func(), error) {
	db, err := c.openDB(ctx)
	if err != nil {
		return userStore{}, nil, err
	}
	return userStore{users.NewStore(db.Pool()), audit.New(db.Pool())}, db.Close, nil
}

// audited is the hook that records a change to a user in the audit trail,
// as the person at the command line, in the change's transaction: the
// change is not made without its entry.
func (s userStore) audited(action, name, detail string) users.Hook {
	return s.trail.InTx(audit.Entry{Actor: cliActor(), Action: action, Resource: "user/" + strings.ToLower(strings.TrimSpace(name)),
		Outcome: audit.OutcomeOK, Detail: detail})
}

// userError says what to do about err.
func userError(err error, name string) error {
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && pe.Code == "42P01": // undefined_table
		return fmt.Errorf("%w: the database has no users table yet; run `paperchart migrate` first", err)
	case errors.Is(err, users.ErrExists):
		return fmt.Errorf("%w: choose another name, or set this user's password with `paperchart users passwd %s`", err, name)
	case errors.Is(err, users.ErrNotFound):
		return fmt.Errorf("%w: `paperchart users list` shows who exists", err)
	}
	return err
}

// password reads a new password: the first line of stdin with
// --password-stdin, else typed twice at the terminal without echo. Without
// a terminal the command says how to pipe the password in.
func (u usersCmd) password(fromStdin bool, cmd string) (string, error) {
	if f, ok := u.stdin.(*os.File); !fromStdin && ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "New password (at least 12 characters): ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(os.Stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ; nothing changed")
		}
		return string(a), nil
	}
	if !fromStdin {
		return "", fmt.Errorf("give the password on standard input with --password-stdin, for example:\n"+
			"  read -rs PW && printf '%%s\\n' \"$PW\" | paperchart users %s --password-stdin; unset PW", cmd)
	}
	line, err := bufio.NewReader(io.LimitReader(u.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input: give it as the first line")
	}
	return pw, nil
}

func (u usersCmd) list(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("users", "[list] [flags]", "Lists who may sign in to the web pages, with their role and last sign-in.\nRoles: indexer, records (also reads any filed document), supervisor (also oversees), admin (everything).")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON (an array of users) for scripts")
	if _, err := usersArgs(fs, args); err != nil {
		return err
	}
	st, done, err := openUsers(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	us, err := st.List(ctx)
	if err != nil {
		return userError(err, "")
	}
	if ok, err := listed(stdout, us, *asJSON, "no users yet: add one with `paperchart users add NAME --role admin --password-stdin`"); ok {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tCREATED\tLAST SIGN-IN")
	for _, x := range us {
		state, last := "enabled", "never"
		if x.Disabled {
			state = "disabled"
		}
		if x.LastSignIn != nil {
			last = x.LastSignIn.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.Name, x.Role, state, x.CreatedAt.Local().Format(time.DateOnly), last)
	}
	return tw.Flush()
}

func (u usersCmd) add(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("users add", "NAME --role ROLE --password-stdin [flags]", "Adds a user who may sign in to the web pages. A name is 1 to 64 letters, digits,\ndots, underscores or dashes, the same in any case; a password at least 12 characters.")
	c.register(fs, useDB)
	roleFlag := fs.String("role", "", "what the user may do: indexer, records, supervisor or admin (required)")
	fromStdin := fs.Bool("password-stdin", false, passwordStdinHelp)
	a, err := usersArgs(fs, args, "NAME")
	if err != nil {
		return err
	}
	if *roleFlag == "" {
		return errors.New("give the user's role with --role indexer, records, supervisor or admin")
	}
	role, err := users.ParseRole(*roleFlag)
	if err != nil {
		return err
	}
	pw, err := u.password(*fromStdin, "add "+a[0]+" --role "+string(role))
	if err != nil {
		return err
	}
	st, done, err := openUsers(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	x, err := st.Add(ctx, a[0], role, pw, st.audited(audit.ActionUserAdd, a[0], "role "+string(role)))
	if err != nil {
		return userError(err, a[0])
	}
	fmt.Fprintf(stdout, "added %s (%s); they can sign in now\n", x.Name, x.Role)
	return nil
}

func (u usersCmd) passwd(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("users passwd", "NAME --password-stdin [flags]", "Sets a user's password (at least 12 characters) and signs them out everywhere.")
	c.register(fs, useDB)
	fromStdin := fs.Bool("password-stdin", false, passwordStdinHelp)
	a, err := usersArgs(fs, args, "NAME")
	if err != nil {
		return err
	}
	pw, err := u.password(*fromStdin, "passwd "+a[0])
	if err != nil {
		return err
	}
	st, done, err := openUsers(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	if err := st.SetPassword(ctx, a[0], pw, st.audited(audit.ActionUserPassword, a[0], "")); err != nil {
		return userError(err, a[0])
	}
	fmt.Fprintf(stdout, "password of %s changed; they were signed out everywhere\n", strings.ToLower(a[0]))
	return nil
}

func (u usersCmd) role(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("users role", "NAME ROLE [flags]", "Changes what a user may do: indexer, records, supervisor or admin. Takes effect on their next request.")
	c.register(fs, useDB)
	a, err := usersArgs(fs, args, "NAME", "ROLE")
	if err != nil {
		return err
	}
	role, err := users.ParseRole(a[1])
	if err != nil {
		return err
	}
	st, done, err := openUsers(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	if err := st.SetRole(ctx, a[0], role, st.audited(audit.ActionUserRole, a[0], string(role))); err != nil {
		return userError(err, a[0])
	}
	fmt.Fprintf(stdout, "%s is now %s\n", strings.ToLower(a[0]), role)
	return nil
}

func (u usersCmd) disable(ctx context.Context, args []string, stdout io.Writer) error {
	return u.setDisabled(ctx, args, stdout, true)
}

func (u usersCmd) enable(ctx context.Context, args []string, stdout io.Writer) error {
	return u.setDisabled(ctx, args, stdout, false)
}

func (u usersCmd) setDisabled(ctx context.Context, args []string, stdout io.Writer, disabled bool) error {
	var c config
	name, about := "users enable", "Lets a disabled user sign in again."
	if disabled {
		name, about = "users disable", "Stops a user from signing in and signs them out everywhere. Their history is kept."
	}
	fs := newFlags(name, "NAME [flags]", about)
	c.register(fs, useDB)
	a, err := usersArgs(fs, args, "NAME")
	if err != nil {
		return err
	}
	st, done, err := openUsers(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	action := audit.ActionUserEnable
	if disabled {
		action = audit.ActionUserDisable
	}
	if err := st.SetDisabled(ctx, a[0], disabled, st.audited(action, a[0], "")); err != nil {
		return userError(err, a[0])
	}
	if disabled {
		fmt.Fprintf(stdout, "%s is disabled and was signed out everywhere\n", strings.ToLower(a[0]))
		return nil
	}
	fmt.Fprintf(stdout, "%s is enabled and can sign in again\n", strings.ToLower(a[0]))
	return nil
}

func (u usersCmd) unlock(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("users unlock", "NAME [flags]", "Forgets a user's failed sign-ins at every address, so that a locked user can sign in at once.")
	c.register(fs, useDB)
	a, err := usersArgs(fs, args, "NAME")
	if err != nil {
		return err
	}
	st, done, err := openUsers(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	if err := st.Unlock(ctx, a[0], st.audited(audit.ActionUserUnlock, a[0], "")); err != nil {
		return userError(err, a[0])
	}
	fmt.Fprintf(stdout, "%s is unlocked and can sign in again\n", strings.ToLower(a[0]))
	return nil
}
