package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Batch states. A batch moves received → queued → splitting → ocr →
// assembling → filing → done; it may end failed or rejected instead, and a
// file whose bytes were seen before is recorded as duplicate and not
// processed.
const (
	StateReceived   = "received"
	StateQueued     = "queued"
	StateSplitting  = "splitting"
	StateOCR        = "ocr"
	StateAssembling = "assembling"
	StateFiling     = "filing"
	StateDone       = "done"
	StateFailed     = "failed"
	StateRejected   = "rejected"
	StateDuplicate  = "duplicate"
)

// Unfinished lists the states in which a batch still has work to do.
var unfinishedStates = []string{StateReceived, StateQueued, StateSplitting, StateOCR, StateAssembling, StateFiling}

// Page states.
const (
	PagePending = "pending"
	PageDone    = "done"
	PageFailed  = "failed"
)

// Batch is one file taken from a drop folder.
type Batch struct {
	ID            int64      `json:"id"`
	Source        string     `json:"source"`
	Name          string     `json:"name"`
	SHA256        string     `json:"sha256"`
	Size          int64      `json:"size"`
	Format        string     `json:"format"`
	State         string     `json:"state"`
	ReasonCode    string     `json:"reason_code,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	DuplicateOf   *int64     `json:"duplicate_of,omitempty"`
	OriginalKey   string     `json:"original_key"`
	SearchableKey string     `json:"searchable_key,omitempty"`
	Pages         int        `json:"pages"`
	PagesDone     int        `json:"pages_done"`
	PagesFailed   int        `json:"pages_failed"`
	PagesBlank    int        `json:"pages_blank"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// Finished reports whether the batch is in a final state.
func (b Batch) Finished() bool {
	switch b.State {
	case StateDone, StateFailed, StateRejected, StateDuplicate:
		return true
	}
	return false
}

const batchColumns = `b.id, b.source, b.name, b.sha256, b.size, b.format, b.state, b.reason_code, b.reason,
	b.duplicate_of, b.original_key, b.searchable_key, b.page_count,
	(SELECT count(*) FROM pages p WHERE p.batch_id = b.id AND p.state = 'done'),
	(SELECT count(*) FROM pages p WHERE p.batch_id = b.id AND p.state = 'failed'),
	(SELECT count(*) FROM pages p WHERE p.batch_id = b.id AND p.blank),
	b.created_at, b.updated_at, b.finished_at`

func scanBatch(row pgx.Row) (Batch, error) {
	var b Batch
	err := row.Scan(&b.ID, &b.Source, &b.Name, &b.SHA256, &b.Size, &b.Format, &b.State, &b.ReasonCode, &b.Reason,
		&b.DuplicateOf, &b.OriginalKey, &b.SearchableKey, &b.Pages, &b.PagesDone, &b.PagesFailed, &b.PagesBlank,
		&b.CreatedAt, &b.UpdatedAt, &b.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, ErrNotFound
	}
	return b, err
}

// NewBatch describes a dropped file whose original is already stored.
type NewBatch struct {
	Source      string
	Name        string
	IngestKey   string // stable for one dropped file across ingest retries
	SHA256      string
	Size        int64
	OriginalKey string
}

// RecordBatch records a dropped file. If a batch with the same IngestKey
// exists it is returned with created false (ingest ran twice). If the same
// bytes were recorded before under another key, the new batch is recorded in
// state duplicate, pointing at the first.
func (db *DB) RecordBatch(ctx context.Context, nb NewBatch) (Batch, bool, error) {
	for attempt := 0; ; attempt++ {
		b, created, err := db.recordBatch(ctx, nb)
		var pgErr *pgconn.PgError
		if attempt < 3 && errors.As(err, &pgErr) && pgErr.Code == "23505" {
			continue // lost a race with another ingest of the same bytes or file; look again
		}
		return b, created, err
	}
}

func (db *DB) recordBatch(ctx context.Context, nb NewBatch) (Batch, bool, error) {
	var id int64
	created := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id FROM batches WHERE ingest_key = $1`, nb.IngestKey).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var first *int64
		var firstID int64
		switch err := tx.QueryRow(ctx, `SELECT id FROM batches WHERE sha256 = $1 AND duplicate_of IS NULL`, nb.SHA256).Scan(&firstID); {
		case err == nil:
			first = &firstID
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		state, event, detail := StateReceived, "received", ""
		if first != nil {
			state, event, detail = StateDuplicate, "duplicate", fmt.Sprintf("same bytes as batch %d", firstID)
		}
		err = tx.QueryRow(ctx, `INSERT INTO batches (source, name, ingest_key, sha256, size, state, duplicate_of, original_key, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $6 = 'duplicate' THEN now() END) RETURNING id`,
			nb.Source, nb.Name, nb.IngestKey, nb.SHA256, nb.Size, state, first, nb.OriginalKey).Scan(&id)
		if err != nil {
			return err
		}
		created = true
		return addEvent(ctx, tx, id, event, detail)
	})
	if err != nil {
		return Batch{}, false, fmt.Errorf("record batch: %w", err)
	}
	b, err := db.Batch(ctx, id)
	return b, created, err
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func addEvent(ctx context.Context, q execer, batchID int64, event, detail string) error {
	_, err := q.Exec(ctx, `INSERT INTO batch_events (batch_id, event, detail) VALUES ($1, $2, $3)`, batchID, event, detail)
	if err != nil {
		return fmt.Errorf("add event to batch %d: %w", batchID, err)
	}
	return nil
}

// Batch returns one batch.
func (db *DB) Batch(ctx context.Context, id int64) (Batch, error) {
	b, err := scanBatch(db.pool.QueryRow(ctx, `SELECT `+batchColumns+` FROM batches b WHERE b.id = $1`, id))
	if err != nil {
		return b, fmt.Errorf("read batch %d: %w", id, err)
	}
	return b, nil
}

// BatchFilter narrows ListBatches. Zero values mean no restriction.
type BatchFilter struct {
	State  string
	Source string
	Since  time.Time
	Limit  int // default 50
}

// ListBatches returns batches, newest first.
func (db *DB) ListBatches(ctx context.Context, f BatchFilter) ([]Batch, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	return db.queryBatches(ctx, "list batches", `SELECT `+batchColumns+` FROM batches b
		WHERE ($1 = '' OR b.state = $1) AND ($2 = '' OR b.source = $2) AND b.created_at >= $3
		ORDER BY b.id DESC LIMIT $4`, f.State, f.Source, f.Since, f.Limit)
}

func (db *DB) queryBatches(ctx context.Context, what, sql string, args ...any) ([]Batch, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// UnfinishedBatches lists batches with work left whose state has not
// changed since before the given time: the reconciler's candidates.
func (db *DB) UnfinishedBatches(ctx context.Context, notUpdatedSince time.Time) ([]Batch, error) {
	return db.queryBatches(ctx, "list unfinished batches", `SELECT `+batchColumns+` FROM batches b
		WHERE b.state = ANY($1) AND b.updated_at < $2 ORDER BY b.id`, unfinishedStates, notUpdatedSince)
}

// transition moves a batch to state `to` if it is in one of `from`, records
// an event, and reports whether it moved.
func (db *DB) transition(ctx context.Context, id int64, from []string, to, event, detail string, set string, args ...any) (bool, error) {
	moved := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		q := `UPDATE batches SET state = $2, updated_at = now(),
			finished_at = CASE WHEN $2 IN ('done', 'failed', 'rejected', 'duplicate') THEN now() END` + set + `
			WHERE id = $1 AND state = ANY($3)`
		tag, err := tx.Exec(ctx, q, append([]any{id, to, from}, args...)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		moved = true
		return addEvent(ctx, tx, id, event, detail)
	})
	if err != nil {
		return false, fmt.Errorf("batch %d to %s: %w", id, to, err)
	}
	return moved, nil
}

// MarkQueued records that the split task is enqueued.
func (db *DB) MarkQueued(ctx context.Context, id int64, format string) (bool, error) {
	return db.transition(ctx, id, []string{StateReceived}, StateQueued, "queued", format, `, format = $4`, format)
}

// Reject records that the file can never be processed, with a code and a
// plain-words reason for the scanning clerk.
func (db *DB) Reject(ctx context.Context, id int64, code, reason string) (bool, error) {
	return db.transition(ctx, id, unfinishedStates, StateRejected, "rejected", reason,
		`, reason_code = $4, reason = $5`, code, reason)
}

// StartSplit marks a batch as being split; it is true also when the batch is
// already splitting (a retried or re-delivered task).
func (db *DB) StartSplit(ctx context.Context, id int64) (bool, error) {
	b, err := db.Batch(ctx, id)
	if err != nil {
		return false, err
	}
	if b.State == StateSplitting {
		return true, nil
	}
	return db.transition(ctx, id, []string{StateReceived, StateQueued}, StateSplitting, "splitting", "", "")
}

// NewPage describes one page produced by the split stage.
type NewPage struct {
	No        int
	SourceKey string
	Kind      string
	DPI       float64
	Rotate    int
	// Width and Height: pixels of an image source, points of a PDF one.
	Width, Height float64
}

// AddPages records the pages of a split batch and moves it to ocr. Pages
// already recorded are kept as they are, so a re-run of the split changes
// nothing.
func (db *DB) AddPages(ctx context.Context, id int64, format string, pages []NewPage) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, p := range pages {
			_, err := tx.Exec(ctx, `INSERT INTO pages (batch_id, page_no, source_key, source_kind, source_dpi, source_rotate,
				source_width, source_height)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (batch_id, page_no) DO NOTHING`,
				id, p.No, p.SourceKey, p.Kind, p.DPI, p.Rotate, p.Width, p.Height)
			if err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE batches SET state = 'ocr', page_count = $2, format = $3, updated_at = now()
			WHERE id = $1 AND state IN ('received', 'queued', 'splitting')`, id, len(pages), format)
		if err != nil {
			return err
		}
		if tag.RowsAffected() > 0 {
			return addEvent(ctx, tx, id, "split", fmt.Sprintf("%d pages", len(pages)))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d pages to batch %d: %w", len(pages), id, err)
	}
	return nil
}

