// Package audit keeps paperchart's audit trail: who read or changed what,
// when, from where and with what outcome — FHIR reads and searches by the
// EHR, document downloads, review decisions, sign-ins. It answers "who saw
// this patient's documents" (accounting of disclosures) and makes tampering
// with the answer detectable.
//
// The trail is one table, audit_log (migration storage/migrations/0007),
// append-only and hash-chained. Record gives each entry the next ID (1, 2,
// 3... with no gap) and the hash of the entry before it (PrevHash; Genesis
// for the first), then computes its own Hash: SHA-256 over an unambiguous
// encoding of every field (see Hash). Writers take the chain's head row
// (table audit_chain) FOR UPDATE, so concurrent writers, in any number of
// processes, form one chain. A trigger refuses UPDATE, DELETE and TRUNCATE
// of entries, whoever asks; the tables' owner can disable it, and Verify
// then sees a changed entry (its hash no longer matches), a deleted one (a
// gap, or a chain head pointing past the last entry) or entries put in
// another order (a broken link).
//
// The chain proves the entries were not changed one by one. Someone able to
// rewrite every entry from the changed one on could make a new, consistent
// chain: VerifyReport.Head is the hash of the last entry, and keeping it
// somewhere else pins the chain up to there. Anchorer does that every few
// minutes: it writes the head as an anchor object to the object store,
// under object-lock retention where the bucket has it (anchor.go), and
// VerifyAnchors checks every anchored entry still has its anchored hash.
//
// Entries name patients, documents and actors by ID and never carry page
// text, patient names or secrets; Detail is for short technical notes.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Entry is one audited event. Record sets ID, At, PrevHash and Hash.
type Entry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`              // "user:ann", "token:ehr-prod", "cli:root" (a command), "system"
	Action     string    `json:"action"`             // ActionFHIRRead, ActionReviewFile, ...
	Resource   string    `json:"resource,omitempty"` // "DocumentReference/12", "Patient/7", "Binary/12"
	PatientID  *int64    `json:"patient_id,omitempty"`
	DocumentID *int64    `json:"document_id,omitempty"`
	Remote     string    `json:"remote,omitempty"` // the client's address
	Outcome    string    `json:"outcome"`          // OutcomeOK, OutcomeDenied, OutcomeError, OutcomeNotFound
	Detail     string    `json:"detail,omitempty"` // never page text, names or secrets
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// Actors other than people and tokens.
const (
	System    = "system"
	Anonymous = "anonymous" // a request without valid credentials
)

// UserActor is the Actor of a signed-in user.
func UserActor(name string) string { return "user:" + name }

// TokenActor is the Actor of a system calling with a bearer token.
func TokenActor(name string) string { return "token:" + name }

// Actions recorded by paperchart. Others may be used: an action is lower
// case letters, digits, dots, dashes and underscores, starting with a letter.
const (
	ActionFHIRRead       = "fhir.read"            // one FHIR resource read
	ActionFHIRSearch     = "fhir.search"          // a FHIR search; Detail holds the parameter names, not values
	ActionBinaryDownload = "binary.download"      // a document's PDF through FHIR Binary
	ActionDocumentView   = "document.view"        // a document opened in the review pages or the API
	ActionDocumentPDF    = "document.pdf"         // a document's PDF through the API
	ActionDocumentPage   = "document.page"        // a page image; Detail names the page and the view it belongs to
	ActionBreakGlass     = "document.break-glass" // a person gave a reason to read a document outside minimum necessary; the reason is in its history
	ActionDocumentList   = "document.list"        // a list of documents (review queue, type check, a patient's documents); Detail holds the IDs
	ActionPatientSearch  = "patient.search"       // a search of the patient index; Detail holds the parameter names and the IDs found, not values
	ActionPatientRead    = "patient.read"         // one patient record shown (paperchart patients show)
	ActionPatientMerge   = "patient.merge"        // one patient record merged into another; Resource is the retired one, PatientID the survivor
	ActionPatientCreate  = "patient.create"       // a patient record added to the index (HL7 ADT)
	ActionPatientUpdate  = "patient.update"       // a patient record of the index changed (HL7 ADT)
	ActionPatientImport  = "patient.import"       // a file of patients imported into the index; Detail holds the counts and the file's SHA-256
	ActionCoverSheet     = "coversheet.print"     // a cover sheet printed for a patient
	ActionDisclosure     = "document.disclosure"  // a document released to a requester (package release); Resource is the request, Detail its number, purpose and a digest of the requester
	ActionFHIRDenied     = "fhir.denied"          // a FHIR request refused: no valid token, or a scope missing
	ActionUserAdd        = "user.add"
	ActionUserRole       = "user.role"
	ActionUserDisable    = "user.disable"
	ActionUserEnable     = "user.enable"
	ActionUserPassword   = "user.password"
	ActionUserUnlock     = "user.unlock"
	ActionReviewFile     = "review.file"   // a person filed a document to a patient
	ActionReviewReject   = "review.reject" // a person took a document out of the queue
	ActionReviewEdit     = "review.edit"   // a person split, merged, moved pages, changed type or date
	ActionReviewType     = "review.type"   // a person confirmed or corrected a filed document's type
	ActionDocumentMove   = "document.move" // a person moved a filed document to another patient or type; Resource is the old document, DocumentID the new, Detail both placements by IDs
	ActionSignInOK       = "signin.ok"
	ActionSignInFail     = "signin.fail"
	ActionTokenCreate    = "token.create"
	ActionTokenRevoke    = "token.revoke"
)

// Outcomes.
const (
	OutcomeOK       = "ok"
	OutcomeDenied   = "denied" // no or bad credentials, or not allowed
	OutcomeError    = "error"
	OutcomeNotFound = "not-found"
)

// Genesis is the PrevHash of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ErrInvalid is returned by Record for an entry it cannot record: no actor,
// a malformed action or an unknown outcome.
var ErrInvalid = errors.New("invalid audit entry")

// Field limits, in characters: longer values are cut.
const (
	maxActor    = 200
	maxResource = 200
	maxRemote   = 200
	maxDetail   = 1000
)

var actionRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// Log is the audit trail in PostgreSQL. It is safe for concurrent use.
type Log struct {
	pool *pgxpool.Pool
	now  func() time.Time // nil: the database's clock; tests set it
}

// New returns the log on pool, whose database has been migrated.
func New(pool *pgxpool.Pool) *Log { return &Log{pool: pool} }

// hashVersion starts every hashed encoding, so that a later encoding can
// never be confused with this one.
const hashVersion = "paperchart audit v1\n"

// Hash returns the hex SHA-256 of e's fields, PrevHash included and Hash
// excluded, each encoded so that no two entries encode alike: the version
// line, then in order ID and At (microseconds since 1970, UTC) as 8-byte
// big-endian integers; Actor, Action, Resource as strings; PatientID and
// DocumentID as one byte 0 (none) or 1 followed by the 8-byte ID; Remote,
// Outcome, Detail, PrevHash as strings. A string is its length in bytes
// (4-byte big-endian) followed by its UTF-8 bytes.
func Hash(e Entry) string {
	b := make([]byte, 0, 256+len(e.Detail))
	b = append(b, hashVersion...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.ID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	opt := func(p *int64) {
		if p == nil {
			b = append(b, 0)
			return
		}
		b = append(b, 1)
		b = binary.BigEndian.AppendUint64(b, uint64(*p))
	}
	str(e.Actor)
	str(e.Action)
	str(e.Resource)
	opt(e.PatientID)
	opt(e.DocumentID)
	str(e.Remote)
	str(e.Outcome)
	str(e.Detail)
	str(e.PrevHash)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// clean makes s valid text for PostgreSQL (UTF-8, no NUL) of at most n
// characters, so that what is hashed is what is stored.
func clean(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n])
	}
	return s
}

// normalize checks e and cleans its text fields.
func normalize(e Entry) (Entry, error) {
	e.Actor = clean(strings.TrimSpace(e.Actor), maxActor)
	e.Resource = clean(e.Resource, maxResource)
	e.Remote = clean(e.Remote, maxRemote)
	e.Detail = clean(e.Detail, maxDetail)
	switch {
	case e.Actor == "":
		return e, fmt.Errorf("%w: no actor", ErrInvalid)
	case !actionRE.MatchString(e.Action):
		return e, fmt.Errorf("%w: action %q is not lower-case letters, digits and . _ -", ErrInvalid, clean(e.Action, 70))
	}
	switch e.Outcome {
	case OutcomeOK, OutcomeDenied, OutcomeError, OutcomeNotFound:
	default:
		return e, fmt.Errorf("%w: outcome %q is not ok, denied, error or not-found", ErrInvalid, clean(e.Outcome, 20))
	}
	return e, nil
}

// Record appends e to the trail and returns it as stored, with its ID, time,
// PrevHash and Hash; e's own ID, At, PrevHash and Hash are ignored. The time
// is the database's (or the test clock's) when the entry joins the chain.
// Text fields are made valid UTF-8 without NUL and cut to their limits
// (Actor, Resource and Remote 200 characters, Detail 1,000) before hashing.
//
// It takes one short transaction: lock the chain head, insert, move the
// head. A caller that audits an access should serve it only once Record
// succeeded.
func (l *Log) Record(ctx context.Context, e Entry) (Entry, error) {
	e, err := normalize(e)
	if err != nil {
		return Entry{}, err
	}
	err = pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		e, err = l.appendTx(ctx, tx, e)
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("record audit entry (%s %s): %w", e.Actor, e.Action, err)
	}
	return e, nil
}

// RecordTx is Record inside tx, the transaction of the change e records,
// so that the change and its entry are committed together or not at all
// (a merge of patients, a patient record an HL7 message created). The
// chain head stays locked until tx ends: keep what follows short.
func (l *Log) RecordTx(ctx context.Context, tx pgx.Tx, e Entry) (Entry, error) {
	e, err := normalize(e)
	if err != nil {
		return Entry{}, err
	}
	if e, err = l.appendTx(ctx, tx, e); err != nil {
		return Entry{}, fmt.Errorf("record audit entry (%s %s): %w", e.Actor, e.Action, err)
	}
	return e, nil
}

// InTx returns a function that records e inside the transaction it is
// given: the hook a store runs in a change's transaction (users.Hook,
// tokens.Hook), so the change and its entry commit together.
func (l *Log) InTx(e Entry) func(ctx context.Context, tx pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		_, err := l.RecordTx(ctx, tx, e)
		return err
	}
}

// appendTx appends the normalized entry e to the chain inside tx: lock the
// chain head, insert, move the head.
func (l *Log) appendTx(ctx context.Context, tx pgx.Tx, e Entry) (Entry, error) {
	var lastID int64
	var lastHash string
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT last_id, last_hash, clock_timestamp() FROM audit_chain FOR UPDATE`).
		Scan(&lastID, &lastHash, &now); err != nil {
		return e, fmt.Errorf("lock the chain head: %w", err)
	}
	if l.now != nil {
		now = l.now()
	}
	e.ID, e.At, e.PrevHash = lastID+1, now.UTC().Truncate(time.Microsecond), lastHash
	e.Hash = Hash(e)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO audit_log (id, at, actor, action, resource, patient_id, document_id, remote, outcome, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, e.At, e.Actor, e.Action, e.Resource, e.PatientID, e.DocumentID, e.Remote, e.Outcome, e.Detail, e.PrevHash, e.Hash)
	b.Queue(`UPDATE audit_chain SET last_id = $1, last_hash = $2`, e.ID, e.Hash)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return e, fmt.Errorf("append entry %d: %w", e.ID, err)
	}
	return e, nil
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	// Entries is how many entries were checked and found good: all of them
	// when the chain is intact, those before the break otherwise.
	Entries int64 `json:"entries"`
	Intact  bool  `json:"intact"`
	// BrokenID is the first entry found broken: changed, missing (deleted),
	// out of place, or not in the chain head. 0 when intact.
	BrokenID int64 `json:"broken_id,omitempty"`
	// Problem says what is wrong with it, in plain words.
	Problem string `json:"problem,omitempty"`
	// Head is the hash of the last good entry (Genesis when there is none).
	// Kept elsewhere, it pins the chain up to that entry.
	Head string `json:"head"`
}

