package patients

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"paperchart/chart"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultAuthority is the assigning authority of MRNs when none is given
// (a CSV file's MRNs, a FHIR identifier without a system).
const DefaultAuthority = "MRN"

// ErrNotFound is returned when no patient has the ID or MRN asked for.
// It wraps chart.ErrNotFound, which HTTP layers map to 404.
var ErrNotFound = fmt.Errorf("patient %w", chart.ErrNotFound)

// Sex values (FHIR administrative gender); "" is not recorded.
const (
	SexMale    = "male"
	SexFemale  = "female"
	SexOther   = "other"
	SexUnknown = "unknown"
)

// Identifier is one of a patient's other identifiers (not the MRN), such as
// a national ID or another facility's number.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Patient is one record of the index. Why, Rank and FoundVia are set only by
// Candidates.
type Patient struct {
	ID          int64        `json:"id"`
	Authority   string       `json:"assigning_authority"`
	MRN         string       `json:"mrn"`
	Family      string       `json:"family"`
	Given       string       `json:"given"`
	BirthDate   chart.Date   `json:"birth_date,omitzero"`
	Sex         string       `json:"sex,omitempty"`
	Address     string       `json:"address,omitempty"`
	City        string       `json:"city,omitempty"`
	PostalCode  string       `json:"postal_code,omitempty"`
	Phone       string       `json:"phone,omitempty"`
	Active      bool         `json:"active"`
	MergedInto  *int64       `json:"merged_into,omitempty"`
	Identifiers []Identifier `json:"identifiers,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`

	// Why lists what agreed between the query and the record found, in the
	// order of the Reason constants.
	Why []Reason `json:"why,omitempty"`
	// Rank orders candidates, higher first. It is a search heuristic, not a
	// match probability: the matcher scores candidates itself.
	Rank float64 `json:"rank,omitempty"`
	// FoundVia lists the IDs of retired records merged into this patient
	// through which it was found (its old MRN, say); Why then includes
	// ReasonMerged.
	FoundVia []int64 `json:"found_via,omitempty"`
}

// PatientRef names a patient by MRN within its assigning authority; an
// empty Authority means DefaultAuthority.
type PatientRef struct {
	Authority string `json:"assigning_authority"`
	MRN       string `json:"mrn"`
}

func (r PatientRef) authority() string {
	if r.Authority == "" {
		return DefaultAuthority
	}
	return r.Authority
}

// Options configures an Index.
type Options struct {
	// Log receives what the index does, by patient ID and counts only;
	// nil discards.
	Log *slog.Logger
	// OnMerge runs inside Merge's transaction after the retired record is
	// merged. Nil means DefaultMergeHooks(); an empty non-nil slice runs none.
	OnMerge []MergeHook
}

// Index is the master patient index in PostgreSQL. It is safe for
// concurrent use.
type Index struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	onMerge []MergeHook
}

// New returns the index kept in the database of pool (storage.DB.Pool()),
// whose schema storage.DB.Migrate has brought up to date.
func New(pool *pgxpool.Pool, opt Options) *Index {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hooks := opt.OnMerge
	if hooks == nil {
		hooks = DefaultMergeHooks()
	}
	return &Index{pool: pool, log: log, onMerge: hooks}
}

const patientColumns = `p.id, p.assigning_authority, p.mrn, p.family, p.given, p.birth_date, p.sex,
	p.address, p.city, p.postal_code, p.phone, p.active, p.merged_into, p.created_at, p.updated_at,
	COALESCE((SELECT array_agg(ARRAY[i.system, i.value] ORDER BY i.system, i.value)
		FROM patient_identifiers i WHERE i.patient_id = p.id), '{}')`

// scanPatient reads patientColumns, then extra destinations.
func scanPatient(row pgx.Row, extra ...any) (Patient, error) {
	var p Patient
	var bd pgtype.Date
	var ids [][]string
	dest := append([]any{&p.ID, &p.Authority, &p.MRN, &p.Family, &p.Given, &bd, &p.Sex,
		&p.Address, &p.City, &p.PostalCode, &p.Phone, &p.Active, &p.MergedInto, &p.CreatedAt, &p.UpdatedAt, &ids}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Patient{}, err
	}
	if bd.Valid {
		p.BirthDate = chart.DateOf(bd.Time)
	}
	for _, kv := range ids {
		if len(kv) == 2 {
			p.Identifiers = append(p.Identifiers, Identifier{System: kv[0], Value: kv[1]})
		}
	}
	return p, nil
}

// ByID returns the patient with the ID, merged or not.
func (x *Index) ByID(ctx context.Context, id int64) (Patient, error) {
	p, err := scanPatient(x.pool.QueryRow(ctx, `SELECT `+patientColumns+` FROM patients p WHERE p.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Patient{}, fmt.Errorf("patient %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Patient{}, fmt.Errorf("read patient %d: %w", id, err)
	}
	return p, nil
}

// ByMRN returns the record with the MRN in the authority ("" means
// DefaultAuthority) as it is, merged or not: Resolve gives its survivor.
func (x *Index) ByMRN(ctx context.Context, authority, mrn string) (Patient, error) {
	ref := PatientRef{Authority: authority, MRN: strings.TrimSpace(mrn)}
	if !validText(ref.Authority) || !validText(ref.MRN) {
		// Import keeps only valid UTF-8 without NUL; PostgreSQL would refuse
		// the query rather than find nothing.
		return Patient{}, fmt.Errorf("patient by MRN: not text: %w", ErrNotFound)
	}
	p, err := scanPatient(x.pool.QueryRow(ctx, `SELECT `+patientColumns+` FROM patients p
		WHERE p.assigning_authority = $1 AND p.mrn = $2`, ref.authority(), ref.MRN))
	if errors.Is(err, pgx.ErrNoRows) {
		return Patient{}, fmt.Errorf("patient by MRN: %w", ErrNotFound)
	}
	if err != nil {
		return Patient{}, fmt.Errorf("read patient by MRN: %w", err)
	}
	return p, nil
}

// validText reports whether s can be stored or looked up in PostgreSQL:
// valid UTF-8 without NUL.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// maxChain bounds how many merges are followed from a record to its
// survivor; Merge refuses cycles, so it is only a guard.
const maxChain = 100

// Resolve returns the patient that the record with the ID stands for now:
// the record itself, or the survivor at the end of its chain of merges.
func (x *Index) Resolve(ctx context.Context, id int64) (Patient, error) {
	sid, err := survivor(ctx, x.pool, id)
	if err != nil {
		return Patient{}, err
	}
	return x.ByID(ctx, sid)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// survivor follows merged_into from id to the record not merged.
func survivor(ctx context.Context, q querier, id int64) (int64, error) {
	var sid int64
	var depth int
	err := q.QueryRow(ctx, `WITH RECURSIVE chain AS (
			SELECT id, merged_into, 0 AS depth FROM patients WHERE id = $1
			UNION ALL
			SELECT p.id, p.merged_into, c.depth + 1 FROM chain c JOIN patients p ON p.id = c.merged_into
			WHERE c.depth < $2)
		SELECT id, depth FROM chain ORDER BY depth DESC LIMIT 1`, id, maxChain).Scan(&sid, &depth)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("patient %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("follow merges from patient %d: %w", id, err)
	}
	if depth >= maxChain {
		return 0, fmt.Errorf("follow merges from patient %d: more than %d merges in a row", id, maxChain)
	}
	return sid, nil
}
