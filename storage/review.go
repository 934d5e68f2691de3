package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DocMerged is the state of a document a person merged into the one before
// it (Document.MergedInto).
const DocMerged = "merged"

// ErrClaimed is returned when another person holds a document's claim.
// errors.As with *ClaimError says who, and until when.
var ErrClaimed = errors.New("document is being worked on by someone else")

// ClaimError says who holds a document's claim.
type ClaimError struct {
	By    string
	Until time.Time
}

func (e *ClaimError) Error() string {
	return fmt.Sprintf("%v: %s, until %s", ErrClaimed, e.By, e.Until.Format(time.Kitchen))
}

func (e *ClaimError) Unwrap() error { return ErrClaimed }

// claimable is the SQL condition that actor ($2) may act on a document: it
// holds the claim, or nobody holds a live one.
const claimable = `(claimed_by = '' OR claimed_by = $2 OR claimed_until IS NULL OR claimed_until < now())`

// Claim gives user the document for ttl, so that nobody else works on it:
// when it is unclaimed, its claim expired, or user holds it already (which
// extends it). It fails with ErrNotInReview for a document not in review and
// with a *ClaimError when someone else holds it.
func (db *DB) Claim(ctx context.Context, docID int64, user string, ttl time.Duration) (Document, error) {
	var d Document
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var state, by string
		var until *time.Time
		if err := tx.QueryRow(ctx, `SELECT state, claimed_by, claimed_until FROM documents WHERE id = $1 FOR UPDATE`, docID).
			Scan(&state, &by, &until); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if state != DocReview {
			return ErrNotInReview
		}
		if by != "" && by != user && until != nil && until.After(time.Now()) {
			return &ClaimError{By: by, Until: *until}
		}
		if _, err := tx.Exec(ctx, `UPDATE documents SET claimed_by = $2, claimed_until = now() + $3 * interval '1 second'
			WHERE id = $1`, docID, user, ttl.Seconds()); err != nil {
			return err
		}
		if by != user {
			if err := addDocEvent(ctx, tx, docID, user, "claimed", ""); err != nil {
				return err
			}
		}
		var err error
		d, err = scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1`, docID))
		return err
	})
	if err != nil {
		return d, fmt.Errorf("claim document %d: %w", docID, err)
	}
	return d, nil
}

// ReleaseClaim gives up user's claim on a document. A supervisor releasing
// someone else's claim passes force.
func (db *DB) ReleaseClaim(ctx context.Context, docID int64, user string, force bool) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE documents SET claimed_by = '', claimed_until = NULL
			WHERE id = $1 AND claimed_by <> '' AND (claimed_by = $2 OR $3)`, docID, user, force)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return addDocEvent(ctx, tx, docID, user, "released", "")
	})
	if err != nil {
		return fmt.Errorf("release document %d: %w", docID, err)
	}
	return nil
}

// checkClaim fails with a *ClaimError when someone other than actor holds a
// live claim on the document (row locked by the caller's transaction).
func checkClaim(ctx context.Context, tx pgx.Tx, docID int64, actor string) error {
	var by string
	var until *time.Time
	if err := tx.QueryRow(ctx, `SELECT claimed_by, claimed_until FROM documents WHERE id = $1`, docID).Scan(&by, &until); err != nil {
		return err
	}
	if by != "" && by != actor && until != nil && until.After(time.Now()) {
		return &ClaimError{By: by, Until: *until}
	}
	return nil
}

// Review reasons a queue can be filtered by.
const (
	ReasonSplit       = "split"       // where the document starts or ends is uncertain
	ReasonType        = "type"        // the type is uncertain
	ReasonPatient     = "patient"     // the patient match is uncertain
	ReasonIdentifiers = "identifiers" // no patient identifiers were found at all
)

// reviewWhere is the SQL condition of a review filter; arguments start at $3.
const reviewWhere = `d.state = 'review' AND d.id > $1
	AND ($3 = '' OR b.source = $3)
	AND ($4 = '' OR ($4 = 'split' AND d.split_review) OR ($4 = 'type' AND d.type_review)
		OR ($4 = 'patient' AND d.patient_review AND (d.identifiers - 'facility' - 'service_date') <> '{}'::jsonb)
		OR ($4 = 'identifiers' AND d.patient_review AND (d.identifiers - 'facility' - 'service_date') = '{}'::jsonb))`

