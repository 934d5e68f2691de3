package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"paperchart/audit"
	"paperchart/internal/testenv"
)

func TestAuditCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	dbFlag := "--database-url=" + url
	bucketFlag := "--s3-bucket=" + testenv.Objects(t).Bucket()
	pool := db.Pool()
	exec := func(sql string, args ...any) int64 {
		t.Helper()
		var id int64
		testenv.Must(t, pool.QueryRow(ctx, sql, args...).Scan(&id), "%s", sql)
		return id
	}
	// Patient A (MRN 00123456) with an old record 00999999 merged into it
	// and a filed document; patient B.
	a := exec(`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', '00123456') RETURNING id`)
	old := exec(`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', '00999999') RETURNING id`)
	b := exec(`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', '00555555') RETURNING id`)
	exec(`UPDATE patients SET active = false, merged_into = $1 WHERE id = $2 RETURNING id`, a, old)
	batch := exec(`INSERT INTO batches (source, name, ingest_key, sha256, size, state) VALUES ('s', 'n', 'k', 'h', 1, 'done') RETURNING id`)
	doc := exec(`INSERT INTO documents (batch_id, seq, state, pages, object_key, patient_id, type, filed_at, separated_by,
		split_confidence, split_review, type_confidence, type_review, patient_confidence, patient_review)
		VALUES ($1, 1, 'filed', '{1}', 'k', $2, 'note', now(), 'content', 1, false, 1, false, 1, false) RETURNING id`, batch, a)

	log := audit.New(pool)
	rec := func(e audit.Entry) {
		t.Helper()
		_, err := log.Record(ctx, e)
		testenv.Must(t, err, "record")
	}
	rec(audit.Entry{Actor: "token:ehr-prod", Action: audit.ActionFHIRRead, Resource: fmt.Sprintf("Patient/%d", a), PatientID: &a, Remote: "10.1.1.1", Outcome: audit.OutcomeOK})
	rec(audit.Entry{Actor: "user:ann", Action: audit.ActionDocumentView, Resource: fmt.Sprintf("DocumentReference/%d", doc), DocumentID: &doc, Outcome: audit.OutcomeOK})
	rec(audit.Entry{Actor: "token:ehr-prod", Action: audit.ActionBinaryDownload, Resource: fmt.Sprintf("Binary/%d", doc), PatientID: &a, DocumentID: &doc, Outcome: audit.OutcomeOK})
	rec(audit.Entry{Actor: "user:bob", Action: audit.ActionFHIRRead, PatientID: &old, Outcome: audit.OutcomeDenied, Detail: "scope missing"})
	rec(audit.Entry{Actor: "token:lab", Action: audit.ActionFHIRSearch, Resource: "Patient", PatientID: &b, Outcome: audit.OutcomeOK})

	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	runCommandCases(t, runAudit, []commandCase{
		{"verify", []string{"verify", dbFlag, bucketFlag}, "", []string{"audit chain intact: 5 entries", "last hash ", "no anchors in bucket"}, nil},
		{"verify json", []string{"verify", "--json", dbFlag, bucketFlag}, "", []string{`"intact": true`, `"entries": 5`, `"anchors": 0`}, nil},
		{"verify the chain alone", []string{"verify", "--anchors=false", dbFlag}, "", []string{"audit chain intact: 5 entries", "anchors not checked"}, nil},
		{"list everything", []string{dbFlag}, "", []string{"ID", "ACTOR", "token:ehr-prod", "user:ann", "token:lab", "binary.download", "10.1.1.1", "scope missing"}, nil},
		{"by MRN", []string{"list", "--patient", "00123456", dbFlag}, "",
			[]string{fmt.Sprintf("Accesses to patient %d (MRN|00123456)", a), "token:ehr-prod", "user:ann", "user:bob", "binary.download"}, []string{"token:lab"}},
		{"by MRN with authority", []string{"list", "--patient", "MRN|00123456", dbFlag}, "", []string{"user:ann"}, []string{"token:lab"}},
		{"by a merged MRN", []string{"list", "--patient", "00999999", dbFlag}, "",
			[]string{fmt.Sprintf("was merged into patient %d (MRN|00123456)", a), "user:ann", "user:bob"}, []string{"token:lab"}},
		{"by patient ID", []string{"list", "--patient-id", fmt.Sprint(b), dbFlag}, "", []string{"token:lab"}, []string{"user:ann"}},
		{"by a patient ID not in the index", []string{"list", "--patient-id", "4242", dbFlag}, "", []string{"no audit entries match"}, nil},
		{"by document", []string{"list", "--document", fmt.Sprint(doc), dbFlag}, "", []string{"user:ann", "binary.download"}, []string{"user:bob", "token:lab"}},
		{"by actor", []string{"list", "--actor", "user:bob", dbFlag}, "", []string{"user:bob", "denied"}, []string{"user:ann"}},
		{"since today", []string{"list", "--since", time.Now().Format(time.DateOnly), dbFlag}, "", []string{"token:lab"}, nil},
		{"since tomorrow", []string{"list", "--since", tomorrow, dbFlag}, "", []string{"no audit entries match"}, nil},
		{"since an RFC 3339 time", []string{"list", "--since", "2020-01-01T00:00:00Z", dbFlag}, "", []string{"token:lab"}, nil},
		{"limit", []string{"list", "--limit", "2", dbFlag}, "", []string{"token:lab", "the newest 2"}, []string{"user:ann"}},
		{"json", []string{"list", "--patient", "00123456", "--json", dbFlag}, "", []string{`"actor": "user:ann"`, `"hash"`}, []string{"Accesses"}},
		{"json, none", []string{"list", "--since", tomorrow, "--json", dbFlag}, "", []string{"[]"}, nil},
		{"unknown MRN", []string{"list", "--patient", "404", dbFlag}, "no patient with MRN 404", nil, nil},
		{"both patient flags", []string{"list", "--patient", "1", "--patient-id", "1", dbFlag}, "not both", nil, nil},
		{"bad since", []string{"list", "--since", "yesterday", dbFlag}, "YYYY-MM-DD", nil, nil},
		{"bad limit", []string{"list", "--limit", "0", dbFlag}, "--limit", nil, nil},
		{"stray argument", []string{"list", "00123456", dbFlag}, "flags only", nil, nil},
		{"unknown", []string{"frobnicate"}, "unknown subcommand", nil, nil},
	})

	// As the tables' owner, change an entry: verify fails, names it, and
	// the command exits non-zero.
	_, err := pool.Exec(ctx, `UPDATE audit_log SET actor = 'user:mallory' WHERE id = 3`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("UPDATE of an entry: %v, want refused", err)
	}
	for _, s := range []string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`UPDATE audit_log SET actor = 'user:mallory' WHERE id = 3`, `ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`} {
		_, err := pool.Exec(ctx, s)
		testenv.Must(t, err, "%s", s)
	}
	for _, args := range [][]string{{"verify", dbFlag, bucketFlag}, {"verify", "--json", dbFlag, bucketFlag}} {
		var out bytes.Buffer
		err := runAudit(ctx, args, &out)
		if err == nil || err.Error() != "audit chain broken at entry 3" {
			t.Errorf("%v: error %v, want the chain broken at entry 3", args, err)
		}
		if args[1] == "--json" {
			var rep audit.VerifyReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Intact || rep.BrokenID != 3 || rep.Entries != 2 {
				t.Errorf("verify --json: %+v, %v\n%s", rep, err, out.String())
			}
		} else if !strings.Contains(out.String(), "audit chain BROKEN at entry 3: entry 3 does not match its hash") ||
			!strings.Contains(out.String(), "entries before it: 2, intact") {
			t.Errorf("verify output:\n%s", out.String())
		}
	}
}

