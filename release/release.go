// Package release owns release of information: a request for copies of a
// patient's documents (from the patient, a provider, an insurer, a court),
// its storage in PostgreSQL (table release_requests, migration 0018), its
// states and the only transitions between them (open → in review →
// released or denied; each idempotent), which documents it selects, the
// technician's exclusions and redaction boxes, and the packet: one PDF of a
// cover letter and every released page, stamped "REL-n page k of N", with
// the redacted regions burnt into the page images and their words dropped
// from the text layer. Releasing writes the packet to the object store
// (storage.ReleasePacketKey) and, in the same transaction that marks the
// request released, one audit entry per document (audit.ActionDisclosure):
// the accounting of disclosures.
//
// A request names its requester and purpose; audit entries name the
// request by ID and carry a digest of the requester, never the name.
package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"paperchart/chart"
)

// Purpose is why the documents are requested.
type Purpose string

// The purposes of a request.
const (
	PurposeTreatment Purpose = "treatment"
	PurposePayment   Purpose = "payment"
	PurposePatient   Purpose = "patient" // the patient's own request (right of access)
	PurposeLegal     Purpose = "legal"
	PurposeOther     Purpose = "other" // PurposeText says what
)

// Purposes lists them in the order forms show them.
var Purposes = []Purpose{PurposeTreatment, PurposePayment, PurposePatient, PurposeLegal, PurposeOther}

// Label is the purpose in words.
func (p Purpose) Label() string {
	switch p {
	case PurposeTreatment:
		return "Treatment"
	case PurposePayment:
		return "Payment"
	case PurposePatient:
		return "Patient's own request"
	case PurposeLegal:
		return "Legal"
	case PurposeOther:
		return "Other"
	}
	return string(p)
}

// Status is where a request stands.
type Status string

// The statuses. Released and denied are final.
const (
	StatusOpen     Status = "open"
	StatusInReview Status = "in_review"
	StatusReleased Status = "released"
	StatusDenied   Status = "denied"
)

// Statuses lists them in order.
var Statuses = []Status{StatusOpen, StatusInReview, StatusReleased, StatusDenied}

// Label is the status in words.
func (s Status) Label() string {
	if s == StatusInReview {
		return "in review"
	}
	return string(s)
}

// Final reports whether nothing more happens to a request in this status.
func (s Status) Final() bool { return s == StatusReleased || s == StatusDenied }

// ParseStatus reads a status ("in review" and "in-review" included).
func ParseStatus(s string) (Status, error) {
	st := Status(strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(s))))
	if !slices.Contains(Statuses, st) {
		return "", fmt.Errorf("status %q: a status is open, in_review, released or denied", s)
	}
	return st, nil
}

// Audit actions of release of information besides the disclosures
// (audit.ActionDisclosure): reads of requests (they name the patient and
// the requester) and changes to them. Entries name the request by
// Resource, never the requester.
const (
	ActionList    = "release.list"    // a list of requests; Detail holds their IDs
	ActionView    = "release.view"    // one request shown
	ActionCreate  = "release.create"  // a request recorded
	ActionEdit    = "release.edit"    // documents excluded or included, redaction boxes, the due date
	ActionDeny    = "release.deny"    // a request denied; the reason is on the request
	ActionRefused = "release.refused" // a release refused: not confirmed, or the request changed since
	ActionPacket  = "release.packet"  // a stored packet read (paperchart release packet); one document.pdf entry per document too
)

// DueDays is how long the covered entity has to act on a request: HIPAA's
// 30 days from receipt.
const DueDays = 30

// DueFor is the due date of a request received on the given day.
func DueFor(received chart.Date) chart.Date {
	return chart.DateOf(received.Time().AddDate(0, 0, DueDays))
}

// Requester is who asked for the documents.
type Requester struct {
	Name         string `json:"name"`
	Organisation string `json:"organisation,omitempty"`
	Address      string `json:"address,omitempty"`
}

// Digest is a short hash of the requester, recorded in disclosure entries
// so that the trail pins who the documents went to without naming them.
func (r Requester) Digest() string {
	sum := sha256.Sum256([]byte("paperchart requester v1\n" + r.Name + "\n" + r.Organisation + "\n" + r.Address))
	return hex.EncodeToString(sum[:8])
}