const entryColumns = `id, at, actor, action, resource, patient_id, document_id, remote, outcome, detail, prev_hash, hash`

func scanEntry(row pgx.Row) (Entry, error) {
	var e Entry
	err := row.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Resource, &e.PatientID, &e.DocumentID,
		&e.Remote, &e.Outcome, &e.Detail, &e.PrevHash, &e.Hash)
	return e, err
}

// Verify walks the whole chain in ID order in one snapshot of the database,
// recomputes every entry's hash and checks every link, and reports the
// first broken entry: one whose contents no longer match its hash (a field
// was changed), a missing ID (an entry was deleted), one whose PrevHash is
// not its predecessor's hash (entries reordered or rewritten), or a chain
// head that does not point at the last entry (the last entries deleted). An
// error is returned only when the database cannot be read; a broken chain is
// a report with Intact false.
func (l *Log) Verify(ctx context.Context) (VerifyReport, error) {
	rep := VerifyReport{Head: Genesis}
	err := pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var headID int64
		var headHash string
		if err := tx.QueryRow(ctx, `SELECT last_id, last_hash FROM audit_chain`).Scan(&headID, &headHash); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				rep.Problem = "the chain head (table audit_chain) was deleted"
				return nil
			}
			return fmt.Errorf("read the chain head: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM audit_log ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read entries: %w", err)
		}
		defer rows.Close()
		prevID, prevHash := int64(0), Genesis
		broken := func(id int64, format string, args ...any) {
			rep.BrokenID, rep.Problem = id, fmt.Sprintf(format, args...)
		}
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				return fmt.Errorf("read entry after %d: %w", prevID, err)
			}
			switch want := prevID + 1; {
			case e.ID > headID && headID == prevID:
				broken(e.ID, "entry %d is past the chain head (entry %d): it was not written by paperchart", e.ID, headID)
			case e.ID != want && e.ID == want+1:
				broken(want, "entry %d is missing (deleted): the entry after %d is %d", want, prevID, e.ID)
			case e.ID != want:
				broken(want, "entries %d to %d are missing (deleted): the entry after %d is %d", want, e.ID-1, prevID, e.ID)
			case e.PrevHash != prevHash && prevID == 0:
				broken(e.ID, "entry 1 does not start the chain: its previous hash is not the genesis value")
			case e.PrevHash != prevHash:
				broken(e.ID, "entry %d does not follow entry %d: its previous hash is not entry %d's hash "+
					"(entries were reordered, or entry %d was rewritten with a new hash)", e.ID, prevID, prevID, prevID)
			case Hash(e) != e.Hash:
				broken(e.ID, "entry %d does not match its hash: a field was changed after it was written", e.ID)
			}
			if rep.Problem != "" {
				return nil
			}
			rep.Entries++
			prevID, prevHash = e.ID, e.Hash
			rep.Head = e.Hash
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read entries after %d: %w", prevID, err)
		}
		switch {
		case headID > prevID && headID == prevID+1:
			broken(headID, "entry %d is missing (deleted): the chain head says it is the last entry, the log ends at %d", headID, prevID)
		case headID > prevID:
			broken(prevID+1, "entries %d to %d are missing (deleted): the chain head says the last entry is %d, the log ends at %d",
				prevID+1, headID, headID, prevID)
		case headHash != prevHash:
			broken(prevID, "entry %d, the last, is not the one the chain head holds: it was rewritten", prevID)
		}
		return nil
	})
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify the audit chain: %w", err)
	}
	rep.Intact = rep.Problem == ""
	return rep, nil
}

