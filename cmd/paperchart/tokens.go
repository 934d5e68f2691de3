package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"paperchart/audit"
	"paperchart/storage"
	"paperchart/tokens"
)

func runTokens(ctx context.Context, args []string, stdout io.Writer) error {
	return subcommand(ctx, args, stdout, "list, create --name NAME --scope SCOPE [--expires 90d], or revoke NAME", map[string]runFunc{
		"list": tokensList, "create": tokensCreate, "revoke": tokensRevoke,
	})
}

// openTokens opens the database, the token store and the audit trail.
func openTokens(ctx context.Context, c *config) (*tokens.Store, *audit.Log, *storage.DB, error) {
	db, err := c.openDB(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return tokens.New(db.Pool()), audit.New(db.Pool()), db, nil
}

// tokenError says what to do about err.
func tokenError(err error, name string) error {
	switch {
	case errors.Is(err, tokens.ErrExists):
		return fmt.Errorf("%w: choose another name, such as %s-2", err, name)
	case errors.Is(err, tokens.ErrNotFound):
		return fmt.Errorf("%w: `paperchart tokens list` shows every token", err)
	}
	return schemaHint(err)
}

// tokenExpiry reads --expires: Nd (days), a Go duration (12h), or never.
func tokenExpiry(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "never" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 && d <= 100*366 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("--expires %q: give days (90d), hours (12h) or never", s)
}

// tokenScopesHelp lists the scopes for flag help.
func tokenScopesHelp() string { return strings.Join(tokens.Scopes(), ", ") }

func tokensCreate(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("tokens create", "--name NAME --scope SCOPE [--scope SCOPE...] [--expires 90d] [flags]",
		"Creates a bearer token for another system (the EHR) to read through the FHIR API, and prints its\n"+
			"secret once: paperchart keeps only a hash of it. A name is 1 to 64 letters, digits, dots,\n"+
			"underscores or dashes, and is never reused, so the audit trail always means one token by it.\n"+
			"Scopes: "+tokenScopesHelp()+".")
	c.register(fs, useDB)
	name := fs.String("name", "", "the token's name, for people and the audit trail: say which system holds it (required)")
	var scopes []string
	fs.Func("scope", "a scope the token has; repeat for more, or separate with spaces (required): "+tokenScopesHelp(), func(s string) error {
		scopes = append(scopes, s)
		return nil
	})
	expires := fs.String("expires", "90d", "lifetime: days (90d), hours (12h), or never")
	asJSON := fs.Bool("json", false, `print JSON {"token": ..., "secret": ...} for provisioning scripts`)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() == 1 && *name == "" {
		*name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("tokens create takes flags only, got %q (see `paperchart tokens create --help`)", fs.Args())
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("give the token's name with --name, say --name ehr-prod")
	}
	if len(scopes) == 0 {
		return fmt.Errorf("give at least one --scope: %s", tokenScopesHelp())
	}
	if _, err := tokens.ParseScopes(scopes); err != nil {
		return err
	}
	ttl, err := tokenExpiry(*expires)
	if err != nil {
		return err
	}
	st, trail, db, err := openTokens(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	// The token and its audit entry (without the secret) commit together.
	audited := func(ctx context.Context, tx pgx.Tx, t tokens.Token) error {
		_, err := trail.RecordTx(ctx, tx, audit.Entry{Actor: cliActor(), Action: audit.ActionTokenCreate, Resource: "token/" + t.Name,
			Outcome: audit.OutcomeOK, Detail: fmt.Sprintf("scopes %s; %s", strings.Join(t.Scopes, " "), tokenUntil(t))})
		return err
	}
	secret, t, err := st.Create(ctx, *name, scopes, ttl, audited)
	if err != nil {
		return tokenError(err, strings.ToLower(strings.TrimSpace(*name)))
	}
	until := tokenUntil(t)
	if *asJSON {
		err = writeJSON(stdout, struct {
			Token  tokens.Token `json:"token"`
			Secret string       `json:"secret"`
		}{t, secret})
	} else {
		fmt.Fprintf(stdout, "Token %s created: %s; %s.\n\n    %s\n\n", t.Name, strings.Join(t.Scopes, " "), until, secret)
		fmt.Fprintf(stdout, "This is the only time the secret is shown: paperchart keeps only a hash of it and cannot show\n"+
			"it again. Put it now into the other system's configuration; it sends it as\n"+
			"\"Authorization: Bearer <secret>\". If it is lost, revoke the token (paperchart tokens revoke %s)\n"+
			"and create another.\n", t.Name)
	}
	return err
}

// tokenUntil says when t expires.
func tokenUntil(t tokens.Token) string {
	if t.ExpiresAt == nil {
		return "never expires"
	}
	return "expires " + t.ExpiresAt.Local().Format("2006-01-02 15:04")
}

func tokensList(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("tokens", "[list] [flags]", "Lists the bearer tokens of other systems with their scopes, state (active, expired,\nrevoked), expiry and last use. Secrets are never shown.")
	c.register(fs, useDB)
	asJSON := fs.Bool("json", false, "print JSON (an array of tokens) for scripts")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tokens list takes no arguments, got %q", fs.Args())
	}
	st, _, db, err := openTokens(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ts, err := st.List(ctx)
	if err != nil {
		return tokenError(err, "")
	}
	if done, err := listed(stdout, ts, *asJSON, "no tokens yet: create one with `paperchart tokens create --name ehr-prod --scope 'system/*.read'`"); done {
		return err
	}
	now := time.Now()
	when := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.Local().Format("2006-01-02 15:04")
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tSCOPES\tCREATED\tEXPIRES\tLAST USED")
	for _, t := range ts {
		state := t.State(now)
		if state == "revoked" {
			state += " " + t.RevokedAt.Local().Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, state, strings.Join(t.Scopes, " "),
			t.CreatedAt.Local().Format(time.DateOnly), when(t.ExpiresAt, "never"), when(t.LastUsedAt, "never"))
	}
	return tw.Flush()
}

func tokensRevoke(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("tokens revoke", "NAME [flags]", "Revokes a token at once: every request with it is refused from now on. The token stays\nlisted, and its name is not reused.")
	c.register(fs, useDB)
	a, err := usersArgs(fs, args, "NAME")
	if err != nil {
		return err
	}
	st, trail, db, err := openTokens(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ts, err := st.List(ctx)
	if err != nil {
		return tokenError(err, a[0])
	}
	for _, t := range ts {
		if t.Name == strings.ToLower(strings.TrimSpace(a[0])) && t.RevokedAt != nil {
			fmt.Fprintf(stdout, "token %s was already revoked on %s\n", t.Name, t.RevokedAt.Local().Format("2006-01-02 15:04"))
			return nil
		}
	}
	t, err := st.Revoke(ctx, a[0], func(ctx context.Context, tx pgx.Tx, t tokens.Token) error {
		_, err := trail.RecordTx(ctx, tx, audit.Entry{Actor: cliActor(), Action: audit.ActionTokenRevoke, Resource: "token/" + t.Name,
			Outcome: audit.OutcomeOK})
		return err
	})
	if err != nil {
		return tokenError(err, a[0])
	}
	fmt.Fprintf(stdout, "token %s revoked: requests with it are refused from now on\n", t.Name)
	return nil
}
