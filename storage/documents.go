package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"paperchart/chart"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Document states: a document waits for a person (review), is filed to a
// patient (filed), or was thrown out by a person (discarded: not a page of
// any patient's record, say a blank fax cover).
const (
	DocReview    = "review"
	DocFiled     = "filed"
	DocDiscarded = "discarded"
)

// Document statuses (FHIR DocumentReference.docStatus) of filed documents.
const (
	// DocStatusFinal: every decision is sure or a person made it.
	DocStatusFinal = "final"
	// DocStatusPreliminary: filed under its sure patient while its type is
	// in doubt; the type-check queue lists it until a person confirms the
	// type.
	DocStatusPreliminary = "preliminary"
)

// FiledByAuto is Document.FiledBy for documents that filed themselves.
const FiledByAuto = "auto"

// Document is one document cut from a batch, with the three decisions made
// on it (split, type, patient), each with its confidence. Candidates,
// Identifiers and TypeRanked are the stored decisions (package chart, JSON
// columns); they hold patient data.
type Document struct {
	ID                int64             `json:"id"`
	BatchID           int64             `json:"batch_id"`
	Seq               int               `json:"seq"`
	State             string            `json:"state"`
	DocStatus         string            `json:"doc_status"` // DocStatusFinal or DocStatusPreliminary
	Pages             []int             `json:"pages"`
	ObjectKey         string            `json:"-"`
	PDFSize           int64             `json:"pdf_size"`
	PDFSHA1           string            `json:"pdf_sha1,omitempty"` // hex
	PatientID         *int64            `json:"patient_id,omitempty"`
	Type              string            `json:"type,omitempty"`
	LOINC             string            `json:"loinc,omitempty"`
	Title             string            `json:"title,omitempty"`
	ServiceDate       *time.Time        `json:"service_date,omitempty"`
	Facility          string            `json:"facility,omitempty"`
	SeparatedBy       string            `json:"separated_by"`
	SplitConfidence   float64           `json:"split_confidence"`
	SplitReview       bool              `json:"split_review"`
	SplitReasons      []string          `json:"split_reasons"`
	TypeSuggested     string            `json:"type_suggested,omitempty"`
	TypeConfidence    float64           `json:"type_confidence"`
	TypeReview        bool              `json:"type_review"`
	TypeRanked        chart.RankedTypes `json:"type_ranked"`
	PatientSuggested  *int64            `json:"patient_suggested,omitempty"`
	PatientConfidence float64           `json:"patient_confidence"`
	PatientReview     bool              `json:"patient_review"`
	Candidates        chart.Candidates  `json:"candidates"`
	Identifiers       chart.Identifiers `json:"identifiers"`
	ReviewReasons     []string          `json:"review_reasons"`
	FiledBy           string            `json:"filed_by,omitempty"`
	FiledAt           *time.Time        `json:"filed_at,omitempty"`
	ClaimedBy         string            `json:"claimed_by,omitempty"`
	ClaimedUntil      *time.Time        `json:"claimed_until,omitempty"`
	MergedInto        *int64            `json:"merged_into,omitempty"`
	Replaces          *int64            `json:"replaces,omitempty"` // the moved document this one replaces (DB.MoveFiled)
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

const documentColumns = `id, batch_id, seq, state, pages, object_key, patient_id, type, loinc, title, service_date, facility,
	separated_by, split_confidence, split_review, split_reasons, type_suggested, type_confidence, type_review, type_ranked,
	patient_suggested, patient_confidence, patient_review, candidates, identifiers, review_reasons, filed_by, filed_at,
	claimed_by, claimed_until, merged_into, pdf_size, pdf_sha1, created_at, updated_at, doc_status, replaces`

func scanDocument(row pgx.Row) (Document, error) {
	var d Document
	var sc, tc, pc float32
	var pages []int32
	err := row.Scan(&d.ID, &d.BatchID, &d.Seq, &d.State, &pages, &d.ObjectKey, &d.PatientID, &d.Type, &d.LOINC, &d.Title,
		&d.ServiceDate, &d.Facility, &d.SeparatedBy, &sc, &d.SplitReview, &d.SplitReasons, &d.TypeSuggested, &tc,
		&d.TypeReview, &d.TypeRanked, &d.PatientSuggested, &pc, &d.PatientReview, &d.Candidates, &d.Identifiers,
		&d.ReviewReasons, &d.FiledBy, &d.FiledAt, &d.ClaimedBy, &d.ClaimedUntil, &d.MergedInto, &d.PDFSize, &d.PDFSHA1, &d.CreatedAt, &d.UpdatedAt, &d.DocStatus, &d.Replaces)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	d.SplitConfidence, d.TypeConfidence, d.PatientConfidence = float64(sc), float64(tc), float64(pc)
	d.Pages = make([]int, len(pages))
	for i, p := range pages {
		d.Pages[i] = int(p)
	}
	return d, err
}

func (db *DB) queryDocuments(ctx context.Context, what, sql string, args ...any) ([]Document, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Document returns one document.
func (db *DB) Document(ctx context.Context, id int64) (Document, error) {
	d, err := scanDocument(db.pool.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1`, id))
	if err != nil {
		return d, fmt.Errorf("read document %d: %w", id, err)
	}
	return d, nil
}

// BatchDocuments returns the documents cut from a batch, in batch order.
func (db *DB) BatchDocuments(ctx context.Context, batchID int64) ([]Document, error) {
	return db.queryDocuments(ctx, fmt.Sprintf("read documents of batch %d", batchID),
		`SELECT `+documentColumns+` FROM documents WHERE batch_id = $1 ORDER BY seq`, batchID)
}

// ReviewFilter selects documents of the review queue.
type ReviewFilter struct {
	Limit   int    // default 100
	AfterID int64  // for paging: documents with a larger ID
	Source  string // only documents from batches of this drop folder
	Reason  string // only documents in review for this reason: ReasonSplit, ReasonType, ReasonPatient, ReasonIdentifiers
}

// ReviewQueue returns documents waiting for a person, oldest first.
func (db *DB) ReviewQueue(ctx context.Context, f ReviewFilter) ([]Document, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return db.queryDocuments(ctx, "read the review queue", `SELECT `+prefixed("d.", documentColumns)+`
		FROM documents d JOIN batches b ON b.id = d.batch_id WHERE `+reviewWhere+` ORDER BY d.id LIMIT $2`,
		f.AfterID, f.Limit, f.Source, f.Reason)
}

// ReviewCount returns how many documents wait for a person.
func (db *DB) ReviewCount(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE state = 'review'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the review queue: %w", err)
	}
	return n, nil
}

// PatientDocuments returns the documents filed to a patient, newest
// service date first.
func (db *DB) PatientDocuments(ctx context.Context, patientID int64) ([]Document, error) {
	return db.queryDocuments(ctx, fmt.Sprintf("read documents of patient %d", patientID),
		`SELECT `+documentColumns+` FROM documents WHERE state = 'filed' AND patient_id = $1
		ORDER BY service_date DESC NULLS LAST, id DESC`, patientID)
}

// NewDocument is a document as the filing stage decided it.
type NewDocument struct {
	Seq               int
	State             string // DocReview or DocFiled
	DocStatus         string // of a filed document: DocStatusFinal ("" too) or DocStatusPreliminary
	Pages             []int
	ObjectKey         string
	PDFSize           int64  // bytes of the PDF at ObjectKey
	PDFSHA1           string // its SHA-1, hex
	PatientID         *int64 // when filed
	Type, LOINC       string // when filed (or suggested, for review)
	Title             string
	ServiceDate       *time.Time
	Facility          string
	SeparatedBy       string
	SplitConfidence   float64
	SplitReview       bool
	SplitReasons      []string
	TypeSuggested     string
	TypeConfidence    float64
	TypeReview        bool
	TypeRanked        chart.RankedTypes
	PatientSuggested  *int64
	PatientConfidence float64
	PatientReview     bool
	Candidates        chart.Candidates
	Identifiers       chart.Identifiers
	ReviewReasons     []string
}

// FiledSummary counts what FinishFiling recorded.
type FiledSummary struct {
	Documents, Filed, Review int
}

// FinishFiling records a batch's documents and moves the batch from filing
// to done, in one transaction. It is idempotent: when the batch already has
// documents (a re-delivered task), nothing is inserted and the existing ones
// are counted; it reports false when the batch was not in filing.
func (db *DB) FinishFiling(ctx context.Context, batchID int64, docs []NewDocument) (FiledSummary, bool, error) {
	var sum FiledSummary
	moved := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM batches WHERE id = $1 FOR UPDATE`, batchID).Scan(&state); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if state != StateFiling {
			return nil
		}
		var existing int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM documents WHERE batch_id = $1`, batchID).Scan(&existing); err != nil {
			return err
		}
		if existing == 0 {
			for _, d := range docs {
				if err := insertDocument(ctx, tx, batchID, d); err != nil {
					return fmt.Errorf("document %d: %w", d.Seq, err)
				}
			}
		}
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'filed'), count(*) FILTER (WHERE state = 'review')
			FROM documents WHERE batch_id = $1`, batchID).Scan(&sum.Documents, &sum.Filed, &sum.Review); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE batches SET state = 'done', updated_at = now(), finished_at = now() WHERE id = $1`, batchID); err != nil {
			return err
		}
		moved = true
		return addEvent(ctx, tx, batchID, "done", fmt.Sprintf("%d documents: %d filed, %d to review", sum.Documents, sum.Filed, sum.Review))
	})
	if err != nil {
		return sum, false, fmt.Errorf("record documents of batch %d: %w", batchID, err)
	}
	return sum, moved, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// documentJSON encodes a new document's JSON columns.
func documentJSON(d NewDocument) (ranked, cands, ids []byte, err error) {
	if ranked, err = json.Marshal(d.TypeRanked); err != nil {
		return
	}
	if cands, err = json.Marshal(d.Candidates); err != nil {
		return
	}
	ids, err = json.Marshal(d.Identifiers)
	return
}

func insertDocument(ctx context.Context, tx pgx.Tx, batchID int64, d NewDocument) error {
	id, err := insertDocumentRow(ctx, tx, batchID, d)
	if err != nil {
		return err
	}
	event := "to review"
	if d.State == DocFiled {
		event = "filed"
	}
	return addDocEvent(ctx, tx, id, FiledByAuto, event, "")
}

// docStatus is the status a new document is stored with.
func docStatus(d NewDocument) string {
	if d.State == DocFiled && d.DocStatus == DocStatusPreliminary {
		return DocStatusPreliminary
	}
	return DocStatusFinal
}

func insertDocumentRow(ctx context.Context, tx pgx.Tx, batchID int64, d NewDocument) (int64, error) {
	ranked, cands, ids, err := documentJSON(d)
	if err != nil {
		return 0, err
	}
	var filedBy string
	var filedAt *time.Time
	if d.State == DocFiled {
		now := time.Now()
		filedBy, filedAt = FiledByAuto, &now
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO documents (batch_id, seq, state, pages, object_key, patient_id, type, loinc, title,
		service_date, facility, separated_by, split_confidence, split_review, split_reasons, type_suggested, type_confidence,
		type_review, type_ranked, patient_suggested, patient_confidence, patient_review, candidates, identifiers,
		review_reasons, filed_by, filed_at, pdf_size, pdf_sha1, doc_status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
		$24, $25, $26, $27, $28, $29, $30) RETURNING id`,
		batchID, d.Seq, d.State, d.Pages, d.ObjectKey, d.PatientID, d.Type, d.LOINC, d.Title, d.ServiceDate, d.Facility,
		d.SeparatedBy, d.SplitConfidence, d.SplitReview, nonNil(d.SplitReasons), d.TypeSuggested, d.TypeConfidence, d.TypeReview,
		ranked, d.PatientSuggested, d.PatientConfidence, d.PatientReview, cands, ids, nonNil(d.ReviewReasons), filedBy, filedAt,
		d.PDFSize, d.PDFSHA1, docStatus(d)).Scan(&id)
	return id, err
}

