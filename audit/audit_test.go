package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"paperchart/internal/testenv"
)

// newLog is a log on a migrated database of the test's own.
func newLog(t *testing.T) (*Log, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.DB(t).Pool()
	return New(pool), pool
}

func id(n int64) *int64 { return &n }

// entry is the i-th of a varied set of entries.
func entry(i int) Entry {
	actors := []string{"user:ann", "token:ehr-prod", System, "user:bob"}
	actions := []string{ActionFHIRRead, ActionFHIRSearch, ActionBinaryDownload, ActionReviewFile, ActionSignInFail}
	outcomes := []string{OutcomeOK, OutcomeOK, OutcomeDenied, OutcomeNotFound, OutcomeError}
	e := Entry{
		Actor: actors[i%len(actors)], Action: actions[i%len(actions)], Outcome: outcomes[i%len(outcomes)],
		Resource: fmt.Sprintf("DocumentReference/%d", i), Remote: "10.0.0.7:51234",
	}
	if i%3 != 0 {
		e.PatientID = id(int64(i % 7))
	}
	if i%2 == 0 {
		e.DocumentID = id(int64(i))
	}
	if i%5 == 0 {
		e.Detail = fmt.Sprintf("search params: patient,type (%d results)", i)
	}
	return e
}

func mustVerify(t *testing.T, l *Log) VerifyReport {
	t.Helper()
	rep, err := l.Verify(context.Background())
	testenv.Must(t, err, "verify")
	return rep
}

func TestHash(t *testing.T) {
	base := Entry{ID: 3, At: time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC), Actor: "user:ann", Action: "fhir.read",
		Resource: "Patient/7", PatientID: id(7), DocumentID: id(12), Remote: "10.0.0.1", Outcome: "ok", Detail: "d", PrevHash: Genesis}
	h := Hash(base)
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("Hash = %q, not 64 hex digits", h)
	}
	if Hash(base) != h {
		t.Fatal("Hash is not deterministic")
	}
	// The same instant in another time zone, and the stored hash itself, do
	// not change it.
	same := base
	same.At = base.At.In(time.FixedZone("X", 5*3600))
	same.Hash = "whatever"
	if Hash(same) != h {
		t.Error("Hash depends on the time zone or on the Hash field")
	}
	for _, tc := range []struct {
		name   string
		change func(*Entry)
	}{
		{"id", func(e *Entry) { e.ID = 4 }},
		{"at, one microsecond", func(e *Entry) { e.At = e.At.Add(time.Microsecond) }},
		{"actor", func(e *Entry) { e.Actor = "user:bob" }},
		{"action", func(e *Entry) { e.Action = "fhir.search" }},
		{"resource", func(e *Entry) { e.Resource = "Patient/8" }},
		{"patient", func(e *Entry) { e.PatientID = id(8) }},
		{"no patient", func(e *Entry) { e.PatientID = nil }},
		{"patient 0 is not none", func(e *Entry) { e.PatientID = id(0) }},
		{"document", func(e *Entry) { e.DocumentID = id(13) }},
		{"patient and document swapped", func(e *Entry) { e.PatientID, e.DocumentID = id(12), id(7) }},
		{"remote", func(e *Entry) { e.Remote = "10.0.0.2" }},
		{"outcome", func(e *Entry) { e.Outcome = "denied" }},
		{"detail", func(e *Entry) { e.Detail = "" }},
		{"prev hash", func(e *Entry) { e.PrevHash = strings.Repeat("1", 64) }},
		// Moving bytes from one field to the next must not give the same encoding.
		{"actor/action boundary", func(e *Entry) { e.Actor, e.Action = "user:annf", "hir.read" }},
		{"remote/outcome boundary", func(e *Entry) { e.Remote, e.Outcome = "10.0.0.1o", "k" }},
		{"resource into detail", func(e *Entry) { e.Resource, e.Detail = "Patient/", "7d" }},
	} {
		e := base
		tc.change(&e)
		if Hash(e) == h {
			t.Errorf("%s: the hash did not change", tc.name)
		}
	}
}

func TestRecordChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLog(t)

	if rep := mustVerify(t, l); !rep.Intact || rep.Entries != 0 || rep.Head != Genesis {
		t.Fatalf("empty log: %+v", rep)
	}
	const n = 300
	var last Entry
	start := time.Now()
	for i := range n {
		e, err := l.Record(ctx, entry(i))
		testenv.Must(t, err, "record %d", i)
		want := Genesis
		if i > 0 {
			want = last.Hash
		}
		if e.ID != int64(i+1) || e.PrevHash != want || e.Hash != Hash(e) || e.At.IsZero() || e.At.Location() != time.UTC {
			t.Fatalf("entry %d: %+v", i, e)
		}
		if i > 0 && e.At.Before(last.At) {
			t.Errorf("entry %d at %v, before entry %d at %v", e.ID, e.At, last.ID, last.At)
		}
		last = e
	}
	per := time.Since(start) / n
	t.Logf("Record: %v per entry, one at a time", per)
	if per > 50*time.Millisecond {
		t.Errorf("Record takes %v per entry; it should take a few ms", per)
	}
	start = time.Now()
	rep := mustVerify(t, l)
	t.Logf("Verify: %d entries in %v", rep.Entries, time.Since(start))
	if !rep.Intact || rep.Entries != n || rep.BrokenID != 0 || rep.Problem != "" || rep.Head != last.Hash {
		t.Errorf("report %+v, want intact, %d entries, head %s", rep, n, last.Hash)
	}

	// What List returns is what Record returned.
	got, err := l.List(ctx, Filter{Limit: 1})
	testenv.Must(t, err, "list")
	if len(got) != 1 || got[0].ID != last.ID || !got[0].At.Equal(last.At) || Hash(got[0]) != last.Hash {
		t.Errorf("stored %+v, recorded %+v", got, last)
	}
}

func TestRecordConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, pool := newLog(t)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := entry(i)
				e.Actor = UserActor(fmt.Sprintf("writer%d", w))
				if _, err := l.Record(ctx, e); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("Record: %d entries from %d goroutines in %v", writers*each, writers, time.Since(start))
	rep := mustVerify(t, l)
	if !rep.Intact || rep.Entries != writers*each {
		t.Errorf("report %+v, want intact with %d entries", rep, writers*each)
	}
	var n, maxID int64
	testenv.Must(t, pool.QueryRow(ctx, `SELECT count(DISTINCT id), max(id) FROM audit_log`).Scan(&n, &maxID), "count")
	if n != writers*each || maxID != writers*each {
		t.Errorf("%d distinct IDs, largest %d; want 1 to %d", n, maxID, writers*each)
	}
}

func TestRecordInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLog(t)
	ok := Entry{Actor: "user:ann", Action: ActionFHIRRead, Outcome: OutcomeOK}
	for _, tc := range []struct {
		name   string
		change func(*Entry)
		want   string
	}{
		{"no actor", func(e *Entry) { e.Actor = "  " }, "no actor"},
		{"no action", func(e *Entry) { e.Action = "" }, "action"},
		{"upper-case action", func(e *Entry) { e.Action = "FHIR.read" }, "action"},
		{"action with space", func(e *Entry) { e.Action = "fhir read" }, "action"},
		{"no outcome", func(e *Entry) { e.Outcome = "" }, "outcome"},
		{"unknown outcome", func(e *Entry) { e.Outcome = "success" }, "outcome"},
	} {
		e := ok
		tc.change(&e)
		_, err := l.Record(ctx, e)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid about %s", tc.name, err, tc.want)
		}
	}

	// Text PostgreSQL cannot store is cleaned, and long text cut, before
	// hashing: the entry is recorded and the chain verifies.
	odd := ok
	odd.Actor = "user:ann\x00"
	odd.Remote = "10.0.0.1\xff"
	odd.Detail = strings.Repeat("é", 1500)
	e, err := l.Record(ctx, odd)
	testenv.Must(t, err, "record odd text")
	if e.Actor != "user:ann" || e.Remote != "10.0.0.1\uFFFD" || len([]rune(e.Detail)) != maxDetail {
		t.Errorf("cleaned entry: actor %q remote %q detail %d characters", e.Actor, e.Remote, len([]rune(e.Detail)))
	}
	// The entry's own ID, time and hashes are not taken from the caller.
	forged := ok
	forged.ID, forged.At, forged.PrevHash, forged.Hash = 99, time.Unix(0, 0), strings.Repeat("a", 64), strings.Repeat("b", 64)
	e, err = l.Record(ctx, forged)
	testenv.Must(t, err, "record")
	if e.ID != 2 || e.At.Year() < 2020 || e.PrevHash == forged.PrevHash || e.Hash != Hash(e) {
		t.Errorf("Record took the caller's ID, time or hashes: %+v", e)
	}
	if rep := mustVerify(t, l); !rep.Intact || rep.Entries != 2 {
		t.Errorf("report %+v", rep)
	}
}