// Page is one page of a batch.
type Page struct {
	BatchID      int64     `json:"batch_id"`
	No           int       `json:"page"`
	State        string    `json:"state"`
	SourceKey    string    `json:"source_key"`
	SourceKind   string    `json:"source_kind"`
	SourceDPI    float64   `json:"source_dpi"`
	SourceRotate int       `json:"source_rotate"`
	SourceWidth  float64   `json:"source_width"`
	SourceHeight float64   `json:"source_height"`
	ImageKey     string    `json:"image_key,omitempty"`
	OCRKey       string    `json:"ocr_key,omitempty"`
	WordCount    int       `json:"words"`
	MeanConf     float64   `json:"mean_conf"`
	Rotation     int       `json:"rotation"`
	Skew         float64   `json:"skew"`
	Blank        bool      `json:"blank"`
	OSDUsed      bool      `json:"osd_used"`
	DPI          int       `json:"dpi"`
	Width        int       `json:"width"`
	Height       int       `json:"height"`
	OCRMillis    int       `json:"ocr_ms"`
	Kind         string    `json:"kind"` // PageKindPage, PageKindCover or PageKindSeparator
	Barcodes     []Barcode `json:"-"`    // patient data (a cover sheet's or a label's MRN): not in batch status
	Error        string    `json:"error,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

const pageColumns = `batch_id, page_no, state, source_key, source_kind, source_dpi, source_rotate, source_width, source_height, image_key, ocr_key,
	word_count, mean_conf, rotation, skew, blank, osd_used, dpi, width, height, ocr_ms, kind, barcodes, error, updated_at`

func scanPage(row pgx.Row) (Page, error) {
	var p Page
	var dpi, conf, skew, sw, sh float32
	err := row.Scan(&p.BatchID, &p.No, &p.State, &p.SourceKey, &p.SourceKind, &dpi, &p.SourceRotate, &sw, &sh, &p.ImageKey, &p.OCRKey,
		&p.WordCount, &conf, &p.Rotation, &skew, &p.Blank, &p.OSDUsed, &p.DPI, &p.Width, &p.Height, &p.OCRMillis, &p.Kind, &p.Barcodes, &p.Error, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	p.SourceDPI, p.MeanConf, p.Skew = float64(dpi), float64(conf), float64(skew)
	p.SourceWidth, p.SourceHeight = float64(sw), float64(sh)
	return p, err
}

// Page returns one page.
func (db *DB) Page(ctx context.Context, batchID int64, no int) (Page, error) {
	p, err := scanPage(db.pool.QueryRow(ctx, `SELECT `+pageColumns+` FROM pages WHERE batch_id = $1 AND page_no = $2`, batchID, no))
	if err != nil {
		return p, fmt.Errorf("read page %d of batch %d: %w", no, batchID, err)
	}
	return p, nil
}

// Pages returns every page of a batch in order.
func (db *DB) Pages(ctx context.Context, batchID int64) ([]Page, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+pageColumns+` FROM pages WHERE batch_id = $1 ORDER BY page_no`, batchID)
	if err != nil {
		return nil, fmt.Errorf("read pages of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []Page
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			return nil, fmt.Errorf("read pages of batch %d: %w", batchID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PageText returns the OCR text of one page. It is patient data: callers
// must not log it.
func (db *DB) PageText(ctx context.Context, batchID int64, no int) (string, error) {
	var text string
	err := db.pool.QueryRow(ctx, `SELECT text FROM pages WHERE batch_id = $1 AND page_no = $2`, batchID, no).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read text of page %d of batch %d: %w", no, batchID, err)
	}
	return text, nil
}

// PageResult is what the OCR stage records for a page.
type PageResult struct {
	BatchID   int64
	No        int
	ImageKey  string
	OCRKey    string
	Text      string
	WordCount int
	MeanConf  float64
	Rotation  int
	Skew      float64
	Blank     bool
	OSDUsed   bool
	DPI       int
	Width     int
	Height    int
	OCRMillis int
	Kind      string    // PageKindPage when empty
	Barcodes  []Barcode // every barcode read on the page
}

// Page kinds: an ordinary page, or a sheet that is not a page of any
// document.
const (
	PageKindPage      = "page"
	PageKindCover     = "cover"
	PageKindSeparator = "separator"
)

// Barcode is one barcode read on a page.
type Barcode struct {
	Format string `json:"format"`
	Text   string `json:"text"`
}

// CompletePage records a page's OCR result. It reports true exactly once
// per batch: for the call that finds every page done and moves the batch to
// assembling (the join).
func (db *DB) CompletePage(ctx context.Context, r PageResult) (bool, error) {
	kind := r.Kind
	if kind == "" {
		kind = PageKindPage
	}
	barcodes := r.Barcodes
	if barcodes == nil {
		barcodes = []Barcode{}
	}
	joined := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE pages SET state = 'done', image_key = $3, ocr_key = $4, text = $5, word_count = $6,
			mean_conf = $7, rotation = $8, skew = $9, blank = $10, osd_used = $11, dpi = $12, width = $13, height = $14,
			ocr_ms = $15, kind = $16, barcodes = $17, error = '', updated_at = now()
			WHERE batch_id = $1 AND page_no = $2 AND state <> 'done'`,
			r.BatchID, r.No, r.ImageKey, r.OCRKey, r.Text, r.WordCount, r.MeanConf, r.Rotation, r.Skew, r.Blank, r.OSDUsed,
			r.DPI, r.Width, r.Height, r.OCRMillis, kind, barcodes)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE batches SET updated_at = now() WHERE id = $1`, r.BatchID)
		if err != nil {
			return err
		}
		joined, err = joinIfDone(ctx, tx, r.BatchID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("complete page %d of batch %d: %w", r.No, r.BatchID, err)
	}
	return joined, nil
}

// joinIfDone moves a batch from ocr to assembling when no page is pending.
func joinIfDone(ctx context.Context, tx pgx.Tx, batchID int64) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE batches b SET state = 'assembling', updated_at = now()
		WHERE b.id = $1 AND b.state = 'ocr'
		AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.batch_id = b.id AND p.state <> 'done')
		AND (SELECT count(*) FROM pages p WHERE p.batch_id = b.id) = b.page_count`, batchID)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	return true, addEvent(ctx, tx, batchID, "ocr done", "")
}