// Box is a redaction box on one page of a document: a region of the page
// image, in coordinates normalised to 0..1 (0,0 the top left), so that it
// means the same at any zoom.
type Box struct {
	Document int64   `json:"document"`
	Page     int     `json:"page"` // the page's number in its batch
	X0       float64 `json:"x0"`
	Y0       float64 `json:"y0"`
	X1       float64 `json:"x1"`
	Y1       float64 `json:"y1"`
}

// Valid reports whether the box lies within the page and has an area.
func (b Box) Valid() bool {
	return b.Document > 0 && b.Page > 0 && 0 <= b.X0 && b.X0 < b.X1 && b.X1 <= 1 && 0 <= b.Y0 && b.Y0 < b.Y1 && b.Y1 <= 1
}

// Pixels is the box on an image of w×h pixels: the smallest pixel
// rectangle covering it ([x0,x1) × [y0,y1)).
func (b Box) Pixels(w, h int) (x0, y0, x1, y1 int) {
	clamp := func(v, n int) int { return min(max(v, 0), n) }
	return clamp(int(b.X0*float64(w)), w), clamp(int(b.Y0*float64(h)), h),
		clamp(int(ceil(b.X1*float64(w))), w), clamp(int(ceil(b.Y1*float64(h))), h)
}

func ceil(v float64) float64 {
	i := float64(int(v))
	if v > i {
		return i + 1
	}
	return i
}

// Selection is which documents a request asks for: an explicit list, or
// every filed document of the patient with a date of service in a range
// (either end open) of the given types (none: every type).
type Selection struct {
	Documents []int64    `json:"documents,omitempty"`
	From      chart.Date `json:"from,omitzero"`
	To        chart.Date `json:"to,omitzero"`
	Types     []string   `json:"types,omitempty"`
}

// Explicit reports whether the selection is a list of documents.
func (s Selection) Explicit() bool { return len(s.Documents) > 0 }

// PacketDocument is one document in a released packet.
type PacketDocument struct {
	Document    int64      `json:"document"`
	Type        string     `json:"type"`
	Title       string     `json:"title,omitempty"`
	ServiceDate chart.Date `json:"service_date,omitzero"`
	Pages       int        `json:"pages"`
	FirstPage   int        `json:"first_page"` // its first page's number in the packet
	Redactions  int        `json:"redactions,omitempty"`
}

