package users

import (
	"context"
	"errors"
	"testing"
	"time"

	"paperchart/internal/testenv"
)

// accessDoc adds a batch and a document in state, straight to the tables:
// the access rule reads only the document's state and history.
func accessDoc(t *testing.T, s *Store, state string) int64 {
	t.Helper()
	ctx := context.Background()
	var batch, doc int64
	err := s.pool.QueryRow(ctx, `INSERT INTO batches (source, name, ingest_key, sha256, size, state)
		VALUES ('test', 'b.pdf', md5(random()::text), md5(random()::text), 1, 'done') RETURNING id`).Scan(&batch)
	testenv.Must(t, err, "batch")
	var patient int64
	err = s.pool.QueryRow(ctx, `INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', md5(random()::text)) RETURNING id`).Scan(&patient)
	testenv.Must(t, err, "patient")
	err = s.pool.QueryRow(ctx, `INSERT INTO documents (batch_id, seq, pages, state, object_key, separated_by, split_confidence,
		split_review, type_confidence, type_review, patient_confidence, patient_review, patient_id, type, filed_at)
		VALUES ($1, 1, '{1}', $2, 'k', 'first', 1, false, 1, false, 1, false, $3, 'progress-note', now()) RETURNING id`,
		batch, state, patient).Scan(&doc)
	testenv.Must(t, err, "document")
	return doc
}

func event(t *testing.T, s *Store, doc int64, actor, ev string, at time.Time) {
	t.Helper()
	_, err := s.pool.Exec(context.Background(), `INSERT INTO document_events (document_id, at, actor, event) VALUES ($1, $2, $3, $4)`,
		doc, at, actor, ev)
	testenv.Must(t, err, "event")
}

// TestAccess is minimum necessary: an indexer reads the review queue and
// what they worked on in the last 14 days; records, supervisors and admins
// read everything; anyone else breaks the glass with a reason.
func TestAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	a := NewAccess(s, 0)
	a.now = clk.Now
	now := clk.Now()
	ida := User{Name: "ida", Role: Indexer}
	inReview := accessDoc(t, s, "review")
	worked := accessDoc(t, s, "filed")
	event(t, s, worked, "ida", "filed", now.Add(-13*24*time.Hour))
	old := accessDoc(t, s, "filed")
	event(t, s, old, "ida", "filed", now.Add(-15*24*time.Hour))
	viewedOnly := accessDoc(t, s, "filed")
	event(t, s, viewedOnly, "ida", "viewed", now.Add(-time.Hour))
	others := accessDoc(t, s, "filed")
	event(t, s, others, "lou", "filed", now.Add(-time.Hour))
	auto := accessDoc(t, s, "filed")
	event(t, s, auto, "auto", "filed", now.Add(-time.Hour))

	for _, tc := range []struct {
		name string
		u    User
		doc  int64
		want Basis
	}{
		{"queue", ida, inReview, BasisQueue},
		{"filed by her 13 days ago", ida, worked, BasisWorked},
		{"filed by her 15 days ago", ida, old, ""},
		{"only viewed", ida, viewedOnly, ""},
		{"someone else's", ida, others, ""},
		{"a user named like the pipeline", User{Name: "auto", Role: Indexer}, auto, ""},
		{"records", User{Name: "rob", Role: Records}, others, BasisRole},
		{"supervisor", User{Name: "sam", Role: Supervisor}, others, BasisRole},
		{"admin", User{Name: "ada", Role: Admin}, old, BasisRole},
		{"no role", User{Name: "ida"}, worked, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Document(ctx, tc.u, tc.doc)
			testenv.Must(t, err, "access")
			if got != tc.want {
				t.Errorf("basis %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := a.Document(ctx, ida, 99999999); !errors.Is(err, ErrNotFound) && !errors.Is(err, errNoDocument) {
		t.Errorf("missing document: %v", err)
	}

	// Breaking the glass takes a reason, opens the document for an hour,
	// and is listed for supervisors.
	if err := a.BreakGlass(ctx, ida, others, "  "); !errors.Is(err, ErrNoReason) {
		t.Fatalf("break-glass without a reason: %v", err)
	}
	testenv.Must(t, a.BreakGlass(ctx, ida, others, "patient in the ED asks for the discharge letter"), "break glass")
	if got, _ := a.Document(ctx, ida, others); got != BasisBreakGlass {
		t.Errorf("after break-glass: %q", got)
	}
	clk.Add(BreakGlassFor + time.Minute)
	if got, _ := a.Document(ctx, ida, others); got != "" {
		t.Errorf("an hour after break-glass: %q", got)
	}
	bg, err := a.BreakGlassList(ctx, now.Add(-time.Hour), 10)
	testenv.Must(t, err, "list")
	if len(bg) != 1 || bg[0].Actor != "ida" || bg[0].DocumentID != others || bg[0].Reason != "patient in the ED asks for the discharge letter" {
		t.Errorf("break-glass list %+v", bg)
	}

	// The history the rule reads cannot be rewritten.
	if _, err := s.pool.Exec(ctx, `UPDATE document_events SET actor = 'ida' WHERE document_id = $1`, others); err == nil {
		t.Error("document history was updated")
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM document_events WHERE document_id = $1`, others); err == nil {
		t.Error("document history was deleted")
	}
	if _, err := s.pool.Exec(ctx, `TRUNCATE document_events`); err == nil {
		t.Error("document history was truncated")
	}
}

func TestReservedNames(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	for _, n := range []string{"auto", "System", "api", "anonymous"} {
		if _, err := s.Add(context.Background(), n, Indexer, goodPassword); !errors.Is(err, ErrBadName) {
			t.Errorf("Add(%q): %v, want ErrBadName", n, err)
		}
	}
}