// ReviewSummary is one row of the review queue: the document and the
// batch it came from.
type ReviewSummary struct {
	Document
	Source    string `json:"source"`     // drop folder
	BatchName string `json:"batch_name"` // file name as dropped
}

// ReviewList returns the review queue with each document's batch, oldest
// first.
func (db *DB) ReviewList(ctx context.Context, f ReviewFilter) ([]ReviewSummary, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT `+prefixed("d.", documentColumns)+`, b.source, b.name
		FROM documents d JOIN batches b ON b.id = d.batch_id
		WHERE `+reviewWhere+` ORDER BY d.id LIMIT $2`, f.AfterID, f.Limit, f.Source, f.Reason)
	if err != nil {
		return nil, fmt.Errorf("read the review queue: %w", err)
	}
	defer rows.Close()
	var out []ReviewSummary
	for rows.Next() {
		var rs ReviewSummary
		d, err := scanDocument(rowWithExtra{rows, []any{&rs.Source, &rs.BatchName}})
		if err != nil {
			return nil, fmt.Errorf("read the review queue: %w", err)
		}
		rs.Document = d
		out = append(out, rs)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the review queue: %w", err)
	}
	return out, nil
}

// NextUnclaimed returns the oldest document in review that nobody but user
// holds a live claim on, after afterID (0: from the start), or ErrNotFound.
func (db *DB) NextUnclaimed(ctx context.Context, user string, f ReviewFilter) (Document, error) {
	d, err := scanDocument(db.pool.QueryRow(ctx, `SELECT `+prefixed("d.", documentColumns)+`
		FROM documents d JOIN batches b ON b.id = d.batch_id
		WHERE `+reviewWhere+` AND (d.claimed_by = '' OR d.claimed_by = $2 OR d.claimed_until < now())
		ORDER BY d.id LIMIT 1`, f.AfterID, user, f.Source, f.Reason))
	if err != nil {
		return d, fmt.Errorf("next document to review: %w", err)
	}
	return d, nil
}

// rowWithExtra scans a document row followed by extra columns.
type rowWithExtra struct {
	pgx.Row
	extra []any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.extra...)...) }

func prefixed(p, cols string) string {
	out := make([]byte, 0, len(cols)+64)
	start := true
	for i := 0; i < len(cols); i++ {
		c := cols[i]
		if start && c != ' ' && c != '\n' && c != '\t' {
			out = append(out, p...)
			start = false
		}
		out = append(out, c)
		if c == ',' {
			start = true
		}
	}
	return string(out)
}

// UserCount is how many documents one person filed.
type UserCount struct {
	User  string `json:"user"`
	Filed int    `json:"filed"`
}

// ReviewStats are the figures a supervisor watches.
type ReviewStats struct {
	Waiting            int            `json:"waiting"`
	OldestAt           *time.Time     `json:"oldest_at,omitempty"`
	ByReason           map[string]int `json:"by_reason"`
	FiledToday         int            `json:"filed_today"`
	FiledByPeopleToday int            `json:"filed_by_people_today"`
	ByUser             []UserCount    `json:"by_user"` // today
	// TypeCheck counts filed documents whose type waits for a person.
	TypeCheck int `json:"type_check"`
}

// ReviewStats counts the queue and today's filing.
func (db *DB) ReviewStats(ctx context.Context) (ReviewStats, error) {
	st := ReviewStats{ByReason: map[string]int{}}
	var split, typ, patient, idents int
	// The same conditions as the queue's reason filters (reviewWhere).
	err := db.pool.QueryRow(ctx, `SELECT count(*), min(created_at),
		count(*) FILTER (WHERE split_review), count(*) FILTER (WHERE type_review),
		count(*) FILTER (WHERE patient_review AND (identifiers - 'facility' - 'service_date') <> '{}'::jsonb),
		count(*) FILTER (WHERE patient_review AND (identifiers - 'facility' - 'service_date') = '{}'::jsonb)
		FROM documents WHERE state = 'review'`).Scan(&st.Waiting, &st.OldestAt, &split, &typ, &patient, &idents)
	if err != nil {
		return st, fmt.Errorf("count the review queue: %w", err)
	}
	st.ByReason[ReasonSplit], st.ByReason[ReasonType], st.ByReason[ReasonPatient] = split, typ, patient
	st.ByReason[ReasonIdentifiers] = idents
	if st.TypeCheck, err = db.TypeCheckCount(ctx); err != nil {
		return st, err
	}
	err = db.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE filed_by <> 'auto')
		FROM documents WHERE state = 'filed' AND filed_at >= date_trunc('day', now())`).Scan(&st.FiledToday, &st.FiledByPeopleToday)
	if err != nil {
		return st, fmt.Errorf("count today's filing: %w", err)
	}
	rows, err := db.pool.Query(ctx, `SELECT filed_by, count(*) FROM documents
		WHERE state = 'filed' AND filed_by <> 'auto' AND filed_at >= date_trunc('day', now())
		GROUP BY filed_by ORDER BY count(*) DESC, filed_by`)
	if err != nil {
		return st, fmt.Errorf("count filing by user: %w", err)
	}
	if st.ByUser, err = pgx.CollectRows(rows, pgx.RowToStructByPos[UserCount]); err != nil {
		return st, fmt.Errorf("count filing by user: %w", err)
	}
	return st, nil
}