// JoinIfDone is the join on its own, for the reconciler: a batch whose last
// page completed but whose move to assembling was lost.
func (db *DB) JoinIfDone(ctx context.Context, batchID int64) (bool, error) {
	joined := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		joined, err = joinIfDone(ctx, tx, batchID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("join batch %d: %w", batchID, err)
	}
	return joined, nil
}

// FailPage records that a page could not be processed, and fails its batch
// with a reason naming the page.
func (db *DB) FailPage(ctx context.Context, batchID int64, no int, reason string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE pages SET state = 'failed', error = $3, updated_at = now()
			WHERE batch_id = $1 AND page_no = $2 AND state <> 'done'`, batchID, no, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("fail page %d of batch %d: %w", no, batchID, err)
	}
	_, err = db.FailBatch(ctx, batchID, fmt.Sprintf("page %d: %s", no, reason))
	return err
}

// FailBatch records that a batch's processing gave up, with a reason a
// person can read.
func (db *DB) FailBatch(ctx context.Context, id int64, reason string) (bool, error) {
	return db.transition(ctx, id, unfinishedStates, StateFailed, "failed", reason, `, reason = $4`, reason)
}

// Assembled records the batch's searchable PDF and moves the batch on to
// filing.
func (db *DB) Assembled(ctx context.Context, id int64, searchableKey string) (bool, error) {
	return db.transition(ctx, id, []string{StateAssembling}, StateFiling, "assembled", "", `, searchable_key = $4`, searchableKey)
}

// RetryBatch puts a failed batch back to work: failed pages become pending
// again, and the batch goes back to the stage it failed in. It returns the
// state the batch resumes in.
func (db *DB) RetryBatch(ctx context.Context, id int64) (string, error) {
	var state string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var cur, searchable string
		var pages int
		if err := tx.QueryRow(ctx, `SELECT state, page_count, searchable_key FROM batches WHERE id = $1 FOR UPDATE`, id).Scan(&cur, &pages, &searchable); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if cur != StateFailed {
			return fmt.Errorf("batch is %s, only a failed batch can be retried", cur)
		}
		if _, err := tx.Exec(ctx, `UPDATE pages SET state = 'pending', error = '' WHERE batch_id = $1 AND state = 'failed'`, id); err != nil {
			return err
		}
		var pending int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pages WHERE batch_id = $1 AND state <> 'done'`, id).Scan(&pending); err != nil {
			return err
		}
		switch {
		case pages == 0:
			state = StateQueued
		case pending > 0:
			state = StateOCR
		case searchable != "":
			state = StateFiling
		default:
			state = StateAssembling
		}
		if _, err := tx.Exec(ctx, `UPDATE batches SET state = $2, reason = '', reason_code = '', finished_at = NULL,
			updated_at = now() - interval '1 hour' WHERE id = $1`, id, state); err != nil {
			return err
		}
		return addEvent(ctx, tx, id, "retry", "resumes at "+state)
	})
	if err != nil {
		return "", fmt.Errorf("retry batch %d: %w", id, err)
	}
	return state, nil
}