// TestRecordTx records entries inside a change's transaction: a rolled back
// change leaves no entry (and no gap in the chain), a committed one its
// entry, chained with those Record writes.
func TestRecordTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, pool := newLog(t)
	_, err := l.Record(ctx, entry(1))
	testenv.Must(t, err, "record")
	errChange := errors.New("the change failed")
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := l.RecordTx(ctx, tx, entry(2)); err != nil {
			return err
		}
		return errChange
	})
	if !errors.Is(err, errChange) {
		t.Fatalf("rolled back change: %v", err)
	}
	var recorded Entry
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		recorded, err = l.RecordTx(ctx, tx, entry(3))
		return err
	})
	testenv.Must(t, err, "committed change")
	if recorded.ID != 2 || recorded.Resource != entry(3).Resource {
		t.Errorf("entry of the committed change: %+v, want ID 2 (the rolled back one left no gap)", recorded)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := l.RecordTx(ctx, tx, Entry{Actor: "cli", Action: "Bad Action", Outcome: OutcomeOK})
		return err
	})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid entry in a transaction: %v, want ErrInvalid", err)
	}
	if _, err := l.Record(ctx, entry(4)); err != nil {
		t.Fatalf("record after: %v", err)
	}
	if rep := mustVerify(t, l); !rep.Intact || rep.Entries != 3 {
		t.Errorf("report %+v, want 3 intact entries", rep)
	}
}

func TestAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, pool := newLog(t)
	for i := range 3 {
		_, err := l.Record(ctx, entry(i))
		testenv.Must(t, err, "record")
	}
	for _, tc := range []struct{ name, sql string }{
		{"update a field", `UPDATE audit_log SET detail = 'x' WHERE id = 2`},
		{"update every row", `UPDATE audit_log SET outcome = 'ok'`},
		{"delete a row", `DELETE FROM audit_log WHERE id = 3`},
		{"delete every row", `DELETE FROM audit_log`},
		{"truncate", `TRUNCATE audit_log`},
		{"move the head back", `UPDATE audit_chain SET last_id = 2, last_hash = (SELECT hash FROM audit_log WHERE id = 2)`},
		{"move the head to a made-up entry", `UPDATE audit_chain SET last_id = last_id + 1, last_hash = repeat('a', 64)`},
		{"delete the head", `DELETE FROM audit_chain`},
		{"truncate the head", `TRUNCATE audit_chain`},
		{"a second head", `INSERT INTO audit_chain (one, last_id, last_hash) VALUES (true, 0, repeat('0', 64))`},
	} {
		_, err := pool.Exec(ctx, tc.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "42501" && pe.Code != "23505") {
			t.Errorf("%s: %v, want refused", tc.name, err)
		}
	}
	if rep := mustVerify(t, l); !rep.Intact || rep.Entries != 3 {
		t.Errorf("after refused tampering: %+v", rep)
	}
}

// asOwner runs sql in one transaction with the append-only triggers
// disabled, as the tables' owner can (ALTER TABLE is transactional: the
// triggers are enabled again at the end).
func asOwner(t *testing.T, pool *pgxpool.Pool, sql ...string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		stmts := append([]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `ALTER TABLE audit_chain DISABLE TRIGGER USER`}, sql...)
		stmts = append(stmts, `ALTER TABLE audit_log ENABLE TRIGGER USER`, `ALTER TABLE audit_chain ENABLE TRIGGER USER`)
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	testenv.Must(t, err, "tamper as owner")
}

