package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"paperchart/chart"
)

// Basis is why a person may read a document; "" means they may not.
type Basis string

// The bases of Access.Document.
const (
	BasisRole       Basis = "role"        // records, supervisor or admin: every document
	BasisQueue      Basis = "queue"       // it waits in the review queue
	BasisWorked     Basis = "worked"      // they filed or worked on it within the window
	BasisBreakGlass Basis = "break-glass" // they gave a reason within BreakGlassFor
)

const (
	// DefaultAccessWindow is how long an indexer keeps reading a document
	// they filed or worked on, when NewAccess is given 0.
	DefaultAccessWindow = 14 * 24 * time.Hour
	// BreakGlassFor is how long a break-the-glass reason opens a document
	// to the person who gave it.
	BreakGlassFor = time.Hour
	// EventBreakGlass is the document history event of a break-the-glass
	// read; its detail is the reason typed.
	EventBreakGlass = "break-glass"

	minReason = 10
	maxReason = 500
)

// ErrNoReason is returned by BreakGlass without a reason of 10 to 500
// characters.
var ErrNoReason = errors.New("say why you need this document (10 to 500 characters)")

// errNoDocument is wrapped in the error for a document that does not exist.
var errNoDocument = fmt.Errorf("document %w", chart.ErrNotFound)

// readEvents are the history events that are reads, not work: reading a
// document does not extend who may read it.
var readEvents = []string{"viewed", "downloaded", EventBreakGlass}

// Access is minimum necessary: which documents a signed-in person may read.
// Records, supervisors and admins read every document. An indexer reads the
// documents waiting in the review queue or the type-check queue and those they filed or worked on
// (claimed, filed, edited, rejected, confirmed the type of; reads do not
// count) within the window; any other only after breaking the glass
// (BreakGlass: a reason, kept in the document's history and listed for
// supervisors), for BreakGlassFor. It reads the tables documents and
// document_events, which is append-only (migration 0015).
type Access struct {
	pool   *pgxpool.Pool
	window time.Duration
	now    func() time.Time
}

// NewAccess returns the rule over s's database; window 0 is
// DefaultAccessWindow.
func NewAccess(s *Store, window time.Duration) *Access {
	if window <= 0 {
		window = DefaultAccessWindow
	}
	return &Access{pool: s.pool, window: window, now: s.now}
}

// Window is how long an indexer keeps reading what they worked on.
func (a *Access) Window() time.Duration { return a.window }

// Document returns why u may read document id, or "" when u may not. A
// document that does not exist is an error wrapping chart.ErrNotFound.
func (a *Access) Document(ctx context.Context, u User, id int64) (Basis, error) {
	if u.Role.Allows(Records) {
		return BasisRole, nil
	}
	if !u.Role.Allows(Indexer) {
		return "", nil
	}
	now := a.now()
	var state string
	var worked, glass bool
	err := a.pool.QueryRow(ctx, `
		SELECT CASE WHEN d.state = 'filed' AND d.doc_status = 'preliminary' THEN 'typecheck' ELSE d.state END,
		       EXISTS (SELECT 1 FROM document_events e WHERE e.document_id = d.id AND e.actor = $2 AND e.at > $3
		               AND e.event <> ALL($4)),
		       EXISTS (SELECT 1 FROM document_events e WHERE e.document_id = d.id AND e.actor = $2 AND e.at > $5
		               AND e.event = $6)
		FROM documents d WHERE d.id = $1`, id, u.Name, now.Add(-a.window), readEvents, now.Add(-BreakGlassFor), EventBreakGlass).
		Scan(&state, &worked, &glass)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w: %d", errNoDocument, id)
	}
	if err != nil {
		return "", fmt.Errorf("check access to document %d: %w", id, err)
	}
	switch {
	case state == "review", state == "typecheck":
		return BasisQueue, nil
	case reserved[u.Name]:
		return "", nil // paperchart's own name in the history is not a person's work
	case worked:
		return BasisWorked, nil
	case glass:
		return BasisBreakGlass, nil
	}
	return "", nil
}

// BreakGlass records that u needs document id for the reason given (kept
// in the document's history, which nobody can change, and listed by
// BreakGlassList), which lets u read it for BreakGlassFor. Callers audit it
// too.
func (a *Access) BreakGlass(ctx context.Context, u User, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < minReason || n > maxReason || strings.ContainsRune(reason, 0) || !utf8.ValidString(reason) {
		return ErrNoReason
	}
	tag, err := a.pool.Exec(ctx, `INSERT INTO document_events (document_id, at, actor, event, detail)
		SELECT id, $2, $3, $4, $5 FROM documents WHERE id = $1`, id, a.now(), u.Name, EventBreakGlass, reason)
	if err != nil {
		return fmt.Errorf("break the glass on document %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %d", errNoDocument, id)
	}
	return nil
}

// BreakGlassRead is one break-the-glass read, for supervisors.
type BreakGlassRead struct {
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	DocumentID int64     `json:"document_id"`
	PatientID  *int64    `json:"patient_id,omitempty"`
	Reason     string    `json:"reason"`
}

// BreakGlassList returns the break-the-glass reads since a time, newest
// first, at most limit.
func (a *Access) BreakGlassList(ctx context.Context, since time.Time, limit int) ([]BreakGlassRead, error) {
	rows, err := a.pool.Query(ctx, `
		SELECT e.at, e.actor, e.document_id, d.patient_id, e.detail
		FROM document_events e JOIN documents d ON d.id = e.document_id
		WHERE e.event = $1 AND e.at >= $2 ORDER BY e.at DESC, e.id DESC LIMIT $3`, EventBreakGlass, since, limit)
	if err != nil {
		return nil, fmt.Errorf("list break-the-glass reads: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[BreakGlassRead])
	if err != nil {
		return nil, fmt.Errorf("list break-the-glass reads: %w", err)
	}
	return out, nil
}