// Event is one entry of a batch's history.
type Event struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// Events returns a batch's history, oldest first.
func (db *DB) Events(ctx context.Context, batchID int64) ([]Event, error) {
	rows, err := db.pool.Query(ctx, `SELECT at, event, detail FROM batch_events WHERE batch_id = $1 ORDER BY id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("read events of batch %d: %w", batchID, err)
	}
	evs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Event])
	if err != nil {
		return nil, fmt.Errorf("read events of batch %d: %w", batchID, err)
	}
	return evs, nil
}

// ReasonWaiting is the reason code of an unfinished batch held up by a
// condition that clears by itself (a worker's disk full): its work retries,
// and the reason goes when a retry succeeds.
const ReasonWaiting = "waiting"

// Hold records, with a reason a person can read, why an unfinished batch is
// held up while its work retries. The batch shows the reason (batches list,
// /api/batches) and its history records it once, not at every retry.
func (db *DB) Hold(ctx context.Context, id int64, reason string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE batches SET reason = $2, reason_code = $4 WHERE id = $1 AND state = ANY($3)
			AND NOT (reason_code = $4 AND reason = $2)`, id, reason, unfinishedStates, ReasonWaiting)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return addEvent(ctx, tx, id, "waiting", reason)
	})
	if err != nil {
		return fmt.Errorf("hold batch %d: %w", id, err)
	}
	return nil
}

