package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNotInTypeCheck is returned when a person confirms the type of a
// document that is not filed with a preliminary type (already confirmed,
// or not filed).
var ErrNotInTypeCheck = errors.New("document is not waiting for a type check")

// TypeCheckList returns the filed documents whose type waits for a person
// (DocStatusPreliminary), oldest first, at most limit (default 100), after
// the document ID afterID.
func (db *DB) TypeCheckList(ctx context.Context, limit int, afterID int64) ([]Document, error) {
	if limit <= 0 {
		limit = 100
	}
	return db.queryDocuments(ctx, "read the type-check queue",
		`SELECT `+documentColumns+` FROM documents WHERE state = 'filed' AND doc_status = 'preliminary' AND id > $1
		ORDER BY id LIMIT $2`, afterID, limit)
}

// TypeCheckCount is how many filed documents wait for a type check.
func (db *DB) TypeCheckCount(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE state = 'filed' AND doc_status = 'preliminary'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the type-check queue: %w", err)
	}
	return n, nil
}

// TypeDecision is a person's confirmation or correction of a filed
// document's type.
type TypeDecision struct {
	Actor       string // who decided
	Type, LOINC string // the type code and its LOINC code
	Title       string // the type's display name
}

// ConfirmType records the type a person gave a filed, preliminary document
// and makes it final; a type other than the one suggested is kept as a
// correction. It fails with ErrNotInTypeCheck when the document is not
// waiting for a type check, and ErrNotFound when there is none.
func (db *DB) ConfirmType(ctx context.Context, docID int64, r TypeDecision) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var state, status, suggested string
		err := tx.QueryRow(ctx, `SELECT state, doc_status, type_suggested FROM documents WHERE id = $1 FOR UPDATE`, docID).
			Scan(&state, &status, &suggested)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state != DocFiled || status != DocStatusPreliminary {
			return ErrNotInTypeCheck
		}
		if _, err := tx.Exec(ctx, `UPDATE documents SET type = $2, loinc = $3, title = $4, doc_status = 'final', type_review = false,
			updated_at = now() WHERE id = $1`, docID, r.Type, r.LOINC, r.Title); err != nil {
			return err
		}
		event := "type confirmed"
		if r.Type != suggested {
			event = "type corrected"
			if err := addCorrection(ctx, tx, docID, r.Actor, "type", suggested, r.Type); err != nil {
				return err
			}
		}
		return addDocEvent(ctx, tx, docID, r.Actor, event, r.Type)
	})
	if err != nil {
		return fmt.Errorf("confirm the type of document %d: %w", docID, err)
	}
	return nil
}
