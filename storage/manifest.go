package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file writes each batch's manifest to the object store: the batch's
// rows — the batch and its history, its pages, its documents with their
// decisions, history and corrections, and the patients those name — so
// that the bucket alone is enough to recreate the database's index of it
// (rebuild.go). PostgreSQL records a change of the batch (manifest_changes,
// migration 0016) in the transaction of every change to those rows;
// WriteDueManifests writes the manifests of the batches changed.

// ManifestType is the Type of every manifest this version writes.
const ManifestType = "paperchart.batch.manifest/v1"

// Row is one table row as PostgreSQL's to_jsonb writes it: every column by
// name, timestamps in UTC with microseconds, numbers as stored. Rebuild
// gives it back to PostgreSQL (jsonb_populate_recordset), so every column
// round-trips exactly, those added by later migrations included.
type Row = json.RawMessage

// Manifest is one batch's rows, kept at ManifestKey(Batch). It holds
// patient data (page text, identifiers read, the patients' demographics),
// like the rest of the bucket.
type Manifest struct {
	Type string `json:"type"` // ManifestType
	// Schema is the last migration of the database that wrote it; rebuild
	// refuses a manifest from a newer schema than its own.
	Schema int    `json:"schema"`
	Batch  int64  `json:"batch"`
	State  string `json:"state"` // the batch's state when written
	Rows   Rows   `json:"rows"`
}

// Rows are a manifest's rows, table by table, each in ID (or page) order.
// Patients are those the documents name — filed to, suggested, candidates —
// and the survivors they were merged into, as they were when the manifest
// was written.
type Rows struct {
	Batches             []Row `json:"batches"` // the batch: one row
	BatchEvents         []Row `json:"batch_events"`
	Pages               []Row `json:"pages"`
	Documents           []Row `json:"documents"`
	DocumentEvents      []Row `json:"document_events"`
	DocumentCorrections []Row `json:"document_corrections"`
	Patients            []Row `json:"patients"`
	PatientIdentifiers  []Row `json:"patient_identifiers"`
}

// ErrBadManifest is returned by DecodeManifest for an object that is not a
// manifest this version can read.
var ErrBadManifest = errors.New("not a batch manifest paperchart can read")

// EncodeManifest writes a manifest as stored. The same rows always give
// the same bytes.
func EncodeManifest(m Manifest) ([]byte, error) {
	m.Type = ManifestType
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest of batch %d: %w", m.Batch, err)
	}
	return b, nil
}

// DecodeManifest reads a stored manifest and checks its type and that it
// holds its batch's row.
func DecodeManifest(data []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if m.Type != ManifestType {
		return Manifest{}, fmt.Errorf("%w: type %q, want %q", ErrBadManifest, m.Type, ManifestType)
	}
	if m.Batch <= 0 || len(m.Rows.Batches) != 1 {
		return Manifest{}, fmt.Errorf("%w: batch %d with %d batch rows", ErrBadManifest, m.Batch, len(m.Rows.Batches))
	}
	var id struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(m.Rows.Batches[0], &id); err != nil || id.ID != m.Batch {
		return Manifest{}, fmt.Errorf("%w: batch row is not batch %d", ErrBadManifest, m.Batch)
	}
	return m, nil
}

// inFlightStates are the states in which a batch's manifest is not
// written: its rows change page by page, and it is written once the batch
// settles. A batch lost in flight is recovered from its last manifest
// (received or queued: the reconciler processes it again) or, with none,
// reported by rebuild as an original without a batch.
var inFlightStates = []string{StateSplitting, StateOCR, StateAssembling, StateFiling}

// manifestLock is the advisory lock class that keeps two writers off one
// batch's manifest.
const manifestLock = 0x6d616e69 // "mani"

