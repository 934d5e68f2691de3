package patients

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrInvalidPatient is returned by Upsert for a record that breaks the rules
// of Import; the error's text says which field and why, never its value.
var ErrInvalidPatient = errors.New("invalid patient record")

// UpsertResult says what Upsert did to the record of ID: Created, Updated,
// or neither when the record already said the same.
type UpsertResult struct {
	ID      int64
	Created bool
	Updated bool
}

// Upsert adds one patient to the index, or updates in place the record with
// the same assigning authority ("" means DefaultAuthority) and MRN, by the
// rules of Import: fields are cleaned and checked alike (MRN and family name
// required, lengths bounded, no birth date in the future), sex is a Sex
// constant or m, f, o, u; a record that would not change is left alone, and
// a merged record stays inactive. Every other record is made active. ID,
// Active, MergedInto, Identifiers (kept as they are) and the timestamps of p
// are ignored. It is one statement, so concurrent calls for the same MRN are
// safe; for an HL7 feed this makes a message applied twice change nothing
// more.
//
// With hooks, the statement and the hooks run in one transaction: they
// see what it did (an audit entry of the record created or changed), and
// an error of one rolls the change back.
func (x *Index) Upsert(ctx context.Context, p Patient, then ...UpsertHook) (UpsertResult, error) {
	rec := record{
		authority: p.Authority, mrn: p.MRN, family: p.Family, given: p.Given, birth: p.BirthDate,
		address: p.Address, city: p.City, postal: p.PostalCode, tel: p.Phone, active: true,
	}
	if rec.authority == "" {
		rec.authority = DefaultAuthority
	}
	var ok bool
	if rec.sex, ok = parseSex(p.Sex); !ok {
		return UpsertResult{}, fmt.Errorf("upsert patient: %w: sex is not male, female, other or unknown", ErrInvalidPatient)
	}
	if why := rec.check(time.Now()); why != "" {
		return UpsertResult{}, fmt.Errorf("upsert patient: %w: %s", ErrInvalidPatient, why)
	}
	var birth *time.Time
	if !rec.birth.IsZero() {
		t := rec.birth.Time()
		birth = &t
	}
	if len(then) == 0 {
		return upsert(ctx, x.pool, rec, birth)
	}
	var res UpsertResult
	err := pgx.BeginFunc(ctx, x.pool, func(tx pgx.Tx) error {
		var err error
		if res, err = upsert(ctx, tx, rec, birth); err != nil {
			return err
		}
		for _, h := range then {
			if err := h(ctx, tx, res); err != nil {
				return fmt.Errorf("upsert patient %d: %w", res.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return UpsertResult{}, err
	}
	return res, nil
}

// UpsertHook runs inside Upsert's transaction with what the upsert did.
type UpsertHook func(ctx context.Context, tx pgx.Tx, res UpsertResult) error

// upsert is Upsert's statement, on q.
func upsert(ctx context.Context, q querier, rec record, birth *time.Time) (UpsertResult, error) {
	var res UpsertResult
	err := q.QueryRow(ctx, `
		INSERT INTO patients AS p (assigning_authority, mrn, family, given, birth_date, sex, address, city, postal_code, phone, active)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
		ON CONFLICT (assigning_authority, mrn) DO UPDATE SET
			family = excluded.family, given = excluded.given, birth_date = excluded.birth_date, sex = excluded.sex,
			address = excluded.address, city = excluded.city, postal_code = excluded.postal_code, phone = excluded.phone,
			active = p.merged_into IS NULL, updated_at = now()
		WHERE (p.family, p.given, p.birth_date, p.sex, p.address, p.city, p.postal_code, p.phone, p.active)
			IS DISTINCT FROM (excluded.family, excluded.given, excluded.birth_date, excluded.sex, excluded.address,
				excluded.city, excluded.postal_code, excluded.phone, p.merged_into IS NULL)
		RETURNING p.id, (p.xmax = 0)`,
		rec.authority, rec.mrn, rec.family, rec.given, birth, rec.sex, rec.address, rec.city, rec.postal, rec.tel,
	).Scan(&res.ID, &res.Created)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// The record exists and would not change: the update was skipped.
		if err := q.QueryRow(ctx, `SELECT id FROM patients WHERE assigning_authority = $1 AND mrn = $2`,
			rec.authority, rec.mrn).Scan(&res.ID); err != nil {
			return UpsertResult{}, fmt.Errorf("upsert patient: read unchanged record: %w", err)
		}
		return res, nil
	case err != nil:
		return UpsertResult{}, fmt.Errorf("upsert patient: %w", err)
	}
	res.Updated = !res.Created
	return res, nil
}
