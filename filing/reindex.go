package filing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"paperchart/classify"
	"paperchart/storage"
)

// Move is a person's re-indexing of a filed document: another patient
// and/or another type, found wrong after filing.
type Move struct {
	Actor     string // who: a user name, or the command's operator
	PatientID int64  // the patient to move to; 0 keeps the patient
	Type      string // a classify type code; "" keeps the type
	Reason    string // why, in the person's words (1 to MaxMoveReason bytes)
}

// MaxMoveReason bounds Move.Reason.
const MaxMoveReason = 500

// ErrBadMove is returned by MoveFiled for a move without a reason, or
// with an unknown type.
var ErrBadMove = errors.New("a move needs a known type and a reason (up to 500 characters)")

// MoveFiled moves a filed document to another patient and/or type
// (storage.DB.MoveFiled): the PDF is copied under the new patient, the old
// placement becomes entered-in-error with its MDM^T11 queued, and a new
// document with the new placement replaces it. The same move made twice is
// made once (the result says Moved false the second time); a move to the
// placement the document has is refused with storage.ErrSamePlacement.
// The hooks run in the move's transaction (its audit entry).
func (f *Filer) MoveFiled(ctx context.Context, docID int64, m Move, then ...storage.MoveHook) (storage.MoveResult, error) {
	var res storage.MoveResult
	m.Reason = strings.TrimSpace(m.Reason)
	if strings.TrimSpace(m.Actor) == "" {
		return res, errors.New("move a document: who moves it is required")
	}
	if m.Reason == "" || len(m.Reason) > MaxMoveReason || !utf8.ValidString(m.Reason) || strings.ContainsRune(m.Reason, 0) {
		return res, fmt.Errorf("move document %d: %w", docID, ErrBadMove)
	}
	d, err := f.db.Document(ctx, docID)
	if err != nil {
		return res, err
	}
	if d.State != storage.DocFiled && d.State != storage.DocMoved || d.PatientID == nil {
		return res, fmt.Errorf("move document %d (%s): %w", docID, d.State, storage.ErrNotFiled)
	}
	typ := d.Type
	if m.Type != "" {
		typ = m.Type
	}
	t, ok := classify.Lookup(typ)
	if !ok {
		return res, fmt.Errorf("move document %d: unknown type: %w", docID, ErrBadMove)
	}
	pid := *d.PatientID
	if m.PatientID != 0 {
		pid = m.PatientID
	}
	p, err := f.index.Resolve(ctx, pid)
	if err != nil {
		return res, fmt.Errorf("move document %d: %w", docID, err)
	}
	if !p.Active {
		return res, fmt.Errorf("move document %d to patient %d: %w", docID, p.ID, ErrInactivePatient)
	}
	key := d.ObjectKey
	if d.State == storage.DocFiled {
		if p.ID == *d.PatientID && t.Code == d.Type {
			return res, fmt.Errorf("move document %d: %w", docID, storage.ErrSamePlacement)
		}
		if p.ID != *d.PatientID {
			// The same bytes under the new patient: a repeat copies them again.
			key = storage.PatientDocumentKey(p.ID, d.BatchID, d.Seq)
			if err := f.obj.Copy(ctx, key, d.ObjectKey); err != nil {
				return res, fmt.Errorf("move document %d: copy its PDF: %w", docID, err)
			}
		}
	}
	res, err = f.db.MoveFiled(ctx, docID, storage.MoveRequest{Actor: m.Actor, PatientID: p.ID, Type: t.Code, LOINC: t.LOINC,
		Title: t.Name, ObjectKey: key, Reason: m.Reason}, then...)
	if err != nil {
		return res, err
	}
	if res.Moved {
		f.log.Info("filed document moved", "document", docID, "to_document", res.To.ID, "from_patient", *d.PatientID, "to_patient", p.ID)
	}
	return res, nil
}