func addDocEvent(ctx context.Context, q execer, docID int64, actor, event, detail string) error {
	_, err := q.Exec(ctx, `INSERT INTO document_events (document_id, actor, event, detail) VALUES ($1, $2, $3, $4)`,
		docID, actor, event, detail)
	return err
}

// DocumentEvent is one entry of a document's history.
type DocumentEvent struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// RecordDocumentEvent appends to a document's history: a read ("viewed",
// "downloaded") by actor, say.
func (db *DB) RecordDocumentEvent(ctx context.Context, docID int64, actor, event, detail string) error {
	if err := addDocEvent(ctx, db.pool, docID, actor, event, detail); err != nil {
		return fmt.Errorf("record %s of document %d: %w", event, docID, err)
	}
	return nil
}

// DocumentEvents returns a document's history, oldest first.
func (db *DB) DocumentEvents(ctx context.Context, docID int64) ([]DocumentEvent, error) {
	rows, err := db.pool.Query(ctx, `SELECT at, actor, event, detail FROM document_events WHERE document_id = $1 ORDER BY id`, docID)
	if err != nil {
		return nil, fmt.Errorf("read history of document %d: %w", docID, err)
	}
	evs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DocumentEvent])
	if err != nil {
		return nil, fmt.Errorf("read history of document %d: %w", docID, err)
	}
	return evs, nil
}