func TestAuditCommandWithoutMigration(t *testing.T) {
	url := testenv.DBURL(t)
	for _, sub := range []string{"verify", "list"} {
		err := runAudit(context.Background(), []string{sub, "--database-url=" + url}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "paperchart migrate") {
			t.Errorf("%s on an empty database: %v", sub, err)
		}
	}
}

// TestAuditAnchorCommand anchors a chain, rewrites it from an early entry
// on with every hash recomputed (a chain that verifies on its own), and
// checks that verify fails naming the anchor.
func TestAuditAnchorCommand(t *testing.T) {
	ctx := context.Background()
	db, url := migratedDB(t)
	pool := db.Pool()
	flags := []string{"--database-url=" + url, "--s3-bucket=" + testenv.Objects(t).Bucket(), "--audit-anchor-mode=governance", "--audit-anchor-days=1"}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runAudit(ctx, append(args, flags...), &out)
		return out.String(), err
	}
	if out, err := run("anchor"); err != nil || !strings.Contains(out, "the audit trail is empty") {
		t.Fatalf("anchor an empty trail: %v\n%s", err, out)
	}
	log := audit.New(pool)
	for i := range 6 {
		_, err := log.Record(ctx, audit.Entry{Actor: "user:ann", Action: audit.ActionDocumentView, Resource: fmt.Sprintf("DocumentReference/%d", i), Outcome: audit.OutcomeOK})
		testenv.Must(t, err, "record")
	}
	anchored, err := run("anchor")
	if out := anchored; err != nil || !strings.Contains(out, "anchored entry 6") || !strings.Contains(out, "under governance object lock until") {
		t.Fatalf("anchor: %v\n%s", err, anchored)
	}
	if out, err := run("anchor"); err != nil || !strings.Contains(out, "entry 6 is already anchored") {
		t.Fatalf("anchor again: %v\n%s", err, out)
	}
	out, err := run("verify")
	if err != nil || !strings.Contains(out, "anchors: 1, every one matches the chain") ||
		!strings.Contains(out, "latest anchor: entry 6, written ") || !strings.Contains(out, "under governance object lock") {
		t.Fatalf("verify untampered: %v\n%s", err, out)
	}

	// Rewrite entry 2 and recompute the chain after it, as the tables'
	// owner can with the append-only triggers off (ALTER TABLE is
	// transactional: they are on again after the commit).
	rows, err := pool.Query(ctx, `SELECT id, at, actor, action, resource, patient_id, document_id, remote, outcome, detail, prev_hash, hash FROM audit_log ORDER BY id`)
	testenv.Must(t, err, "read")
	es, err := pgx.CollectRows(rows, pgx.RowToStructByPos[audit.Entry])
	testenv.Must(t, err, "read")
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, off := range []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `ALTER TABLE audit_chain DISABLE TRIGGER USER`} {
			if _, err := tx.Exec(ctx, off); err != nil {
				return err
			}
		}
		prev := audit.Genesis
		for _, e := range es {
			if e.ID == 2 {
				e.Resource = "DocumentReference/999"
			}
			e.PrevHash = prev
			e.Hash = audit.Hash(e)
			prev = e.Hash
			if _, err := tx.Exec(ctx, `UPDATE audit_log SET resource = $1, prev_hash = $2, hash = $3 WHERE id = $4`, e.Resource, e.PrevHash, e.Hash, e.ID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_chain SET last_hash = $1`, prev); err != nil {
			return err
		}
		for _, on := range []string{`ALTER TABLE audit_log ENABLE TRIGGER USER`, `ALTER TABLE audit_chain ENABLE TRIGGER USER`} {
			if _, err := tx.Exec(ctx, on); err != nil {
				return err
			}
		}
		return nil
	})
	testenv.Must(t, err, "rewrite the chain")
	if out, err := run("verify", "--anchors=false"); err != nil || !strings.Contains(out, "audit chain intact: 6 entries") {
		t.Fatalf("the rewritten chain does not verify on its own: %v\n%s", err, out)
	}
	key := strings.TrimSuffix(strings.Fields(strings.SplitN(anchored, " as ", 2)[1])[0], ",")
	out, err = run("verify")
	if err == nil || !strings.Contains(err.Error(), "does not match its anchors") || !strings.Contains(err.Error(), key) {
		t.Errorf("verify of the rewritten chain: error %v, want the anchor %s named", err, key)
	}
	if !strings.Contains(out, "the chain does NOT match them") || !strings.Contains(out, "anchor "+key) ||
		!strings.Contains(out, "entry 6 has hash") || !strings.Contains(out, "Do not repair") {
		t.Errorf("verify output:\n%s", out)
	}
	out, _ = run("verify", "--json")
	var rep verifyOutput
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.Intact || rep.Anchors == nil || rep.Anchors.Intact || len(rep.Anchors.Problems) != 1 {
		t.Errorf("verify --json: %+v, %v\n%s", rep, err, out)
	}
}

// TestServeAnchors runs serve (which `all` runs too) with a short
// --audit-anchor-every and checks that its anchorer writes the chain head
// to the object store at start and again after new entries, and stops with
// serve.
func TestServeAnchors(t *testing.T) {
	ctx := context.Background()
	fx := newWebFixture(t)
	trail := audit.New(fx.su.DB.Pool())
	record := func(i int) int64 {
		e, err := trail.Record(ctx, audit.Entry{Actor: "user:ann", Action: audit.ActionDocumentView,
			Resource: fmt.Sprintf("DocumentReference/%d", i), Outcome: audit.OutcomeOK})
		testenv.Must(t, err, "record")
		return e.ID
	}
	first := record(1)

	var c config
	var a anchorConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.register(fs, useDB|useRedis|useS3|useHTTP|useFiling)
	a.register(fs, true)
	testenv.Must(t, fs.Parse([]string{"--s3-bucket=" + fx.su.Objects.Bucket(), "--http-addr=127.0.0.1:0",
		"--audit-anchor-every=200ms", "--audit-anchor-mode=governance", "--audit-anchor-days=1"}), "flags")
	store, err := a.open(ctx, &c)
	testenv.Must(t, err, "open anchors")
	if rep, err := trail.VerifyAnchors(ctx, store); err != nil || rep.Anchors != 0 {
		t.Fatalf("anchors before serve: %+v, %v", rep, err)
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(sctx, &c, a, fx.services, fx.log) }()
	anchoredAt := func(entry int64) {
		t.Helper()
		var rep audit.AnchorReport
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			rep, err = trail.VerifyAnchors(ctx, store)
			testenv.Must(t, err, "verify anchors")
			if rep.Latest != nil && rep.Latest.EntryID == entry {
				if !rep.Intact {
					t.Errorf("anchors do not match the chain: %+v", rep)
				}
				return
			}
		}
		t.Fatalf("serve wrote no anchor of entry %d within 15 s: %+v", entry, rep)
	}
	anchoredAt(first)
	anchoredAt(record(2)) // the next tick anchors the new head
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of its context's end")
	}
}