// rehash recomputes the hashes of entries from..last in Go, as a forger who
// knows the algorithm would, and returns the statements that store them.
func rehash(t *testing.T, l *Log, pool *pgxpool.Pool, from int64, change func(*Entry)) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT `+entryColumns+` FROM audit_log ORDER BY id`)
	testenv.Must(t, err, "read")
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) { return scanEntry(r) })
	testenv.Must(t, err, "read")
	var sql []string
	prev := Genesis
	for _, e := range es {
		if e.ID >= from {
			if e.ID == from {
				change(&e)
			}
			e.PrevHash = prev
			e.Hash = Hash(e)
			sql = append(sql, fmt.Sprintf(`UPDATE audit_log SET actor = '%s', detail = '%s', prev_hash = '%s', hash = '%s' WHERE id = %d`,
				e.Actor, e.Detail, e.PrevHash, e.Hash, e.ID))
		}
		prev = e.Hash
	}
	return append(sql, fmt.Sprintf(`UPDATE audit_chain SET last_hash = '%s'`, prev))
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, pool := newLog(t)
	const n = 10
	for i := range n {
		_, err := l.Record(ctx, entry(i))
		testenv.Must(t, err, "record")
	}
	good := mustVerify(t, l)
	if !good.Intact || good.Entries != n {
		t.Fatalf("before tampering: %+v", good)
	}
	// Every case starts from the same log and puts it back afterwards.
	_, err := pool.Exec(ctx, `CREATE TABLE audit_saved AS SELECT * FROM audit_log`)
	testenv.Must(t, err, "save")
	restore := []string{`DELETE FROM audit_log`, `INSERT INTO audit_log SELECT * FROM audit_saved`,
		fmt.Sprintf(`UPDATE audit_chain SET last_id = %d, last_hash = '%s'`, n, good.Head)}

	for _, tc := range []struct {
		name    string
		sql     []string
		broken  int64  // the entry Verify must name
		problem string // and what it must say
		entries int64  // entries found good before it
	}{
		{"a changed detail", []string{`UPDATE audit_log SET detail = 'nothing to see' WHERE id = 5`}, 5, "does not match its hash", 4},
		{"a changed actor", []string{`UPDATE audit_log SET actor = 'user:mallory' WHERE id = 7`}, 7, "a field was changed", 6},
		{"a changed outcome", []string{`UPDATE audit_log SET outcome = 'ok' WHERE id = 3`}, 3, "does not match its hash", 2},
		{"a patient removed", []string{`UPDATE audit_log SET patient_id = NULL WHERE id = 2`}, 2, "does not match its hash", 1},
		{"a changed time", []string{`UPDATE audit_log SET at = at - interval '1 day' WHERE id = 4`}, 4, "does not match its hash", 3},
		{"the first entry changed", []string{`UPDATE audit_log SET remote = '' WHERE id = 1`}, 1, "does not match its hash", 0},
		{"the last entry changed", []string{`UPDATE audit_log SET resource = 'Patient/1' WHERE id = 10`}, 10, "does not match its hash", 9},
		{"a changed entry given a new hash", []string{`UPDATE audit_log SET detail = 'x', hash = repeat('a', 64) WHERE id = 6`}, 6, "does not match its hash", 5},
		{"an entry deleted", []string{`DELETE FROM audit_log WHERE id = 5`}, 5, "entry 5 is missing", 4},
		{"entries deleted", []string{`DELETE FROM audit_log WHERE id BETWEEN 4 AND 6`}, 4, "entries 4 to 6 are missing", 3},
		{"the first entry deleted", []string{`DELETE FROM audit_log WHERE id = 1`}, 1, "entry 1 is missing", 0},
		{"the last entry deleted", []string{`DELETE FROM audit_log WHERE id = 10`}, 10, "entry 10 is missing", 9},
		{"the last entries deleted", []string{`DELETE FROM audit_log WHERE id > 7`}, 8, "entries 8 to 10 are missing", 7},
		{"every entry deleted", []string{`TRUNCATE audit_log`}, 1, "entries 1 to 10 are missing", 0},
		{"the last entry deleted and the head moved back", []string{`DELETE FROM audit_log WHERE id = 10`,
			`UPDATE audit_chain SET last_id = 9`}, 9, "is not the one the chain head holds", 9},
		{"an entry deleted and the next renumbered", []string{`DELETE FROM audit_log WHERE id = 5`,
			`UPDATE audit_log SET id = id - 1 WHERE id > 5`, `UPDATE audit_chain SET last_id = 9`}, 5, "does not follow entry 4", 4},
		{"two entries swapped", []string{`UPDATE audit_log SET id = id + 1000 WHERE id IN (3, 4)`,
			`UPDATE audit_log SET id = CASE id WHEN 1003 THEN 4 ELSE 3 END WHERE id > 1000`}, 3, "reordered", 2},
		{"an entry rewritten with its hash recomputed", rehash(t, l, pool, 6, func(e *Entry) { e.Actor = "user:mallory" })[:1],
			7, "does not follow entry 6", 6},
		{"an entry appended behind the head's back", []string{fmt.Sprintf(
			`INSERT INTO audit_log SELECT 11, at, actor, action, resource, patient_id, document_id, remote, outcome, detail, '%s', hash FROM audit_log WHERE id = 10`,
			good.Head)}, 11, "past the chain head", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asOwner(t, pool, tc.sql...)
			rep := mustVerify(t, l)
			if rep.Intact || rep.BrokenID != tc.broken || !strings.Contains(rep.Problem, tc.problem) || rep.Entries != tc.entries {
				t.Errorf("report %+v, want entry %d broken (%q) after %d good", rep, tc.broken, tc.problem, tc.entries)
			}
			asOwner(t, pool, restore...)
			if rep := mustVerify(t, l); !rep.Intact || rep.Entries != n || rep.Head != good.Head {
				t.Fatalf("after restoring: %+v", rep)
			}
		})
	}

	// A forger who rewrites every entry from the changed one on, and the
	// head, makes a chain that verifies; only the head hash kept elsewhere
	// shows it.
	t.Run("the whole tail rewritten", func(t *testing.T) {
		asOwner(t, pool, rehash(t, l, pool, 6, func(e *Entry) { e.Detail = "rewritten" })...)
		rep := mustVerify(t, l)
		if !rep.Intact || rep.Head == good.Head {
			t.Errorf("report %+v: want a chain that verifies with another head than %s", rep, good.Head)
		}
		asOwner(t, pool, restore...)
	})

	// New entries continue the restored chain.
	_, err = l.Record(ctx, entry(11))
	testenv.Must(t, err, "record after restoring")
	if rep := mustVerify(t, l); !rep.Intact || rep.Entries != n+1 {
		t.Errorf("after a new entry: %+v", rep)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, pool := newLog(t)
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }

	exec := func(sql string, args ...any) int64 {
		t.Helper()
		var id int64
		testenv.Must(t, pool.QueryRow(ctx, sql, args...).Scan(&id), "%s", sql)
		return id
	}
	// Patient A, patient R merged into A, patient B; document 1 filed to A,
	// document 2 to B.
	a := exec(`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', '001') RETURNING id`)
	r := exec(`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', '002') RETURNING id`)
	b := exec(`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', '003') RETURNING id`)
	exec(`UPDATE patients SET active = false, merged_into = $1 WHERE id = $2 RETURNING id`, a, r)
	batch := exec(`INSERT INTO batches (source, name, ingest_key, sha256, size, state) VALUES ('s', 'n', 'k', 'h', 1, 'done') RETURNING id`)
	doc := func(seq int, patient int64) int64 {
		return exec(`INSERT INTO documents (batch_id, seq, state, pages, object_key, patient_id, type, filed_at, separated_by,
			split_confidence, split_review, type_confidence, type_review, patient_confidence, patient_review)
			VALUES ($1, $2, 'filed', '{1}', 'k', $3, 'note', now(), 'content', 1, false, 1, false, 1, false) RETURNING id`, batch, seq, patient)
	}
	docA, docB := doc(1, a), doc(2, b)

	record := func(actor string, patient, document *int64) int64 {
		t.Helper()
		clock = clock.Add(time.Hour)
		e, err := l.Record(ctx, Entry{Actor: actor, Action: ActionFHIRRead, Outcome: OutcomeOK, PatientID: patient, DocumentID: document})
		testenv.Must(t, err, "record")
		return e.ID
	}
	e1 := record("token:ehr-prod", &a, nil)      // 10:00 Patient A read
	e2 := record("user:ann", &r, nil)            // 11:00 the merged record read before the merge
	e3 := record("token:ehr-prod", &a, &docA)    // 12:00 A's document read
	e4 := record("user:bob", nil, &docA)         // 13:00 A's document read in the review queue, before filing
	e5 := record("token:ehr-prod", &b, &docB)    // 14:00 B's document
	e6 := record("user:ann", nil, nil)           // 15:00 a sign-in
	e7 := record("token:ehr-other", &b, id(999)) // 16:00 a document that does not exist

	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"everything, newest first", Filter{}, []int64{e7, e6, e5, e4, e3, e2, e1}},
		{"limit", Filter{Limit: 2}, []int64{e7, e6}},
		{"patient A, its merged record and its documents", Filter{PatientID: &a}, []int64{e4, e3, e2, e1}},
		{"the merged record alone", Filter{PatientID: &r}, []int64{e2}},
		{"patient B", Filter{PatientID: &b}, []int64{e7, e5}},
		{"a patient never seen", Filter{PatientID: id(12345)}, nil},
		{"document", Filter{DocumentID: &docA}, []int64{e4, e3}},
		{"a document that does not exist", Filter{DocumentID: id(999)}, []int64{e7}},
		{"actor", Filter{Actor: "token:ehr-prod"}, []int64{e5, e3, e1}},
		{"actor is exact", Filter{Actor: "token:ehr"}, nil},
		{"since", Filter{Since: at(13)}, []int64{e7, e6, e5, e4}},
		{"since, in another zone", Filter{Since: at(13).In(time.FixedZone("EST", -5*3600))}, []int64{e7, e6, e5, e4}},
		{"patient and actor", Filter{PatientID: &a, Actor: "token:ehr-prod"}, []int64{e3, e1}},
		{"patient, since and limit", Filter{PatientID: &a, Since: at(11), Limit: 2}, []int64{e4, e3}},
		{"patient and document", Filter{PatientID: &b, DocumentID: &docB}, []int64{e5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := l.List(ctx, tc.f)
			testenv.Must(t, err, "list")
			var got []int64
			for _, e := range es {
				got = append(got, e.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got entries %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDenied counts anonymous denials per address and minute: only the
// first of each minute from an address goes to the chain.
func TestDenied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, pool := newLog(t)
	clock := time.Date(2026, 3, 2, 9, 0, 10, 0, time.UTC)
	l.now = func() time.Time { return clock }
	for i := range 150 {
		testenv.Must(t, l.Denied(ctx, "203.0.113.5", ActionFHIRDenied, "Patient"), "denied %d", i)
	}
	testenv.Must(t, l.Denied(ctx, "203.0.113.6", ActionFHIRDenied, "Patient"), "denied")
	clock = clock.Add(time.Minute)
	testenv.Must(t, l.Denied(ctx, "203.0.113.5", ActionFHIRDenied, "Binary"), "denied")
	es, err := l.List(ctx, Filter{})
	testenv.Must(t, err, "list")
	if len(es) != 3 {
		t.Fatalf("152 denials wrote %d entries, want 3 (one per address and minute)", len(es))
	}
	for _, e := range es {
		if e.Actor != Anonymous || e.Outcome != OutcomeDenied || e.Action != ActionFHIRDenied {
			t.Errorf("entry %+v", e)
		}
	}
	var n int64
	testenv.Must(t, pool.QueryRow(ctx, `SELECT sum(count) FROM audit_denials WHERE remote = '203.0.113.5'`).Scan(&n), "count")
	if n != 151 {
		t.Errorf("counted %d denials from the address, want 151", n)
	}
	counts, err := l.Denials(ctx, clock.Add(-time.Hour))
	testenv.Must(t, err, "denials")
	if len(counts) != 3 || counts[0].Count != 1 || counts[0].Remote != "203.0.113.5" {
		t.Errorf("denials %+v", counts)
	}
	if rep := mustVerify(t, l); !rep.Intact {
		t.Errorf("chain %+v", rep)
	}
}
