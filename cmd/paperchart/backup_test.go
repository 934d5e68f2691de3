package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"paperchart/audit"
	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
	"paperchart/tokens"
	"paperchart/users"
)

// allRows returns every row of every table of the database, each table's
// rows as PostgreSQL writes them, in a fixed order.
func allRows(t *testing.T, db *storage.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool().Begin(ctx)
	testenv.Must(t, err, "begin")
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'`)
	testenv.Must(t, err, "time zone")
	rows, err := tx.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
	testenv.Must(t, err, "tables")
	var tables []string
	for rows.Next() {
		var n string
		testenv.Must(t, rows.Scan(&n), "scan")
		tables = append(tables, n)
	}
	out := map[string]string{}
	for _, table := range tables {
		var s string
		testenv.Must(t, tx.QueryRow(ctx, `SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text FROM `+table+` t`).Scan(&s),
			"rows of %s", table)
		out[table] = s
	}
	return out
}

// TestBackupAndRestoreDrill runs deploy/backup.sh as an administrator
// would: dumps of a database holding batches, documents, patients, users,
// tokens and an audit trail, older dumps pruned, then a restore into an
// empty database that must hold every row of every table as it was, an
// intact audit chain, and IDs that continue where they stopped; and the
// script's own drill on the newest dump.
func TestBackupAndRestoreDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds paperchart and runs pg_dump and pg_restore")
	}
	for _, tool := range []string{"pg_dump", "pg_restore", "psql", "bash", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: deploy/setup.sh installs PostgreSQL's client tools", tool)
		}
	}
	ctx := context.Background()
	db, url := migratedDB(t)
	objs := testenv.Objects(t)
	_, err := patients.New(db.Pool(), patients.Options{}).Import(ctx, strings.NewReader(filingtest.Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	f, err := filing.New(db, objs, filing.Config{}, nil)
	testenv.Must(t, err, "filer")
	bid := filingtest.Batch(t, db, objs, "backup-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}, {Sep: true}, {Text: filingtest.Consult}})
	_, err = f.FileBatch(ctx, bid)
	testenv.Must(t, err, "file")
	_, err = users.NewStore(db.Pool()).Add(ctx, "ann", users.Admin, "correct horse battery")
	testenv.Must(t, err, "user")
	_, _, err = tokens.New(db.Pool()).Create(ctx, "ehr", []string{"system/*.read"}, 0)
	testenv.Must(t, err, "token")
	for _, action := range []string{"fhir.read", "review.file"} {
		_, err := audit.New(db.Pool()).Record(ctx, audit.Entry{Actor: "user:ann", Action: action, Outcome: audit.OutcomeOK})
		testenv.Must(t, err, "audit")
	}

	_, err = db.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "manifests")
	dir := t.TempDir()
	bin := filepath.Join(dir, "paperchart")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build paperchart: %v\n%s", err, out)
	}
	oc := testenv.ObjectsConfig(objs.Bucket())
	script := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("bash", append([]string{"../../deploy/backup.sh"}, args...)...)
		cmd.Env = append(os.Environ(), "PAPERCHART_DATABASE_URL="+url, "KEEP=2", "PAPERCHART_BIN="+bin,
			"PAPERCHART_S3_ENDPOINT="+oc.Endpoint, "PAPERCHART_S3_ACCESS_KEY="+oc.AccessKey, "PAPERCHART_S3_SECRET_KEY="+oc.SecretKey,
			"PAPERCHART_S3_BUCKET="+oc.Bucket)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("backup.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	backups := filepath.Join(dir, "backups")
	for range 3 {
		script("dump", backups)
		time.Sleep(1100 * time.Millisecond) // dumps are named to the second
	}
	dumps, _ := filepath.Glob(filepath.Join(backups, "paperchart-*.dump"))
	sums, _ := filepath.Glob(filepath.Join(backups, "paperchart-*.dump.sha256"))
	if len(dumps) != 2 || len(sums) != 2 {
		t.Fatalf("after three dumps with KEEP=2: %q and %q, want two dumps with their checksums", dumps, sums)
	}
	slices.Sort(dumps)
	newest := dumps[1]

	want := allRows(t, db)
	restoredURL := testenv.DBURL(t)
	if out, err := exec.Command("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname="+restoredURL, newest).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	restored, err := storage.OpenDB(ctx, restoredURL)
	testenv.Must(t, err, "open the restored database")
	defer restored.Close()
	got := allRows(t, restored)
	if len(got) != len(want) {
		t.Errorf("restored %d tables, the database has %d", len(got), len(want))
	}
	for table, rows := range want {
		if got[table] != rows {
			t.Errorf("table %s differs after the restore:\n got %.1000s\nwant %.1000s", table, got[table], rows)
		}
	}
	rep, err := audit.New(restored.Pool()).Verify(ctx)
	testenv.Must(t, err, "verify")
	if !rep.Intact || rep.Entries < 2 {
		t.Errorf("restored audit chain: %+v", rep)
	}
	b, _, err := restored.RecordBatch(ctx, storage.NewBatch{Source: "x", Name: "after.pdf", IngestKey: "after", SHA256: "after", OriginalKey: storage.OriginalKey("after")})
	testenv.Must(t, err, "record after the restore")
	if b.ID <= bid {
		t.Errorf("batch recorded after the restore got ID %d, not after %d", b.ID, bid)
	}

	// The bucket holds nothing newer than the dump: rebuild --update
	// leaves every row as restored.
	var rb strings.Builder
	before := allRows(t, restored)
	testenv.Must(t, runRebuild(ctx, []string{"--update", "--database-url=" + restoredURL, "--s3-endpoint=" + oc.Endpoint,
		"--s3-access-key=" + oc.AccessKey, "--s3-secret-key=" + oc.SecretKey, "--s3-bucket=" + oc.Bucket}, &rb), "rebuild --update")
	if !strings.Contains(rb.String(), "brought up to date from 1 manifests") {
		t.Errorf("rebuild --update said %q", rb.String())
	}
	after := allRows(t, restored)
	for table, rows := range before {
		if table != "audit_log" && table != "audit_chain" && table != "manifest_changes" && after[table] != rows {
			t.Errorf("table %s changed by rebuild --update with nothing newer in the bucket:\n got %.1000s\nwant %.1000s", table, after[table], rows)
		}
	}

	out := script("drill", newest)
	for _, w := range []string{"audit chain intact", "1 batches, 2 documents, 7 patients, 1 users, 1 tokens", "drill passed"} {
		if !strings.Contains(out, w) {
			t.Errorf("drill said %q, want %q in it", out, w)
		}
	}
	// A dump that does not match its checksum is refused.
	data, _ := os.ReadFile(newest)
	data[len(data)/2] ^= 0xff
	testenv.Must(t, os.WriteFile(newest, data, 0o600), "corrupt")
	cmd := exec.Command("bash", "../../deploy/backup.sh", "drill", newest)
	cmd.Env = append(os.Environ(), "PAPERCHART_DATABASE_URL="+url, "PAPERCHART_BIN="+bin)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "does not match its .sha256") {
		t.Errorf("drill of a corrupted dump: %v\n%s", err, out)
	}
}
