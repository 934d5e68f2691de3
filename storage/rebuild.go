package storage

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// This file recreates the database's index of the bucket from the batch
// manifests (manifest.go): `paperchart rebuild`, into an empty database.

// RebuildSummary says what Rebuild recreated, and what it found in the
// bucket that no manifest names.
type RebuildSummary struct {
	Manifests, Batches, Pages, Documents, Patients int
	// Events counts batch and document history entries; Corrections the
	// people's corrections.
	Events, Corrections int
	// Unsettled counts batches whose last manifest is from before they
	// were processed (received or queued): the reconciler processes them
	// again.
	Unsettled int
	// Orphans are originals no batch refers to: files taken in but lost
	// before any manifest named them. Drop them again to process them.
	Orphans []string
}

// RebuildOptions say how to rebuild.
type RebuildOptions struct {
	// Check reads and inserts everything, then rolls back: the summary
	// says what a rebuild would recreate, and nothing is written.
	Check bool
	// Update rebuilds onto a database restored from a dump instead of an
	// empty one: rows the database lacks are added, and rows the
	// manifests hold newer versions of (a later updated_at) replaced;
	// history and corrections are appended where missing. The outboxes
	// are kept, and documents filed since the dump join them: they are
	// announced to the EHR (again, if they were before the loss).
	Update bool
	// Chunk is how many manifests are held in memory at a time; 0 means
	// 256.
	Chunk int
}

// errCheckOnly rolls back a rebuild run with Check.
var errCheckOnly = errors.New("check only")

// ErrNotEmpty is returned by Rebuild when the database already holds
// batches, documents or patients.
var ErrNotEmpty = errors.New("the database is not empty")

// Rebuild reads every batch manifest in the bucket and recreates their rows
// — batches, their history, pages, documents with their decisions, history
// and corrections, the patients they name — with their IDs, in one
// transaction, into a migrated database that holds no batch, document or
// patient yet, or with Update onto one restored from a dump. Identity
// sequences then continue after the highest IDs. Into an empty database,
// documents filed before are not announced again: the HL7 and webhook
// outboxes stay empty.
func (db *DB) Rebuild(ctx context.Context, objs *Objects, opt RebuildOptions) (RebuildSummary, error) {
	var sum RebuildSummary
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM batches) + (SELECT count(*) FROM documents)
		+ (SELECT count(*) FROM patients)`).Scan(&n); err != nil {
		return sum, fmt.Errorf("rebuild: check the database is empty: %w", err)
	}
	if n > 0 && !opt.Update {
		return sum, fmt.Errorf("rebuild: %w: rebuild into a new database (paperchart migrate makes its schema), "+
			"or onto one restored from a dump with --update", ErrNotEmpty)
	}
	var schema int
	if err := db.pool.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&schema); err != nil {
		return sum, fmt.Errorf("rebuild: schema version: %w", err)
	}
	keys, err := manifestKeys(ctx, objs)
	if err != nil {
		return sum, err
	}
	originals := map[string]bool{}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		r := &rebuilder{tx: tx, columns: map[string]map[string]bool{}, update: opt.Update,
			patientsSeen: map[int64]time.Time{}, merged: map[int64]pointer{}}
		// A chunk of manifests at a time, in batch order (a batch may be
		// the duplicate of an earlier one): only a chunk is in memory.
		chunk := opt.Chunk
		if chunk <= 0 {
			chunk = 256
		}
		for start := 0; start < len(keys); start += chunk {
			ms, err := fetchManifests(ctx, objs, keys[start:min(start+chunk, len(keys))], schema)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if err := r.patients(ctx, m); err != nil {
					return fmt.Errorf("batch %d: %w", m.Batch, err)
				}
				if err := r.batch(ctx, m, &sum); err != nil {
					return fmt.Errorf("batch %d: %w", m.Batch, err)
				}
				var b struct {
					OriginalKey string `json:"original_key"`
				}
				if err := json.Unmarshal(m.Rows.Batches[0], &b); err != nil {
					return fmt.Errorf("batch %d: %w", m.Batch, err)
				}
				originals[b.OriginalKey] = true
				sum.Manifests++
			}
		}
		// Merged patients point at their survivors once every patient is in.
		for _, id := range slices.Sorted(maps.Keys(r.merged)) {
			if err := r.point(ctx, "patients", id, r.merged[id]); err != nil {
				return fmt.Errorf("patient %d merged: %w", id, err)
			}
		}
		sum.Patients = len(r.patientsSeen)
		// Filed documents joined the outboxes as they were inserted; they
		// were announced (or not) before the loss, which is not known.
		// Onto a dump, its outboxes say what was sent by then, and what
		// was filed since is announced.
		for _, t := range []string{"hl7_outbox", "webhook_outbox"} {
			if opt.Update {
				break
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+t); err != nil {
				return fmt.Errorf("empty %s: %w", t, err)
			}
		}
		for _, t := range []string{"patients", "batches", "batch_events", "documents", "document_events", "document_corrections"} {
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), max(id)) FROM `+t+` HAVING max(id) IS NOT NULL`, t); err != nil {
				return fmt.Errorf("continue the IDs of %s: %w", t, err)
			}
		}
		if opt.Check {
			return errCheckOnly
		}
		return nil
	})
	if errors.Is(err, errCheckOnly) {
		err = nil
	}
	if err != nil {
		return RebuildSummary{Manifests: sum.Manifests}, fmt.Errorf("rebuild: %w", err)
	}
	if sum.Orphans, err = orphanOriginals(ctx, objs, originals); err != nil {
		return sum, err
	}
	return sum, nil
}

