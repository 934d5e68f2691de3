package patients

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Merge errors.
var (
	ErrMergeSelf        = errors.New("a patient cannot be merged into itself")
	ErrMergeCycle       = errors.New("the surviving patient was itself merged into the retired one: the merge would make a cycle")
	ErrAlreadyMerged    = errors.New("the retired patient is already merged into another patient")
	ErrSurvivorInactive = errors.New("the surviving patient is inactive")
)

// MergeHook runs inside Merge's transaction once the retired record points
// at its survivor (the end of the surviving record's chain of merges). It
// moves what belongs to the retired patient; an error rolls the merge back.
type MergeHook func(ctx context.Context, tx pgx.Tx, retiredID, survivingID int64) error

// DefaultMergeHooks are the hooks an Index runs when Options.OnMerge is nil:
// RepointDocuments.
func DefaultMergeHooks() []MergeHook { return []MergeHook{RepointDocuments} }

// RepointDocuments files the retired patient's documents to the survivor:
// UPDATE documents SET patient_id = survivor WHERE patient_id = retired, if
// the table documents exists (it comes with the documents migration), so
// merges move documents with no change here once it does.
func RepointDocuments(ctx context.Context, tx pgx.Tx, retiredID, survivingID int64) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('documents') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("look for the documents table: %w", err)
	}
	if !exists {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE documents SET patient_id = $1 WHERE patient_id = $2`, survivingID, retiredID); err != nil {
		return fmt.Errorf("move documents of patient %d to patient %d: %w", retiredID, survivingID, err)
	}
	return nil
}

// mergeLockID serialises merges (they are rare), so that chains of merges
// are read and changed by one merge at a time.
const mergeLockID = 0x70616d67 // "pamg"

// Merge retires one patient record into another, in one transaction: the
// retired record becomes inactive and points at the survivor, the merge is
// recorded in patient_merges with its source (say "cli" or "hl7:A40"), and
// the merge hooks run (by default moving the retired patient's documents).
// When the surviving record was itself merged, the merge goes to the end of
// its chain; records merged into the retired one earlier are re-pointed to
// the survivor as well, so merged_into always names an unmerged record. Merging a record into itself, or into a record merged into it,
// is an error; merging again into the same survivor changes nothing (and
// runs no hook).
//
// The hooks in also run after the Index's own, in the same transaction:
// the caller's record of this one merge (its audit entry).
func (x *Index) Merge(ctx context.Context, retired, surviving PatientRef, source string, also ...MergeHook) error {
	tx, err := x.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("merge patients: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, mergeLockID); err != nil {
		return fmt.Errorf("merge patients: take merge lock: %w", err)
	}
	rid, err := lockRef(ctx, tx, retired)
	if err != nil {
		return fmt.Errorf("merge patients: retired patient: %w", err)
	}
	sid, err := lockRef(ctx, tx, surviving)
	if err != nil {
		return fmt.Errorf("merge patients: surviving patient: %w", err)
	}
	if rid == sid {
		return fmt.Errorf("merge patients: patient %d: %w", rid, ErrMergeSelf)
	}
	final, err := survivor(ctx, tx, sid)
	if err != nil {
		return fmt.Errorf("merge patients: %w", err)
	}
	if final == rid {
		return fmt.Errorf("merge patients: patient %d into %d: %w", rid, sid, ErrMergeCycle)
	}
	var activeSurvivor bool
	var mergedInto *int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT active FROM patients WHERE id = $1), (SELECT merged_into FROM patients WHERE id = $2)`,
		final, rid).Scan(&activeSurvivor, &mergedInto); err != nil {
		return fmt.Errorf("merge patients: read patients %d and %d: %w", final, rid, err)
	}
	if mergedInto != nil {
		now, err := survivor(ctx, tx, rid)
		if err != nil {
			return fmt.Errorf("merge patients: %w", err)
		}
		if now == final {
			x.log.Info("patient already merged", "retired_id", rid, "surviving_id", final)
			return nil
		}
		return fmt.Errorf("merge patients: patient %d (now patient %d) into %d: %w", rid, now, final, ErrAlreadyMerged)
	}
	if !activeSurvivor {
		return fmt.Errorf("merge patients: patient %d into %d: %w", rid, final, ErrSurvivorInactive)
	}
	if _, err := tx.Exec(ctx, `UPDATE patients SET active = false, merged_into = $2, updated_at = now() WHERE id = $1`, rid, final); err != nil {
		return fmt.Errorf("merge patients: retire patient %d: %w", rid, err)
	}
	// Records merged into the retired one earlier now point at the survivor
	// too, so that every merged record is one step from its survivor
	// (patient_merges keeps the history).
	if _, err := tx.Exec(ctx, `UPDATE patients SET merged_into = $2, updated_at = now() WHERE merged_into = $1`, rid, final); err != nil {
		return fmt.Errorf("merge patients: re-point records merged into patient %d: %w", rid, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO patient_merges (retired_id, surviving_id, source) VALUES ($1, $2, $3)`, rid, final, source); err != nil {
		return fmt.Errorf("merge patients: record merge of %d into %d: %w", rid, final, err)
	}
	for _, h := range append(slices.Clip(x.onMerge), also...) {
		if err := h(ctx, tx, rid, final); err != nil {
			return fmt.Errorf("merge patients %d into %d: %w", rid, final, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("merge patients %d into %d: commit: %w", rid, final, err)
	}
	x.log.Info("patient merged", "retired_id", rid, "surviving_id", final, "source", source)
	return nil
}

// lockRef finds the record a reference names and locks it.
func lockRef(ctx context.Context, tx pgx.Tx, ref PatientRef) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM patients WHERE assigning_authority = $1 AND mrn = $2 FOR UPDATE`,
		ref.authority(), strings.TrimSpace(ref.MRN)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("find patient by MRN: %w", err)
	}
	return id, nil
}