// Request is one request for release of information.
type Request struct {
	ID          int64     `json:"id"`
	Number      string    `json:"number"` // REL-<id>
	Requester   Requester `json:"requester"`
	Purpose     Purpose   `json:"purpose"`
	PurposeText string    `json:"purpose_text,omitempty"`
	PatientID   int64     `json:"patient_id"`
	// The patient as the index has them now, for the pages and the cover
	// letter (patient data).
	Authority    string     `json:"assigning_authority"`
	MRN          chart.MRN  `json:"mrn"`
	PatientName  string     `json:"patient_name"`
	PatientBirth chart.Date `json:"patient_birth_date,omitzero"`

	Selection Selection `json:"selection"`
	Excluded  []int64   `json:"excluded,omitempty"`
	Boxes     []Box     `json:"redactions,omitempty"`

	AuthorizationOnFile   bool   `json:"authorization_on_file"`
	AuthorizationDocument *int64 `json:"authorization_document,omitempty"`

	Received   chart.Date `json:"received"`
	Due        chart.Date `json:"due"`
	Status     Status     `json:"status"`
	DenyReason string     `json:"deny_reason,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	DecidedBy  string     `json:"decided_by,omitempty"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`

	PacketKey       string           `json:"-"`
	PacketSHA256    string           `json:"packet_sha256,omitempty"`
	PacketSize      int64            `json:"packet_size,omitempty"`
	PacketPages     int              `json:"packet_pages,omitempty"`
	PacketDocuments []PacketDocument `json:"packet_documents,omitempty"`
}

// Overdue reports whether the request is still undecided after its due
// date, on the given day.
func (r Request) Overdue(today chart.Date) bool {
	return !r.Status.Final() && r.Due.Before(today)
}

// IsExcluded reports whether the technician took the document out.
func (r Request) IsExcluded(doc int64) bool { return slices.Contains(r.Excluded, doc) }

// BoxesOn returns the redaction boxes on one page of a document.
func (r Request) BoxesOn(doc int64, page int) []Box {
	var out []Box
	for _, b := range r.Boxes {
		if b.Document == doc && b.Page == page {
			out = append(out, b)
		}
	}
	return out
}

// Number is the request number people use: REL-<id>.
func Number(id int64) string { return "REL-" + strconv.FormatInt(id, 10) }

// ParseNumber reads a request number, REL-12 or 12.
func ParseNumber(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if len(t) > 4 && strings.EqualFold(t[:4], "REL-") {
		t = t[4:]
	}
	id, err := strconv.ParseInt(t, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("request number %q: give REL-N or N", s)
	}
	return id, nil
}

// Errors.
var (
	// ErrNotFound: no such request (chart.ErrNotFound, for the pages' 404).
	ErrNotFound = fmt.Errorf("release request %w", chart.ErrNotFound)
	// ErrTransition: the request's status does not allow the change
	// (releasing a denied request, editing a released one).
	ErrTransition = errors.New("release request: not allowed in its status")
	// ErrInvalid: a request or change that is not complete or not valid.
	ErrInvalid = errors.New("release request: not valid")
	// ErrChanged: the request changed after the person confirmed it.
	ErrChanged = errors.New("release request: changed since it was confirmed")
	// ErrNothingToRelease: every selected document is excluded, or none
	// is selected.
	ErrNothingToRelease = errors.New("release request: no documents to release")
)

// NewRequest is what Create takes.
type NewRequest struct {
	Requester             Requester
	Purpose               Purpose
	PurposeText           string
	PatientID             int64
	Selection             Selection
	AuthorizationOnFile   bool
	AuthorizationDocument *int64
	// Received is the day the request came in; zero: today. Due is
	// computed from it (DueFor).
	Received chart.Date
}

func (n NewRequest) check() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrInvalid, what) }
	switch {
	case strings.TrimSpace(n.Requester.Name) == "":
		return bad("the requester's name is missing")
	case len(n.Requester.Name) > 200 || len(n.Requester.Organisation) > 200 || len(n.Requester.Address) > 500:
		return bad("the requester's name, organisation or address is too long")
	case !slices.Contains(Purposes, n.Purpose):
		return bad("the purpose is treatment, payment, patient, legal or other")
	case n.Purpose == PurposeOther && strings.TrimSpace(n.PurposeText) == "":
		return bad("say what the other purpose is")
	case len(n.PurposeText) > 500:
		return bad("the purpose text is too long")
	case n.PatientID <= 0:
		return bad("no patient")
	case !n.Selection.Explicit() && !n.Selection.From.IsZero() && !n.Selection.To.IsZero() && n.Selection.To.Before(n.Selection.From):
		return bad("the date range ends before it starts")
	case n.AuthorizationDocument != nil && !n.AuthorizationOnFile:
		return bad("an authorisation document is named but not on file")
	}
	return nil
}

// Store keeps release requests in PostgreSQL. Its methods are safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewStore returns the requests on pool, whose database has been migrated.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, now: time.Now} }

const requestColumns = `r.id, r.requester_name, r.requester_organisation, r.requester_address, r.purpose, r.purpose_text,
	r.patient_id, p.assigning_authority, p.mrn, p.family, p.given, p.birth_date,
	r.document_ids, r.service_from, r.service_to, r.types, r.excluded, r.redactions,
	r.authorization_on_file, r.authorization_document, r.received_on, r.due_on, r.status, r.deny_reason,
	r.created_by, r.created_at, r.updated_at, r.decided_by, r.decided_at,
	r.packet_key, r.packet_sha256, r.packet_size, r.packet_pages, r.packet_documents`

const requestFrom = ` FROM release_requests r JOIN patients p ON p.id = r.patient_id`

func scanRequest(row pgx.Row) (Request, error) {
	var r Request
	var mrn, family, given string
	var birth, from, to *time.Time
	var received, due time.Time
	var boxes, packetDocs []byte
	err := row.Scan(&r.ID, &r.Requester.Name, &r.Requester.Organisation, &r.Requester.Address, &r.Purpose, &r.PurposeText,
		&r.PatientID, &r.Authority, &mrn, &family, &given, &birth,
		&r.Selection.Documents, &from, &to, &r.Selection.Types, &r.Excluded, &boxes,
		&r.AuthorizationOnFile, &r.AuthorizationDocument, &received, &due, &r.Status, &r.DenyReason,
		&r.CreatedBy, &r.CreatedAt, &r.UpdatedAt, &r.DecidedBy, &r.DecidedAt,
		&r.PacketKey, &r.PacketSHA256, &r.PacketSize, &r.PacketPages, &packetDocs)
	if errors.Is(err, pgx.ErrNoRows) {
		return Request{}, ErrNotFound
	}
	if err != nil {
		return Request{}, err
	}
	r.Number = Number(r.ID)
	r.MRN = chart.ParseMRN(mrn)
	r.PatientName = strings.TrimSpace(strings.Trim(family+", "+given, ", "))
	if birth != nil {
		r.PatientBirth = chart.DateOf(*birth)
	}
	if from != nil {
		r.Selection.From = chart.DateOf(*from)
	}
	if to != nil {
		r.Selection.To = chart.DateOf(*to)
	}
	r.Received, r.Due = chart.DateOf(received), chart.DateOf(due)
	if err := json.Unmarshal(boxes, &r.Boxes); err != nil {
		return Request{}, fmt.Errorf("request %d: decode redaction boxes: %w", r.ID, err)
	}
	if err := json.Unmarshal(packetDocs, &r.PacketDocuments); err != nil {
		return Request{}, fmt.Errorf("request %d: decode packet documents: %w", r.ID, err)
	}
	if len(r.Boxes) == 0 {
		r.Boxes = nil
	}
	if len(r.PacketDocuments) == 0 {
		r.PacketDocuments = nil
	}
	return r, nil
}

func dateArg(d chart.Date) *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time()
	return &t
}

// Create records a new, open request received by created by (a user's
// name) and returns it. Its due date is DueDays after receipt.
func (s *Store) Create(ctx context.Context, n NewRequest, by string) (Request, error) {
	if err := n.check(); err != nil {
		return Request{}, err
	}
	if n.Received.IsZero() {
		n.Received = chart.DateOf(s.now())
	}
	sel := n.Selection
	if sel.Explicit() {
		sel.From, sel.To, sel.Types = chart.Date{}, chart.Date{}, nil
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO release_requests (requester_name, requester_organisation, requester_address,
		purpose, purpose_text, patient_id, document_ids, service_from, service_to, types,
		authorization_on_file, authorization_document, received_on, due_on, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		strings.TrimSpace(n.Requester.Name), strings.TrimSpace(n.Requester.Organisation), strings.TrimSpace(n.Requester.Address),
		n.Purpose, strings.TrimSpace(n.PurposeText), n.PatientID, nonNil(sel.Documents), dateArg(sel.From), dateArg(sel.To),
		nonNilS(sel.Types), n.AuthorizationOnFile, n.AuthorizationDocument, n.Received.Time(), DueFor(n.Received).Time(), by).Scan(&id)
	if err != nil {
		return Request{}, fmt.Errorf("create release request: %w", err)
	}
	return s.Get(ctx, id)
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Get returns request id.
func (s *Store) Get(ctx context.Context, id int64) (Request, error) {
	r, err := scanRequest(s.pool.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+` WHERE r.id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("read release request %d: %w", id, err)
	}
	return r, err
}

