package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/internal/testenv"
	"paperchart/tokens"
)

func TestTokensCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	dbFlag := "--database-url=" + url
	st := tokens.New(db.Pool())
	secretRE := regexp.MustCompile(`pct_[A-Za-z0-9_-]{43}`)

	runCommandCases(t, runTokens, []commandCase{
		{"empty list", []string{dbFlag}, "", []string{"no tokens yet"}, nil},
		{"create without name", []string{"create", "--scope", "system/*.read", dbFlag}, "--name", nil, nil},
		{"create without scope", []string{"create", "--name", "ehr", dbFlag}, "at least one --scope", nil, nil},
		{"create with a bad scope", []string{"create", "--name", "ehr", "--scope", "system/Patient.write", dbFlag}, "grants only", nil, nil},
		{"create with a bad name", []string{"create", "--name", "ehr prod", "--scope", "system/*.read", dbFlag}, "1 to 64 letters", nil, nil},
		{"create with a bad expiry", []string{"create", "--name", "ehr", "--scope", "system/*.read", "--expires", "soon", dbFlag}, "90d", nil, nil},
		{"create with a negative expiry", []string{"create", "--name", "ehr", "--scope", "system/*.read", "--expires", "-5d", dbFlag}, "90d", nil, nil},
		{"create never expiring", []string{"create", "--name", "lab", "--scope", "system/Patient.read", "--expires", "never", dbFlag}, "",
			[]string{"Token lab created: system/Patient.read; never expires.", "pct_"}, nil},
	})

	// The secret is printed once, in plain words, and works.
	var out bytes.Buffer
	testenv.Must(t, runTokens(ctx, []string{"create", "--name", "EHR-Prod", "--scope", "system/DocumentReference.read",
		"--scope", "system/Binary.read", dbFlag}, &out), "create")
	secret := secretRE.FindString(out.String())
	if secret == "" || !strings.Contains(out.String(), "only time the secret is shown") || !strings.Contains(out.String(), "cannot show\nit again") ||
		!strings.Contains(out.String(), "expires 20") || !strings.Contains(out.String(), "paperchart tokens revoke ehr-prod") {
		t.Fatalf("create output:\n%s", out.String())
	}
	tok, err := st.Authenticate(ctx, secret)
	testenv.Must(t, err, "authenticate with the printed secret")
	if tok.Name != "ehr-prod" || !tok.Allows("DocumentReference") || !tok.Allows("Binary") || tok.Allows("Patient") ||
		tok.ExpiresAt == nil || tok.ExpiresAt.Sub(tok.CreatedAt).Hours() != 90*24 {
		t.Errorf("token %+v", tok)
	}

	out.Reset()
	testenv.Must(t, runTokens(ctx, []string{"create", "--json", "--name", "pacs", "--scope", "system/*.read", "--expires", "12h", dbFlag}, &out), "create --json")
	var created struct {
		Token  tokens.Token `json:"token"`
		Secret string       `json:"secret"`
	}
	testenv.Must(t, json.Unmarshal(out.Bytes(), &created), "create --json output")
	if _, err := st.Authenticate(ctx, created.Secret); err != nil || created.Token.Name != "pacs" ||
		created.Token.ExpiresAt.Sub(created.Token.CreatedAt).Hours() != 12 {
		t.Errorf("create --json: %+v, %v", created, err)
	}

	runCommandCases(t, runTokens, []commandCase{
		{"create a name taken", []string{"create", "--name", "ehr-prod", "--scope", "system/*.read", dbFlag}, "exists already", nil, nil},
		{"list", []string{"list", dbFlag}, "", []string{"NAME", "ehr-prod", "active", "system/DocumentReference.read system/Binary.read", "lab", "never", "pacs", "system/*.read"},
			[]string{"pct_"}},
		{"list json", []string{"--json", dbFlag}, "", []string{`"name": "ehr-prod"`, `"scopes"`}, []string{"pct_", "sha256", "secret"}},
		{"revoke", []string{"revoke", "EHR-Prod", dbFlag}, "", []string{"token ehr-prod revoked"}, nil},
		{"revoke again", []string{"revoke", "ehr-prod", dbFlag}, "", []string{"token ehr-prod was already revoked on"}, nil},
		{"revoke nobody", []string{"revoke", "nobody", dbFlag}, "tokens list", nil, nil},
		{"revoke without a name", []string{"revoke", dbFlag}, "give NAME", nil, nil},
		{"list after revoke", []string{dbFlag}, "", []string{"revoked 20"}, nil},
		{"unknown", []string{"frobnicate"}, "unknown subcommand", nil, nil},
	})
	if _, err := st.Authenticate(ctx, secret); !errors.Is(err, tokens.ErrInvalid) {
		t.Errorf("a revoked token's secret: %v", err)
	}

	// Creating and revoking are in the audit trail, without the secrets.
	es, err := audit.New(db.Pool()).List(ctx, audit.Filter{})
	testenv.Must(t, err, "audit list")
	var got []string
	for _, e := range es {
		got = append(got, e.Action+" "+e.Resource)
		if !strings.HasPrefix(e.Actor, "cli") || secretRE.MatchString(e.Detail) {
			t.Errorf("audit entry %+v", e)
		}
	}
	if strings.Join(got, ", ") != "token.revoke token/ehr-prod, token.create token/pacs, token.create token/ehr-prod, token.create token/lab" {
		t.Errorf("audit trail: %v", got)
	}
	rep, err := audit.New(db.Pool()).Verify(ctx)
	if err != nil || !rep.Intact {
		t.Errorf("audit chain after the commands: %+v, %v", rep, err)
	}
}

func TestTokenExpiry(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"90d", "2160h0m0s"}, {"1d", "24h0m0s"}, {"12h", "12h0m0s"}, {"30m", "30m0s"}, {"never", "0s"}, {" Never ", "0s"},
		{"0d", ""}, {"-1d", ""}, {"0", ""}, {"-2h", ""}, {"soon", ""}, {"", ""}, {"99999999d", ""},
	} {
		d, err := tokenExpiry(tc.in)
		if (tc.want == "") != (err != nil) || (err == nil && d.String() != tc.want) {
			t.Errorf("tokenExpiry(%q) = %v, %v; want %q", tc.in, d, err, tc.want)
		}
	}
}