// Unhold clears the reason Hold gave, once work on the batch succeeds again.
func (db *DB) Unhold(ctx context.Context, id int64) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE batches SET reason = '', reason_code = '' WHERE id = $1 AND reason_code = $2`, id, ReasonWaiting)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return addEvent(ctx, tx, id, "resumed", "")
	})
	if err != nil {
		return fmt.Errorf("resume batch %d: %w", id, err)
	}
	return nil
}

// TouchBatch marks a batch as worked on now, so the reconciler leaves it be.
func (db *DB) TouchBatch(ctx context.Context, id int64) error {
	_, err := db.pool.Exec(ctx, `UPDATE batches SET updated_at = now() WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("touch batch %d: %w", id, err)
	}
	return nil
}

// PendingPages lists the numbers of a batch's pages that are not done.
func (db *DB) PendingPages(ctx context.Context, batchID int64) ([]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT page_no FROM pages WHERE batch_id = $1 AND state = 'pending' ORDER BY page_no`, batchID)
	if err != nil {
		return nil, fmt.Errorf("read pending pages of batch %d: %w", batchID, err)
	}
	nos, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("read pending pages of batch %d: %w", batchID, err)
	}
	return nos, nil
}

// PageTexts returns the OCR text of every page of a batch, by page number.
// It is patient data: callers must not log it.
func (db *DB) PageTexts(ctx context.Context, batchID int64) (map[int]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT page_no, text FROM pages WHERE batch_id = $1`, batchID)
	if err != nil {
		return nil, fmt.Errorf("read text of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var no int
		var text string
		if err := rows.Scan(&no, &text); err != nil {
			return nil, fmt.Errorf("read text of batch %d: %w", batchID, err)
		}
		out[no] = text
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read text of batch %d: %w", batchID, err)
	}
	return out, nil
}
