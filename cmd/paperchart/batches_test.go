package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"

	"paperchart/internal/testenv"
	"paperchart/storage"
)

func TestReorder(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Bool("json", false, "")
	fs.String("database-url", "", "")
	tests := []struct{ in, want string }{
		{"12 --json", "--json 12"},
		{"--json 12", "--json 12"},
		{"12 --database-url postgres://x --json", "--database-url postgres://x --json 12"},
		{"--database-url=postgres://x 12", "--database-url=postgres://x 12"},
	}
	for _, tc := range tests {
		if got := strings.Join(reorder(fs, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("reorder(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// migratedDB is a test's own migrated database and its URL, for the
// commands' --database-url.
func migratedDB(t *testing.T) (*storage.DB, string) {
	url := testenv.DBURL(t)
	db, err := storage.OpenDB(context.Background(), url)
	testenv.Must(t, err, "open")
	t.Cleanup(db.Close)
	_, err = db.Migrate(context.Background())
	testenv.Must(t, err, "migrate")
	return db, url
}

func TestBatchesCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	b, _, err := db.RecordBatch(ctx, storage.NewBatch{Source: "ward3", Name: "scan.pdf", IngestKey: "k", SHA256: "s", Size: 9})
	testenv.Must(t, err, "record")
	_, err = db.Reject(ctx, b.ID, "empty", "The file is empty (0 bytes); scan the paper again.")
	testenv.Must(t, err, "reject")

	dbFlag := "--database-url=" + url
	runCommandCases(t, runBatches, []commandCase{
		{"list", []string{dbFlag}, "", []string{"scan.pdf", "rejected", "The file is empty"}, nil},
		{"list json", []string{"list", dbFlag, "--json"}, "", []string{`"state": "rejected"`, `"reason_code": "empty"`}, nil},
		{"list by state", []string{dbFlag, "--state", "done"}, "", []string{"no batches yet"}, nil},
		{"show", []string{"show", fmt.Sprint(b.ID), dbFlag}, "", []string{"Batch 1: rejected", "why       The file is empty", "History:", "rejected"}, nil},
		{"show json", []string{"show", dbFlag, fmt.Sprint(b.ID), "--json"}, "", []string{`"events"`}, nil},
		{"show missing", []string{"show", "99", dbFlag}, "not found", nil, nil},
		{"show bad id", []string{"show", "x", dbFlag}, "not a positive whole number", nil, nil},
		{"retry not failed", []string{"retry", fmt.Sprint(b.ID), dbFlag}, "only a failed batch can be retried", nil, nil},
		{"unknown", []string{"frobnicate"}, "unknown subcommand", nil, nil},
	})
}

// commandCase is one run of a command and what its output must show.
type commandCase struct {
	name    string
	args    []string
	wantErr string   // the error must contain this; "" for none
	want    []string // the output must contain each
	not     []string // and none of these
}

// runCommandCases runs a command once per case. Output of a --json run must
// be valid JSON.
func runCommandCases(t *testing.T, run runFunc, cases []commandCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, &out)
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
			for _, w := range tc.not {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(strings.Join(tc.args, " "), "--json") && !json.Valid(out.Bytes()) {
				t.Errorf("--json output is not JSON:\n%s", out.String())
			}
		})
	}
}