// ErrNotInReview is returned when a person acts on a document that is no
// longer waiting for review (someone else filed it first, say).
var ErrNotInReview = errors.New("document is not waiting for review")

// ReviewDecision is what a person decided about a document in review.
type ReviewDecision struct {
	Actor     string
	PatientID int64
	Type      string
	LOINC     string
	ObjectKey string // where the document's PDF now is (under the patient)
	// ServiceDate, when set, replaces the date of service read on the pages.
	ServiceDate *time.Time
}

// FileReviewed files a document in review to the patient and type a person
// chose, and keeps every difference from what the pipeline suggested as a
// correction (for retraining). It fails with ErrNotInReview when the
// document is not in review.
func (db *DB) FileReviewed(ctx context.Context, docID int64, r ReviewDecision) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var state, typeSuggested string
		var suggested *int64
		if err := tx.QueryRow(ctx, `SELECT state, type_suggested, patient_suggested FROM documents WHERE id = $1 FOR UPDATE`, docID).
			Scan(&state, &typeSuggested, &suggested); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if state != DocReview {
			return ErrNotInReview
		}
		if err := checkClaim(ctx, tx, docID, r.Actor); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE documents SET state = 'filed', patient_id = $2, type = $3, loinc = $4, object_key = $5,
			filed_by = $6, filed_at = now(), updated_at = now(), claimed_by = '', claimed_until = NULL,
			service_date = COALESCE($7, service_date) WHERE id = $1`,
			docID, r.PatientID, r.Type, r.LOINC, r.ObjectKey, r.Actor, r.ServiceDate); err != nil {
			return err
		}
		if r.Type != typeSuggested {
			if err := addCorrection(ctx, tx, docID, r.Actor, "type", typeSuggested, r.Type); err != nil {
				return err
			}
		}
		if suggested == nil || *suggested != r.PatientID {
			from := ""
			if suggested != nil {
				from = fmt.Sprint(*suggested)
			}
			if err := addCorrection(ctx, tx, docID, r.Actor, "patient", from, fmt.Sprint(r.PatientID)); err != nil {
				return err
			}
		}
		return addDocEvent(ctx, tx, docID, r.Actor, "filed", fmt.Sprintf("patient %d, type %s", r.PatientID, r.Type))
	})
	if err != nil {
		return fmt.Errorf("file document %d: %w", docID, err)
	}
	return nil
}

// Discard takes a document in review out of the queue without filing it,
// with a reason a person gave.
func (db *DB) Discard(ctx context.Context, docID int64, actor, reason string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM documents WHERE id = $1 FOR UPDATE) x`, docID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			if err := checkClaim(ctx, tx, docID, actor); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE documents SET state = 'discarded', updated_at = now(), claimed_by = '', claimed_until = NULL
			WHERE id = $1 AND state = 'review'`, docID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM documents WHERE id = $1`, docID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
			return ErrNotInReview
		}
		return addDocEvent(ctx, tx, docID, actor, "discarded", reason)
	})
	if err != nil {
		return fmt.Errorf("discard document %d: %w", docID, err)
	}
	return nil
}