// Filter selects requests for List. Zero fields do not filter.
type Filter struct {
	Status    Status
	PatientID int64
	IDs       []int64
	Limit     int // default 500
}

// List returns the requests that match f: undecided ones first, by due
// date, then decided ones, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Request, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	var ids []int64
	if f.IDs != nil {
		ids = f.IDs
	}
	rows, err := s.pool.Query(ctx, `SELECT `+requestColumns+requestFrom+`
		WHERE ($1 = '' OR r.status = $1) AND ($2 = 0 OR r.patient_id = $2) AND ($3::bigint[] IS NULL OR r.id = ANY($3))
		ORDER BY r.status IN ('released', 'denied'), CASE WHEN r.status IN ('released', 'denied') THEN NULL ELSE r.due_on END, r.id DESC
		LIMIT $4`, string(f.Status), f.PatientID, ids, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list release requests: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Request, error) { return scanRequest(r) })
	if err != nil {
		return nil, fmt.Errorf("list release requests: %w", err)
	}
	return out, nil
}

// update changes an undecided request in one statement: set is the SET
// list ($1 is the ID). A decided request is ErrTransition.
func (s *Store) update(ctx context.Context, id int64, what, set string, args ...any) (Request, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE release_requests SET `+set+`, updated_at = now()
		WHERE id = $1 AND status IN ('open', 'in_review')`, append([]any{id}, args...)...)
	if err != nil {
		return Request{}, fmt.Errorf("%s (release request %d): %w", what, id, err)
	}
	if tag.RowsAffected() == 0 {
		r, err := s.Get(ctx, id)
		if err != nil {
			return Request{}, err
		}
		return r, fmt.Errorf("%s: %s is %s: %w", what, r.Number, r.Status.Label(), ErrTransition)
	}
	return s.Get(ctx, id)
}

// StartReview moves an open request to in review (a technician opened
// it). A request already in review stays so; a decided one is
// ErrTransition.
func (s *Store) StartReview(ctx context.Context, id int64) (Request, error) {
	return s.update(ctx, id, "start review", `status = 'in_review'`)
}

// SetExcluded takes a document out of the request, or puts it back.
// Doing it twice is doing it once.
func (s *Store) SetExcluded(ctx context.Context, id, doc int64, excluded bool) (Request, error) {
	if excluded {
		return s.update(ctx, id, "exclude document", `status = 'in_review',
			excluded = CASE WHEN $2 = ANY(excluded) THEN excluded ELSE array_append(excluded, $2) END`, doc)
	}
	return s.update(ctx, id, "include document", `status = 'in_review', excluded = array_remove(excluded, $2)`, doc)
}

// SetBoxes replaces the redaction boxes on one page of a document with
// boxes (none: the page is not redacted). Every box must be Valid and on
// that page.
func (s *Store) SetBoxes(ctx context.Context, id, doc int64, page int, boxes []Box) (Request, error) {
	for _, b := range boxes {
		if !b.Valid() || b.Document != doc || b.Page != page {
			return Request{}, fmt.Errorf("%w: a redaction box is outside its page", ErrInvalid)
		}
	}
	if len(boxes) > 200 {
		return Request{}, fmt.Errorf("%w: at most 200 redaction boxes on a page", ErrInvalid)
	}
	js, err := json.Marshal(nonNilB(boxes))
	if err != nil {
		return Request{}, fmt.Errorf("encode redaction boxes: %w", err)
	}
	return s.update(ctx, id, "set redaction boxes", `status = 'in_review', redactions = COALESCE((
		SELECT jsonb_agg(b) FROM jsonb_array_elements(redactions) b
		WHERE NOT ((b->>'document')::bigint = $2 AND (b->>'page')::int = $3)), '[]'::jsonb) || $4::jsonb`, doc, page, js)
}

func nonNilB(b []Box) []Box {
	if b == nil {
		return []Box{}
	}
	return b
}

// SetDue changes the due date (a supervisor's extension; the caller checks
// the role).
func (s *Store) SetDue(ctx context.Context, id int64, due chart.Date) (Request, error) {
	if due.IsZero() {
		return Request{}, fmt.Errorf("%w: no due date", ErrInvalid)
	}
	return s.update(ctx, id, "set due date", `due_on = $2`, due.Time())
}

// MaxDenyReason is the longest reason Deny keeps.
const MaxDenyReason = 500

// Deny denies the request with a reason, by the user. Denying a denied
// request again is a no-op that returns it as it is; a released one is
// ErrTransition. Nothing is disclosed.
func (s *Store) Deny(ctx context.Context, id int64, by, reason string) (Request, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > MaxDenyReason {
		return Request{}, fmt.Errorf("%w: say why the request is denied (1 to %d characters)", ErrInvalid, MaxDenyReason)
	}
	r, err := s.update(ctx, id, "deny", `status = 'denied', deny_reason = $2, decided_by = $3, decided_at = now()`, reason, by)
	if errors.Is(err, ErrTransition) && r.Status == StatusDenied {
		return r, nil
	}
	return r, err
}