// BatchProgress is a batch with what became of its documents.
type BatchProgress struct {
	Batch
	Filed     int `json:"documents_filed"`
	Review    int `json:"documents_review"`
	Discarded int `json:"documents_discarded"`
}

// BatchProgress returns the most recent batches with their document counts.
func (db *DB) BatchProgress(ctx context.Context, limit int) ([]BatchProgress, error) {
	bs, err := db.ListBatches(ctx, BatchFilter{Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]BatchProgress, len(bs))
	idx := make(map[int64]int, len(bs))
	ids := make([]int64, len(bs))
	for i, b := range bs {
		out[i].Batch = b
		idx[b.ID] = i
		ids[i] = b.ID
	}
	rows, err := db.pool.Query(ctx, `SELECT batch_id, count(*) FILTER (WHERE state = 'filed'),
		count(*) FILTER (WHERE state = 'review'), count(*) FILTER (WHERE state = 'discarded')
		FROM documents WHERE batch_id = ANY($1) GROUP BY batch_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("count documents of batches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var f, r, d int
		if err := rows.Scan(&id, &f, &r, &d); err != nil {
			return nil, fmt.Errorf("count documents of batches: %w", err)
		}
		p := &out[idx[id]]
		p.Filed, p.Review, p.Discarded = f, r, d
	}
	return out, rows.Err()
}

// Edit is a person's change to how a batch is cut into documents, applied
// in one transaction by ApplyEdit.
type Edit struct {
	Actor   string
	BatchID int64
	Event   string // recorded in the history of every document touched, e.g. "split at page 3"
	// Update holds documents re-decided on their new pages (the row's pages,
	// decisions and PDF key are replaced; its state stays review).
	Update map[int64]NewDocument
	// Insert holds new documents of the batch (in review).
	Insert []NewDocument
	// MergedInto ends documents merged into another one.
	MergedInto map[int64]int64
	// Discard ends documents left with no page.
	Discard []int64
	// Correction, when set, is kept as a split correction for tuning
	// separation.
	Correction string
}

// ApplyEdit applies a person's edit. Every document it touches must be in
// review (ErrNotInReview) and not claimed by somebody else (*ClaimError).
// It returns the IDs of the inserted documents.
func (db *DB) ApplyEdit(ctx context.Context, e Edit) ([]int64, error) {
	var touched []int64
	for id := range e.Update {
		touched = append(touched, id)
	}
	for id := range e.MergedInto {
		touched = append(touched, id)
	}
	touched = append(touched, e.Discard...)
	var ids []int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, state, batch_id FROM documents WHERE id = ANY($1) ORDER BY id FOR UPDATE`, touched)
		if err != nil {
			return err
		}
		found := 0
		for rows.Next() {
			var id, batch int64
			var state string
			if err := rows.Scan(&id, &state, &batch); err != nil {
				rows.Close()
				return err
			}
			found++
			if state != DocReview {
				rows.Close()
				return fmt.Errorf("document %d: %w", id, ErrNotInReview)
			}
			if batch != e.BatchID {
				rows.Close()
				return fmt.Errorf("document %d is not of batch %d", id, e.BatchID)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if found != len(uniq(touched)) {
			return ErrNotFound
		}
		for _, id := range touched {
			if err := checkClaim(ctx, tx, id, e.Actor); err != nil {
				return err
			}
		}
		for id, d := range e.Update {
			if err := updateDecided(ctx, tx, id, d); err != nil {
				return fmt.Errorf("document %d: %w", id, err)
			}
			if err := addDocEvent(ctx, tx, id, e.Actor, e.Event, ""); err != nil {
				return err
			}
		}
		for into := range e.MergedInto {
			if _, err := tx.Exec(ctx, `UPDATE documents SET state = 'merged', merged_into = $2, claimed_by = '', claimed_until = NULL,
				updated_at = now() WHERE id = $1`, into, e.MergedInto[into]); err != nil {
				return err
			}
			if err := addDocEvent(ctx, tx, into, e.Actor, "merged", fmt.Sprintf("into document %d", e.MergedInto[into])); err != nil {
				return err
			}
		}
		for _, id := range e.Discard {
			if _, err := tx.Exec(ctx, `UPDATE documents SET state = 'discarded', claimed_by = '', claimed_until = NULL, updated_at = now()
				WHERE id = $1`, id); err != nil {
				return err
			}
			if err := addDocEvent(ctx, tx, id, e.Actor, "discarded", "no page left: "+e.Event); err != nil {
				return err
			}
		}
		for _, d := range e.Insert {
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM documents WHERE batch_id = $1`, e.BatchID).Scan(&d.Seq); err != nil {
				return err
			}
			d.State, d.PatientID = DocReview, nil
			id, err := insertDocumentRow(ctx, tx, e.BatchID, d)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE documents SET claimed_by = $2, claimed_until = now() + interval '10 minutes' WHERE id = $1`,
				id, e.Actor); err != nil {
				return err
			}
			if err := addDocEvent(ctx, tx, id, e.Actor, e.Event, "new document"); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if e.Correction != "" {
			for _, id := range touched[:1] {
				if err := addCorrection(ctx, tx, id, e.Actor, "split", "", e.Correction); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Event, err)
	}
	return ids, nil
}

func uniq(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// updateDecided replaces a document's pages, decisions and PDF.
func updateDecided(ctx context.Context, tx pgx.Tx, id int64, d NewDocument) error {
	ranked, cands, ids, err := documentJSON(d)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE documents SET pages = $2, object_key = $3, type = $4, loinc = $5, title = $6, service_date = $7,
		facility = $8, separated_by = $9, split_confidence = $10, split_review = $11, split_reasons = $12, type_suggested = $13,
		type_confidence = $14, type_review = $15, type_ranked = $16, patient_suggested = $17, patient_confidence = $18,
		patient_review = $19, candidates = $20, identifiers = $21, review_reasons = $22, pdf_size = $23, pdf_sha1 = $24,
		updated_at = now() WHERE id = $1`,
		id, d.Pages, d.ObjectKey, d.Type, d.LOINC, d.Title, d.ServiceDate, d.Facility, d.SeparatedBy, d.SplitConfidence,
		d.SplitReview, nonNil(d.SplitReasons), d.TypeSuggested, d.TypeConfidence, d.TypeReview, ranked, d.PatientSuggested,
		d.PatientConfidence, d.PatientReview, cands, ids, nonNil(d.ReviewReasons), d.PDFSize, d.PDFSHA1)
	return err
}
