package hl7

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Outbox is the table hl7_outbox (migration 0009_hl7.sql): the MDM^T02
// messages owed to the EHR, one per filed document, and the MDM^T11 of each
// filed document moved since (migration 0019_reindex.sql).
type Outbox struct {
	pool *pgxpool.Pool
}

// NewOutbox returns the outbox in the database of pool (storage.DB.Pool()).
func NewOutbox(pool *pgxpool.Pool) *Outbox { return &Outbox{pool: pool} }

// Execer runs a statement: a pool, a connection or a transaction (pgx.Tx).
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Enqueue records that the EHR must be told of the filed document: one
// insert of a row holding only IDs, so the filing stage may call it for
// every document it files. It is idempotent: a document already waiting or
// already sent is left as it is; one skipped because it was not filed when
// its turn came is queued again. The sender reads the document and its
// patient when it sends, so a merge or a correction in between is sent as
// it stands then.
func (o *Outbox) Enqueue(ctx context.Context, docID int64) error {
	return EnqueueIn(ctx, o.pool, docID)
}

// EnqueueIn is Enqueue through q, say in the transaction that files the
// document, so that the document is filed and announced, or neither.
func EnqueueIn(ctx context.Context, q Execer, docID int64) error {
	if _, err := q.Exec(ctx, `INSERT INTO hl7_outbox (document_id) VALUES ($1)
		ON CONFLICT (document_id, message_type) DO UPDATE
			SET state = 'pending', attempts = 0, next_attempt_at = now(), last_ack = '', last_error = ''
			WHERE hl7_outbox.state = 'skipped'`, docID); err != nil {
		return fmt.Errorf("queue MDM message for document %d: %w", docID, err)
	}
	return nil
}

// OutboxStats counts the outbox's messages. Failing counts the pending
// ones tried at least the threshold given to Stats (the sender's
// MaxAttempts): they are retried hourly, and someone should look at the
// EHR's answers (last_error).
type OutboxStats struct {
	Pending int `json:"pending"`
	Failing int `json:"failing"`
	Sent    int `json:"sent"`
	Skipped int `json:"skipped"`
	// OldestPending is when the oldest message still waiting was queued.
	OldestPending *time.Time `json:"oldest_pending,omitempty"`
}

// Stats counts the outbox's messages; failingAfter is the number of
// attempts from which a pending message counts as failing.
func (o *Outbox) Stats(ctx context.Context, failingAfter int) (OutboxStats, error) {
	var st OutboxStats
	if err := o.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'pending'),
			count(*) FILTER (WHERE state = 'pending' AND attempts >= $1),
			count(*) FILTER (WHERE state = 'sent'), count(*) FILTER (WHERE state = 'skipped'),
			min(created_at) FILTER (WHERE state = 'pending')
		FROM hl7_outbox`, failingAfter).Scan(&st.Pending, &st.Failing, &st.Sent, &st.Skipped, &st.OldestPending); err != nil {
		return st, fmt.Errorf("count MDM messages: %w", err)
	}
	return st, nil
}