// ManifestsDue counts the batches whose manifest waits to be written,
// those in flight included.
func (db *DB) ManifestsDue(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(DISTINCT batch_id) FROM manifest_changes`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count manifests due: %w", err)
	}
	return n, nil
}

// WriteDueManifests writes the manifests of up to limit (default 100)
// settled batches whose rows changed since their manifest was written, and
// returns how many it stored. A manifest whose bytes are already stored is
// not stored again (but its changes are forgotten). One that fails stays due; the
// others are written all the same, and the failures returned together.
func (db *DB) WriteDueManifests(ctx context.Context, objs *Objects, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT c.batch_id FROM (SELECT batch_id, min(id) AS first FROM manifest_changes GROUP BY batch_id) c
		JOIN batches b ON b.id = c.batch_id WHERE b.state <> ALL($1) ORDER BY c.first LIMIT $2`, inFlightStates, limit)
	if err != nil {
		return 0, fmt.Errorf("list manifests due: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("list manifests due: %w", err)
	}
	n := 0
	var errs []error
	for _, id := range ids {
		// One batch that cannot be written does not hold up the others.
		wrote, err := db.WriteManifest(ctx, objs, id)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		if wrote {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// WriteManifest writes batch's manifest from its rows as they are now, and
// forgets the changes it wrote (not those committed meanwhile). It reports whether it
// stored new bytes; false also when another writer holds the batch.
func (db *DB) WriteManifest(ctx context.Context, objs *Objects, batch int64) (bool, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("write manifest of batch %d: %w", batch, err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, ($2 % 2147483647)::int)`, manifestLock, batch).Scan(&locked); err != nil {
		return false, fmt.Errorf("write manifest of batch %d: lock: %w", batch, err)
	}
	if !locked {
		return false, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, ($2 % 2147483647)::int)`, manifestLock, batch)

	var m Manifest
	var seen []int64
	var owner string
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// One snapshot for the changes and every row: a change committed
		// after it is not among those forgotten, and is written next time.
		if _, err := tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(id), '{}') FROM manifest_changes WHERE batch_id = $1`, batch).Scan(&seen); err != nil {
			return err
		}
		var err error
		if m, err = readManifest(ctx, tx, batch); err != nil {
			return err
		}
		owner, err = batchOwner(ctx, tx, batch)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read rows of batch %d for its manifest: %w", batch, err)
	}
	data, err := EncodeManifest(m)
	if err != nil {
		return false, err
	}
	wrote, err := objs.PutChanged(ctx, ManifestKey(batch), data, "application/json", owner)
	if errors.Is(err, ErrOtherOwner) {
		return false, fmt.Errorf("write manifest of batch %d: %w", batch, ErrForeignManifest)
	}
	if err != nil {
		return false, fmt.Errorf("write manifest of batch %d: %w", batch, err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM manifest_changes WHERE id = ANY($1)`, seen); err != nil {
		return wrote, fmt.Errorf("forget the changes of batch %d written to its manifest: %w", batch, err)
	}
	return wrote, nil
}

// ErrForeignManifest is returned by WriteManifest when the bucket holds the
// manifest of another batch under the same ID: this database is not the
// bucket's index (a new, empty database was started instead of rebuilt),
// and its manifests are not written, so that the bucket's are not lost.
var ErrForeignManifest = errors.New("the bucket holds another batch's manifest under this ID: " +
	"this database is not the bucket's index (run paperchart rebuild into an empty database, or point at the right bucket)")

// batchOwner identifies the batch itself, not just its ID: a hash of its
// ingest key and the time it was recorded, which a rebuild keeps. A batch
// of another database with the same ID has another.
func batchOwner(ctx context.Context, tx pgx.Tx, batch int64) (string, error) {
	var key string
	var at time.Time
	if err := tx.QueryRow(ctx, `SELECT ingest_key, created_at FROM batches WHERE id = $1`, batch).Scan(&key, &at); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key + "\n" + at.UTC().Format(time.RFC3339Nano)))
	return "batch-" + hex.EncodeToString(sum[:16]), nil
}

