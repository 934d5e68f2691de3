package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DocMoved is the state of a filed document a person moved to another
// patient or type (re-indexing): the placement the EHR was told of, kept as
// it was and served as entered-in-error. The document that replaced it
// points back at it (Document.Replaces).
const DocMoved = "moved"

// MDM message types of the HL7 outbox (hl7_outbox.message_type).
const (
	MessageMDMT02 = "MDM^T02" // a document filed: its placement
	MessageMDMT11 = "MDM^T11" // a placement cancelled (the document moved)
)

var (
	// ErrNotFiled is returned by MoveFiled for a document that is not filed
	// (in review, rejected, merged).
	ErrNotFiled = errors.New("only a filed document can be moved")
	// ErrSamePlacement is returned by MoveFiled when the document is filed
	// to that patient with that type already.
	ErrSamePlacement = errors.New("the document is already filed to that patient with that type")
)

// MovedError is returned by MoveFiled for a document already moved
// elsewhere than asked: the move to make is of the document that replaced it.
type MovedError struct {
	ID, To int64
}

func (e *MovedError) Error() string {
	return fmt.Sprintf("document %d was moved already: it is now document %d", e.ID, e.To)
}

// Placement is where a filed document is: its patient and type.
type Placement struct {
	PatientID int64
	Type      string // classify type code
}

// MoveRequest is a person's move of a filed document.
type MoveRequest struct {
	Actor     string
	PatientID int64  // the new patient
	Type      string // the new type (classify code), its LOINC code and title
	LOINC     string
	Title     string
	ObjectKey string // the PDF, copied under the new patient
	Reason    string // why, in the person's words (kept in the histories, never logged)
}

// MoveResult is what MoveFiled did: From is the document as moved (state
// DocMoved), To the document of the new placement. Moved is false when the
// same move had been made already (nothing changed).
type MoveResult struct {
	From, To Document
	Moved    bool
}

// AuditDetail is a move's audit trail detail: both placements, by IDs and
// codes. The reason is free text a person typed (it may name someone): it
// is in the documents' histories, not here.
func (r MoveResult) AuditDetail() string {
	var from, to int64
	if r.From.PatientID != nil {
		from = *r.From.PatientID
	}
	if r.To.PatientID != nil {
		to = *r.To.PatientID
	}
	return fmt.Sprintf("DocumentReference/%d (Patient/%d, type %s) moved to DocumentReference/%d (Patient/%d, type %s); the reason is in its history",
		r.From.ID, from, r.From.Type, r.To.ID, to, r.To.Type)
}

// MoveHook runs inside MoveFiled's transaction once the move is made (not
// for a repeat): the audit entry, so that the move is not made without it.
type MoveHook func(ctx context.Context, tx pgx.Tx, r MoveResult) error