// manifestKeys lists the manifests in the bucket, in batch order. A key
// under the prefix that is not a manifest's stops the rebuild.
func manifestKeys(ctx context.Context, objs *Objects) ([]Key, error) {
	listed, err := objs.List(ctx, PrefixManifests)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	keys := make([]Key, 0, len(listed))
	for _, key := range listed {
		k, err := ParseKey(key)
		if err != nil || k.Kind != KeyManifest {
			return nil, fmt.Errorf("rebuild: %s is not a manifest paperchart writes: move it out of %s", key, PrefixManifests)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int { return cmp.Compare(a.Batch, b.Batch) })
	return keys, nil
}

// fetchManifests reads and decodes manifests, eight at a time, in the
// order of keys. Any it cannot read stops the rebuild: a manifest left out
// is a batch lost from the index.
func fetchManifests(ctx context.Context, objs *Objects, keys []Key, schema int) ([]Manifest, error) {
	ms := make([]Manifest, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, k := range keys {
		g.Go(func() error {
			key := k.String()
			data, err := objs.Get(gctx, key)
			if err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			m, err := DecodeManifest(data)
			if err != nil {
				return fmt.Errorf("rebuild: %s: %w", key, err)
			}
			if m.Batch != k.Batch {
				return fmt.Errorf("rebuild: %s holds batch %d", key, m.Batch)
			}
			if m.Schema > schema {
				return fmt.Errorf("rebuild: %s was written with schema %d, newer than this paperchart's %d: rebuild with the newer paperchart",
					key, m.Schema, schema)
			}
			ms[i] = m
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return ms, nil
}

// rebuilder inserts manifest rows in one transaction.
type rebuilder struct {
	tx      pgx.Tx
	columns map[string]map[string]bool // each table's columns
	update  bool                       // RebuildOptions.Update
	// patientsSeen holds the updated_at of the newest version of each
	// patient met so far, merged its merged_into, set at the end.
	patientsSeen map[int64]time.Time
	merged       map[int64]pointer
}

// rebuiltKeys are each rebuilt table's key, and whether its rows change
// (the newer version, by updated_at, wins) or are only ever appended.
var rebuiltKeys = map[string]struct {
	key     []string
	changes bool
}{
	"patients": {[]string{"id"}, true}, "patient_identifiers": {nil, false},
	"batches": {[]string{"id"}, true}, "batch_events": {[]string{"id"}, false},
	"pages": {[]string{"batch_id", "page_no"}, true}, "documents": {[]string{"id"}, true},
	"document_events": {[]string{"id"}, false}, "document_corrections": {[]string{"id"}, false},
}

// conflict is the ON CONFLICT clause of an insert into table of the given
// columns: none into an empty database but for patients and their
// identifiers, which manifests share (the newer patient wins); onto a
// restored one, appended rows are skipped when there, changing ones
// replaced when the manifest's are newer.
func (r *rebuilder) conflict(table string, cols []string) string {
	k := rebuiltKeys[table]
	switch {
	case table == "patient_identifiers" || (r.update && !k.changes):
		return "ON CONFLICT DO NOTHING"
	case !r.update && table != "patients": // patients: in many manifests
		return ""
	}
	var set, from []string
	for _, c := range cols {
		if !slices.Contains(k.key, c) {
			q := pgx.Identifier{c}.Sanitize()
			set, from = append(set, q), append(from, "EXCLUDED."+q)
		}
	}
	return fmt.Sprintf("ON CONFLICT (%s) DO UPDATE SET (%s) = ROW(%s) WHERE %s.updated_at < EXCLUDED.updated_at",
		strings.Join(k.key, ", "), strings.Join(set, ", "), strings.Join(from, ", "), table)
}

// patients inserts the patients one manifest names, or replaces those in
// the database with them where the manifest's are newer versions (a
// patient appears in the manifest of every batch that names it). Their
// merged_into is kept for the end, when every patient is in.
func (r *rebuilder) patients(ctx context.Context, m Manifest) error {
	rows := make([]Row, 0, len(m.Rows.Patients))
	for _, row := range m.Rows.Patients {
		var p struct {
			ID        int64     `json:"id"`
			UpdatedAt time.Time `json:"updated_at"`
		}
		if err := json.Unmarshal(row, &p); err != nil || p.ID <= 0 {
			return errors.New("a patient row without its ID")
		}
		stripped, into, err := without(row, "merged_into")
		if err != nil {
			return fmt.Errorf("patient %d: %w", p.ID, err)
		}
		if at, seen := r.patientsSeen[p.ID]; !seen || p.UpdatedAt.After(at) {
			r.patientsSeen[p.ID] = p.UpdatedAt
			delete(r.merged, p.ID)
			if into != nil {
				r.merged[p.ID] = pointer{into, row}
			}
		}
		rows = append(rows, stripped)
	}
	if err := r.insert(ctx, "patients", rows); err != nil {
		return err
	}
	return r.insert(ctx, "patient_identifiers", m.Rows.PatientIdentifiers)
}

// batch inserts one manifest's batch, pages, documents and their history.
func (r *rebuilder) batch(ctx context.Context, m Manifest, sum *RebuildSummary) error {
	if err := r.insert(ctx, "batches", m.Rows.Batches); err != nil {
		return err
	}
	if err := r.insert(ctx, "batch_events", m.Rows.BatchEvents); err != nil {
		return err
	}
	if err := r.insert(ctx, "pages", m.Rows.Pages); err != nil {
		return err
	}
	docs := make([]Row, len(m.Rows.Documents))
	merged := map[int64]pointer{}
	for i, row := range m.Rows.Documents {
		var d struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(row, &d); err != nil {
			return fmt.Errorf("a document row: %w", err)
		}
		var into json.RawMessage
		var err error
		if docs[i], into, err = without(row, "merged_into"); err != nil {
			return fmt.Errorf("document %d: %w", d.ID, err)
		}
		if into != nil {
			merged[d.ID] = pointer{into, row}
		}
	}
	if err := r.insert(ctx, "documents", docs); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(merged)) {
		if err := r.point(ctx, "documents", id, merged[id]); err != nil {
			return fmt.Errorf("document %d merged: %w", id, err)
		}
	}
	if err := r.insert(ctx, "document_events", m.Rows.DocumentEvents); err != nil {
		return err
	}
	if err := r.insert(ctx, "document_corrections", m.Rows.DocumentCorrections); err != nil {
		return err
	}
	sum.Batches++
	sum.Pages += len(m.Rows.Pages)
	sum.Documents += len(m.Rows.Documents)
	sum.Events += len(m.Rows.BatchEvents) + len(m.Rows.DocumentEvents)
	sum.Corrections += len(m.Rows.DocumentCorrections)
	if m.State == StateReceived || m.State == StateQueued {
		sum.Unsettled++
	}
	return nil
}

// pointer is a row's merged_into, set once every row is in.
type pointer struct {
	into json.RawMessage // the ID it points at
	row  Row             // the whole row, for its updated_at
}

// point sets merged_into of the row with the given ID of table, if the
// row is the manifest's version of it (onto a restored database, a newer
// one there keeps its own).
func (r *rebuilder) point(ctx context.Context, table string, id int64, p pointer) error {
	_, err := r.tx.Exec(ctx, `UPDATE `+table+` t SET merged_into = ($2::jsonb #>> '{}')::bigint
		FROM jsonb_populate_record(NULL::`+table+`, $3::jsonb) m WHERE t.id = $1 AND t.updated_at = m.updated_at`,
		id, []byte(p.into), []byte(p.row))
	return err
}

// without returns row with the field set to null, and the field's value
// when it was not null: rows that point at rows of their own table are
// inserted first and pointed afterwards.
func without(row Row, field string) (Row, json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(row, &fields); err != nil {
		return nil, nil, err
	}
	v := fields[field]
	if v == nil || string(v) == "null" {
		return row, nil, nil
	}
	fields[field] = json.RawMessage("null")
	out, err := json.Marshal(fields)
	return out, v, err
}

// insert inserts rows into table with the columns they name: a column a
// manifest of an older schema lacks takes its default.
func (r *rebuilder) insert(ctx context.Context, table string, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	cols, err := r.tableColumns(ctx, table)
	if err != nil {
		return err
	}
	// Rows of one manifest have the same columns; group them by their set.
	groups := map[string][]Row{}
	var order []string
	for _, row := range rows {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(row, &fields); err != nil {
			return fmt.Errorf("a row of %s: %w", table, err)
		}
		names := slices.Sorted(maps.Keys(fields))
		for _, n := range names {
			if !cols[n] {
				return fmt.Errorf("a row of %s has the column %q, which this schema lacks", table, n)
			}
		}
		sig := strings.Join(names, ",")
		if _, ok := groups[sig]; !ok {
			order = append(order, sig)
		}
		groups[sig] = append(groups[sig], row)
	}
	for _, sig := range order {
		names := strings.Split(sig, ",")
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = pgx.Identifier{n}.Sanitize()
		}
		list := strings.Join(quoted, ", ")
		data, err := json.Marshal(groups[sig])
		if err != nil {
			return err
		}
		q := `INSERT INTO ` + table + ` (` + list + `) OVERRIDING SYSTEM VALUE SELECT ` + list +
			` FROM jsonb_populate_recordset(NULL::` + table + `, $1::jsonb) ` + r.conflict(table, names)
		if _, err := r.tx.Exec(ctx, q, data); err != nil {
			return fmt.Errorf("insert %d rows into %s: %w", len(groups[sig]), table, err)
		}
	}
	return nil
}

// tableColumns returns the columns of table.
func (r *rebuilder) tableColumns(ctx context.Context, table string) (map[string]bool, error) {
	if cols, ok := r.columns[table]; ok {
		return cols, nil
	}
	rows, err := r.tx.Query(ctx, `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	cols := map[string]bool{}
	for _, n := range names {
		cols[n] = true
	}
	r.columns[table] = cols
	return cols, nil
}

// orphanOriginals lists the originals no manifest's batch refers to.
func orphanOriginals(ctx context.Context, objs *Objects, have map[string]bool) ([]string, error) {
	keys, err := objs.List(ctx, PrefixOriginals)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	var out []string
	for _, k := range keys {
		if !have[k] {
			out = append(out, k)
		}
	}
	return out, nil
}