// Filter selects entries for List. Zero fields do not filter.
type Filter struct {
	// PatientID selects entries about the patient: recorded with its ID or
	// with the ID of a record merged into it, or about a document now filed
	// to it (say, read in the review queue before it was filed).
	PatientID  *int64
	DocumentID *int64
	Actor      string    // exactly: "user:ann", "token:ehr-prod"
	Since      time.Time // entries at or after
	Limit      int       // default 100
}

// DefaultLimit is how many entries List returns when Filter.Limit is 0.
const DefaultLimit = 100

// List returns the entries that match f, newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	rows, err := l.pool.Query(ctx, `SELECT `+entryColumns+` FROM audit_log a
		WHERE ($1::bigint IS NULL
		       OR a.patient_id IN (SELECT $1 UNION ALL SELECT id FROM patients WHERE merged_into = $1)
		       OR a.document_id IN (SELECT id FROM documents WHERE patient_id = $1))
		  AND ($2::bigint IS NULL OR a.document_id = $2)
		  AND ($3 = '' OR a.actor = $3)
		  AND ($4::timestamptz IS NULL OR a.at >= $4)
		ORDER BY a.id DESC LIMIT $5`, f.PatientID, f.DocumentID, f.Actor, since, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return es, nil
}

// Denied counts a request refused for want of credentials from remote: in
// table audit_denials, per address, action and minute. Only the first of
// each minute from an address is also recorded in the trail (actor
// Anonymous, outcome denied), so that a flood of anonymous requests cannot
// flood the append-only trail.
func (l *Log) Denied(ctx context.Context, remote, action, resource string) error {
	remote = clean(remote, maxRemote)
	if !actionRE.MatchString(action) {
		return fmt.Errorf("%w: action %q", ErrInvalid, clean(action, 70))
	}
	var minute time.Time
	if l.now != nil {
		minute = l.now().UTC().Truncate(time.Minute)
	} else if err := l.pool.QueryRow(ctx, `SELECT date_trunc('minute', clock_timestamp())`).Scan(&minute); err != nil {
		return fmt.Errorf("count denial: %w", err)
	}
	var n int64
	err := l.pool.QueryRow(ctx, `INSERT INTO audit_denials (minute, remote, action, count) VALUES ($1, $2, $3, 1)
		ON CONFLICT (minute, remote, action) DO UPDATE SET count = audit_denials.count + 1 RETURNING count`,
		minute, remote, action).Scan(&n)
	if err != nil {
		return fmt.Errorf("count denial: %w", err)
	}
	if n > 1 {
		return nil
	}
	_, err = l.Record(ctx, Entry{Actor: Anonymous, Action: action, Resource: resource, Remote: remote, Outcome: OutcomeDenied,
		Detail: "first denial this minute from this address; the others are counted in audit_denials"})
	return err
}

// DenialCount is how many requests from an address were denied in a minute.
type DenialCount struct {
	Minute time.Time `json:"minute"`
	Remote string    `json:"remote"`
	Action string    `json:"action"`
	Count  int64     `json:"count"`
}

// Denials returns the counts since a time, newest minute first.
func (l *Log) Denials(ctx context.Context, since time.Time) ([]DenialCount, error) {
	rows, err := l.pool.Query(ctx, `SELECT minute, remote, action, count FROM audit_denials WHERE minute >= $1
		ORDER BY minute DESC, count DESC, remote, action LIMIT 1000`, since)
	if err != nil {
		return nil, fmt.Errorf("list denials: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DenialCount])
	if err != nil {
		return nil, fmt.Errorf("list denials: %w", err)
	}
	return out, nil
}