// MoveFiled moves a filed document to another placement in one
// transaction: the document becomes DocMoved (kept as it was), the EHR's
// MDM^T11 of it is queued, then a new filed document with a new ID and the
// new placement replaces it (migration 0011's trigger queues its MDM^T02 and
// webhook, after the T11). Both histories say from where to where, when, by
// whom and why. The decisions of the pipeline (candidates, identifiers,
// ranked types) are copied as they were.
//
// It is idempotent: for a document already moved to exactly that placement
// it returns the earlier move with Moved false. It fails with ErrNotFiled,
// ErrSamePlacement, a *MovedError (moved elsewhere) or ErrNotFound.
func (db *DB) MoveFiled(ctx context.Context, docID int64, m MoveRequest, then ...MoveHook) (MoveResult, error) {
	var res MoveResult
	if strings.TrimSpace(m.Actor) == "" || m.PatientID <= 0 || m.Type == "" || m.ObjectKey == "" {
		return res, fmt.Errorf("move document %d: actor, patient, type and PDF are required", docID)
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		res = MoveResult{}
		old, err := scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1 FOR UPDATE`, docID))
		if err != nil {
			return err
		}
		res.From = old
		if old.State == DocMoved {
			to, err := scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE replaces = $1`, docID))
			if err != nil {
				return fmt.Errorf("the document that replaced it: %w", err)
			}
			if to.PatientID != nil && *to.PatientID == m.PatientID && to.Type == m.Type {
				res.To = to
				return nil // the same move, again
			}
			return &MovedError{ID: docID, To: to.ID}
		}
		if old.State != DocFiled || old.PatientID == nil {
			return ErrNotFiled
		}
		if *old.PatientID == m.PatientID && old.Type == m.Type {
			return ErrSamePlacement
		}
		if _, err := tx.Exec(ctx, `UPDATE documents SET state = 'moved', updated_at = now() WHERE id = $1`, docID); err != nil {
			return fmt.Errorf("mark moved: %w", err)
		}
		// Before the new document's T02 (the trigger, below): the EHR
		// hears of the cancel first.
		if _, err := tx.Exec(ctx, `INSERT INTO hl7_outbox (document_id, message_type) VALUES ($1, $2)
			ON CONFLICT (document_id, message_type) DO NOTHING`, docID, MessageMDMT11); err != nil {
			return fmt.Errorf("queue the MDM^T11: %w", err)
		}
		var newID int64
		if err := tx.QueryRow(ctx, `INSERT INTO documents (batch_id, seq, state, pages, object_key, patient_id, type, loinc, title,
				service_date, facility, separated_by, split_confidence, split_review, split_reasons, type_suggested, type_confidence,
				type_review, type_ranked, patient_suggested, patient_confidence, patient_review, candidates, identifiers,
				review_reasons, filed_by, filed_at, pdf_size, pdf_sha1, doc_status, replaces)
			SELECT batch_id, seq, 'filed', pages, $2, $3, $4, $5, $6,
				service_date, facility, separated_by, split_confidence, split_review, split_reasons, type_suggested, type_confidence,
				type_review, type_ranked, patient_suggested, patient_confidence, patient_review, candidates, identifiers,
				review_reasons, $7, now(), pdf_size, pdf_sha1,
				CASE WHEN type = $4 THEN doc_status ELSE 'final' END, id
			FROM documents WHERE id = $1 RETURNING id`,
			docID, m.ObjectKey, m.PatientID, m.Type, m.LOINC, m.Title, m.Actor).Scan(&newID); err != nil {
			return fmt.Errorf("record the new placement: %w", err)
		}
		from := placementText(old)
		if err := addDocEvent(ctx, tx, docID, m.Actor, "moved", fmt.Sprintf("%s; now document %d: patient %d, type %s; reason: %s",
			from, newID, m.PatientID, m.Type, m.Reason)); err != nil {
			return err
		}
		if err := addDocEvent(ctx, tx, newID, m.Actor, "moved here", fmt.Sprintf("replaces document %d (%s): patient %d, type %s; reason: %s",
			docID, from, m.PatientID, m.Type, m.Reason)); err != nil {
			return err
		}
		if res.From, err = scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1`, docID)); err != nil {
			return err
		}
		if res.To, err = scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1`, newID)); err != nil {
			return err
		}
		res.Moved = true
		for _, h := range then {
			if err := h(ctx, tx, res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("move document %d: %w", docID, err)
	}
	return res, nil
}

// placementText is a filed document's placement for its history: IDs and
// codes only.
func placementText(d Document) string {
	var p int64
	if d.PatientID != nil {
		p = *d.PatientID
	}
	s := fmt.Sprintf("was patient %d, type %s", p, d.Type)
	if d.FiledAt != nil {
		s += ", filed " + d.FiledAt.UTC().Format(time.RFC3339) + " by " + d.FiledBy
	}
	return s
}

// ReplacedBy returns the ID of the document that replaced a moved one
// (0 when none did).
func (db *DB) ReplacedBy(ctx context.Context, docID int64) (int64, error) {
	var id int64
	err := db.pool.QueryRow(ctx, `SELECT id FROM documents WHERE replaces = $1`, docID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read what replaced document %d: %w", docID, err)
	}
	return id, nil
}