func addCorrection(ctx context.Context, tx pgx.Tx, docID int64, actor, field, suggested, chosen string) error {
	_, err := tx.Exec(ctx, `INSERT INTO document_corrections (document_id, actor, field, suggested, chosen) VALUES ($1, $2, $3, $4, $5)`,
		docID, actor, field, suggested, chosen)
	return err
}

// Correction is a person's change to what the pipeline suggested.
type Correction struct {
	DocumentID int64     `json:"document_id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Field      string    `json:"field"`
	Suggested  string    `json:"suggested"`
	Chosen     string    `json:"chosen"`
}

// Corrections returns the corrections of one field ("type", "patient" or
// "split"), oldest first.
func (db *DB) Corrections(ctx context.Context, field string) ([]Correction, error) {
	rows, err := db.pool.Query(ctx, `SELECT document_id, at, actor, field, suggested, chosen FROM document_corrections
		WHERE field = $1 ORDER BY id`, field)
	if err != nil {
		return nil, fmt.Errorf("read %s corrections: %w", field, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Correction])
	if err != nil {
		return nil, fmt.Errorf("read %s corrections: %w", field, err)
	}
	return out, nil
}

// DocumentFilter selects documents for ListDocuments; zero fields match all.
type DocumentFilter struct {
	State     string
	BatchID   int64
	PatientID int64
	Limit     int // default 100
}

// ListDocuments returns documents, newest first.
func (db *DB) ListDocuments(ctx context.Context, f DocumentFilter) ([]Document, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return db.queryDocuments(ctx, "list documents", `SELECT `+documentColumns+` FROM documents
		WHERE ($1 = '' OR state = $1) AND ($2::bigint = 0 OR batch_id = $2) AND ($3::bigint = 0 OR patient_id = $3)
		ORDER BY id DESC LIMIT $4`, f.State, f.BatchID, f.PatientID, f.Limit)
}

// LabelledText is a document's text with the type a person gave it.
type LabelledText struct {
	Type string
	Text string
}

// ReviewedTexts returns the text and type of every document a person filed
// from the review queue: the technicians' corrections, to retrain the
// classifier on. The text is patient data: never log it.
func (db *DB) ReviewedTexts(ctx context.Context) ([]LabelledText, error) {
	rows, err := db.pool.Query(ctx, `SELECT d.type, string_agg(p.text, E'\n\n' ORDER BY p.page_no)
		FROM documents d JOIN pages p ON p.batch_id = d.batch_id AND p.page_no = ANY(d.pages)
		WHERE d.state = 'filed' AND d.filed_by <> 'auto'
		GROUP BY d.id, d.type ORDER BY d.id`)
	if err != nil {
		return nil, fmt.Errorf("read reviewed documents: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[LabelledText])
	if err != nil {
		return nil, fmt.Errorf("read reviewed documents: %w", err)
	}
	return out, nil
}

// FiledQuery selects filed documents for the EHR (FHIR DocumentReference
// search and $docref). Zero fields match all.
type FiledQuery struct {
	PatientID int64
	IDs       []int64  // only these documents (FHIR _id)
	LOINC     []string // any of these type codes
	// States are the document states served: DocFiled (FHIR current)
	// and/or DocMoved (entered-in-error). None: DocFiled only.
	States []string
	// Date bounds on the date the document was filed (DocumentReference.date);
	// each is "ge", "gt", "le" or "lt" with a time.
	Date []DateBound
	// Period bounds on the date of service (DocumentReference.context.period),
	// a day long: a document without one matches no bound.
	Period []DateBound
	// Care bounds on the date of care: the date of service, else the day
	// the document was filed (UTC) — what $docref's start and end select.
	Care []DateBound
	// LatestPerType keeps only the most current document of each type: the
	// latest date of care, then the latest filed ($docref without dates).
	LatestPerType bool
	Limit         int // default 20
	Offset        int
}

// DateBound is one prefixed date condition.
type DateBound struct {
	Op string // ge, gt, le, lt, eq
	At time.Time
	// End is the first instant after the precision of the value given
	// (2024-03 → 2024-04-01): eq means At ≤ date < End, le/gt compare with End.
	End time.Time
}

// instantBound is the SQL condition of b on an instant column: the
// instant lies in the range b selects.
func instantBound(col string, b DateBound, args *[]any) (string, error) {
	arg := func(v any) string { *args = append(*args, v); return fmt.Sprintf("$%d", len(*args)) }
	switch b.Op {
	case "ge":
		return col + " >= " + arg(b.At), nil
	case "gt":
		return col + " >= " + arg(b.End), nil
	case "le":
		return col + " < " + arg(b.End), nil
	case "lt":
		return col + " < " + arg(b.At), nil
	case "eq", "":
		return col + " >= " + arg(b.At) + " AND " + col + " < " + arg(b.End), nil
	}
	return "", fmt.Errorf("date prefix %q is not supported", b.Op)
}

// dayBound is the SQL condition of b on a date column read as the range of
// its day [start, start+1 day) in UTC, as FHIR compares ranges: eq, the
// search range contains the day; ge and gt, the day ends after the start
// (or the end) of the search value; le and lt, it begins before its end
// (or its start). NULL matches nothing.
func dayBound(col string, b DateBound, args *[]any) (string, error) {
	start := "(" + col + "::timestamp AT TIME ZONE 'UTC')"
	end := "(" + start + " + interval '1 day')"
	arg := func(v any) string { *args = append(*args, v); return fmt.Sprintf("$%d", len(*args)) }
	switch b.Op {
	case "ge":
		return end + " > " + arg(b.At), nil
	case "gt":
		return end + " > " + arg(b.End), nil
	case "le":
		return start + " < " + arg(b.End), nil
	case "lt":
		return start + " < " + arg(b.At), nil
	case "eq", "":
		return start + " >= " + arg(b.At) + " AND " + end + " <= " + arg(b.End), nil
	}
	return "", fmt.Errorf("date prefix %q is not supported", b.Op)
}

// careDate is the SQL date of care of a document: its date of service,
// else the day it was filed (UTC).
const careDate = `coalesce(service_date, (filed_at AT TIME ZONE 'UTC')::date)`

// FiledDocuments returns filed documents matching q, newest first, and how
// many match in all.
func (db *DB) FiledDocuments(ctx context.Context, q FiledQuery) ([]Document, int, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	states := q.States
	if len(states) == 0 {
		states = []string{DocFiled}
	}
	for _, st := range states {
		if st != DocFiled && st != DocMoved {
			return nil, 0, fmt.Errorf("search filed documents: state %q is not served", st)
		}
	}
	// $1::bigint: "$1 = 0" alone makes $1 an integer, and an ID past 2^31 an error.
	where := `state = ANY($3) AND ($1::bigint = 0 OR patient_id = $1) AND (cardinality($2::text[]) = 0 OR loinc = ANY($2))`
	// A code that is not valid UTF-8 (or holds NUL) matches no document;
	// PostgreSQL would refuse the query for it.
	loinc := []string{} // nil would be NULL, whose cardinality is NULL
	for _, c := range q.LOINC {
		if utf8.ValidString(c) && !strings.ContainsRune(c, 0) {
			loinc = append(loinc, c)
		}
	}
	if len(q.LOINC) > 0 && len(loinc) == 0 {
		return nil, 0, nil
	}
	args := []any{q.PatientID, loinc, states}
	if q.IDs != nil {
		args = append(args, q.IDs)
		where += fmt.Sprintf(" AND id = ANY($%d)", len(args))
	}
	conds := []struct {
		bounds []DateBound
		cond   func(DateBound, *[]any) (string, error)
	}{
		{q.Date, func(b DateBound, a *[]any) (string, error) { return instantBound("filed_at", b, a) }},
		{q.Period, func(b DateBound, a *[]any) (string, error) { return dayBound("service_date", b, a) }},
		{q.Care, func(b DateBound, a *[]any) (string, error) { return dayBound(careDate, b, a) }},
	}
	for _, c := range conds {
		for _, b := range c.bounds {
			cond, err := c.cond(b, &args)
			if err != nil {
				return nil, 0, err
			}
			where += " AND " + cond
		}
	}
	if q.LatestPerType {
		where += ` AND id IN (SELECT DISTINCT ON (loinc) id FROM documents WHERE ` + where +
			` ORDER BY loinc, ` + careDate + ` DESC, filed_at DESC, id DESC)`
	}
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count filed documents: %w", err)
	}
	n := len(args)
	docs, err := db.queryDocuments(ctx, "search filed documents", `SELECT `+documentColumns+` FROM documents WHERE `+where+
		fmt.Sprintf(` ORDER BY filed_at DESC, id DESC LIMIT $%d OFFSET $%d`, n+1, n+2), append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	return docs, total, nil
}