// manifestQueries read each table's rows of one batch ($1) as a JSON
// array, in the order they are stored in the manifest.
var manifestQueries = []struct {
	table string
	sql   string
	rows  func(*Rows) *[]Row
}{
	{"batches", `SELECT jsonb_agg(to_jsonb(b)) FROM batches b WHERE id = $1`, func(r *Rows) *[]Row { return &r.Batches }},
	{"batch_events", `SELECT jsonb_agg(to_jsonb(e) ORDER BY e.id) FROM batch_events e WHERE batch_id = $1`,
		func(r *Rows) *[]Row { return &r.BatchEvents }},
	{"pages", `SELECT jsonb_agg(to_jsonb(p) ORDER BY p.page_no) FROM pages p WHERE batch_id = $1`,
		func(r *Rows) *[]Row { return &r.Pages }},
	{"documents", `SELECT jsonb_agg(to_jsonb(d) ORDER BY d.id) FROM documents d WHERE batch_id = $1`,
		func(r *Rows) *[]Row { return &r.Documents }},
	{"document_events", `SELECT jsonb_agg(to_jsonb(e) ORDER BY e.id) FROM document_events e
		WHERE document_id IN (SELECT id FROM documents WHERE batch_id = $1)`, func(r *Rows) *[]Row { return &r.DocumentEvents }},
	{"document_corrections", `SELECT jsonb_agg(to_jsonb(c) ORDER BY c.id) FROM document_corrections c
		WHERE document_id IN (SELECT id FROM documents WHERE batch_id = $1)`, func(r *Rows) *[]Row { return &r.DocumentCorrections }},
	{"patients", `WITH RECURSIVE named(id) AS (
			SELECT id FROM (
				SELECT patient_id AS id FROM documents WHERE batch_id = $1
				UNION SELECT patient_suggested FROM documents WHERE batch_id = $1
				UNION SELECT (c->>'patient_id')::bigint FROM documents d, jsonb_array_elements(d.candidates) c WHERE d.batch_id = $1
			) direct WHERE id IS NOT NULL
			UNION SELECT p.merged_into FROM patients p JOIN named n ON p.id = n.id WHERE p.merged_into IS NOT NULL
		)
		SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id) FROM patients p WHERE id IN (SELECT id FROM named)`,
		func(r *Rows) *[]Row { return &r.Patients }},
}

// readManifest reads a batch's manifest in tx.
func readManifest(ctx context.Context, tx pgx.Tx, batch int64) (Manifest, error) {
	m := Manifest{Type: ManifestType, Batch: batch}
	if err := tx.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&m.Schema); err != nil {
		return m, fmt.Errorf("schema version: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT state FROM batches WHERE id = $1`, batch).Scan(&m.State); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return m, ErrNotFound
		}
		return m, err
	}
	for _, q := range manifestQueries {
		if err := scanRows(ctx, tx, q.sql, q.rows(&m.Rows), batch); err != nil {
			return m, fmt.Errorf("%s: %w", q.table, err)
		}
	}
	ids := patientIDs(m.Rows.Patients)
	err := scanRows(ctx, tx, `SELECT jsonb_agg(to_jsonb(i) ORDER BY i.patient_id, i.system, i.value)
		FROM patient_identifiers i WHERE patient_id = ANY($1)`, &m.Rows.PatientIdentifiers, ids)
	if err != nil {
		return m, fmt.Errorf("patient_identifiers: %w", err)
	}
	return m, nil
}

// scanRows runs a query returning one JSON array (or NULL) into rows:
// always a list, [] when empty.
func scanRows(ctx context.Context, tx pgx.Tx, sql string, rows *[]Row, arg any) error {
	var raw []byte
	if err := tx.QueryRow(ctx, sql, arg).Scan(&raw); err != nil {
		return err
	}
	*rows = []Row{}
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, rows)
}

// patientIDs returns the IDs of patient rows.
func patientIDs(rows []Row) []int64 {
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		var p struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(r, &p) == nil {
			ids = append(ids, p.ID)
		}
	}
	slices.Sort(ids)
	return ids
}
