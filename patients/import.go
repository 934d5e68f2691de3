package patients

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"paperchart/chart"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Format is the form of an import file.
type Format string

// Import formats. FormatFHIR is a FHIR R4 Bundle (JSON) or NDJSON with one
// resource a line, told apart by content.
const (
	FormatAuto Format = ""
	FormatCSV  Format = "csv"
	FormatFHIR Format = "fhir"
)

// ParseFormat reads "csv", "fhir", or "" / "auto" (detect by content).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "csv":
		return FormatCSV, nil
	case "fhir", "json", "ndjson":
		return FormatFHIR, nil
	}
	return "", fmt.Errorf("unknown import format %q: use csv or fhir", s)
}

// What an import read, as ImportReport.Format says it.
const (
	ReadCSV        = "csv"
	ReadFHIRBundle = "fhir-bundle"
	ReadFHIRNDJSON = "fhir-ndjson"
)

// ImportOptions configures Import.
type ImportOptions struct {
	// Authority is the assigning authority of a CSV file's MRNs and of FHIR
	// MRN identifiers that have no system; "" means DefaultAuthority.
	Authority string
	// MRNSystem is a FHIR identifier system whose identifier is the MRN even
	// without type MR (it wins over a type MR identifier).
	MRNSystem string
	// BatchSize is how many records are copied to the database at a time;
	// 0 means 10,000.
	BatchSize int
	// Then, when set, runs inside the import's transaction once every
	// record is applied, with the report so far (say, to write the import
	// to the audit trail with it); an error rolls the import back.
	Then func(ctx context.Context, tx pgx.Tx, rep ImportReport) error
}

// Rejection is a record that was not imported: where it is and what is
// wrong, never its values.
type Rejection struct {
	Line   int    `json:"line,omitempty"`  // CSV and NDJSON: 1-based line
	Entry  int    `json:"entry,omitempty"` // FHIR Bundle: 1-based entry
	Reason string `json:"reason"`
}

func (r Rejection) String() string {
	if r.Entry > 0 {
		return fmt.Sprintf("entry %d: %s", r.Entry, r.Reason)
	}
	return fmt.Sprintf("line %d: %s", r.Line, r.Reason)
}

// MaxRejections is how many rejections an ImportReport lists; Rejected
// counts them all.
const MaxRejections = 1000

// ImportReport says what an import did. Read = Inserted + Updated +
// Unchanged + Rejected.
type ImportReport struct {
	Format     string      `json:"format"` // ReadCSV, ReadFHIRBundle or ReadFHIRNDJSON
	Read       int         `json:"read"`   // patient records read
	Inserted   int         `json:"inserted"`
	Updated    int         `json:"updated"`
	Unchanged  int         `json:"unchanged"`
	Rejected   int         `json:"rejected"`
	Ignored    int         `json:"ignored,omitempty"` // FHIR resources that are not Patients
	Rejections []Rejection `json:"rejections,omitempty"`
	// Warned counts records imported with a part missing (no family name,
	// no birth date): they are matchable by what they have. Warnings lists
	// the first MaxRejections, in the form of a Rejection.
	Warned   int           `json:"warned,omitempty"`
	Warnings []Rejection   `json:"warnings,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

func (rep *ImportReport) warn(r Rejection) {
	rep.Warned++
	if len(rep.Warnings) < MaxRejections {
		rep.Warnings = append(rep.Warnings, r)
	}
}

func (rep *ImportReport) reject(r Rejection) {
	rep.Rejected++
	if len(rep.Rejections) < MaxRejections {
		rep.Rejections = append(rep.Rejections, r)
	}
}

// ErrNoPatients is returned when an input has no patient record that could
// be imported; the report says why each record was rejected.
var ErrNoPatients = errors.New("no patient could be imported")

// record is one patient as read, before it reaches the database.
type record struct {
	pos                        int // line (CSV, NDJSON) or entry (Bundle)
	authority, mrn             string
	family, given              string
	birth                      chart.Date
	sex                        string
	address, city, postal, tel string
	active                     bool
	idents                     []Identifier
	warning                    string // set by check: a part is missing, the record is kept
}

// source reads records one at a time: a record, or a rejection of a bad
// one, or io.EOF at the end. Other errors end the import.
type source interface {
	next() (record, *Rejection, error)
	ignored() int
}

// Import loads patients from r into the index, inserting new MRNs and
// updating known ones in place (matched on authority and MRN); records that
// did not change are left alone. With FormatAuto, a file whose first
// character is '{' is FHIR, anything else CSV.
//
// CSV: a header line names the columns, in any order: mrn and family are
// required; given, birth_date, sex, address, city, postal_code and phone
// are optional; other columns are ignored. birth_date is YYYY-MM-DD,
// YYYYMMDD or MM/DD/YYYY (M/D/YYYY too), or empty; sex is male, female,
// other, unknown (or m, f, o, u, any case), or empty. Every CSV row is an
// active patient.
//
// FHIR R4: a Bundle whose entries hold Patient resources, or NDJSON with one
// resource a line; other resources are ignored. The MRN is the identifier of
// system opt.MRNSystem, else the first one of type MR (v2-0203) not of use
// "old"; its system is the assigning authority. Other identifiers with a
// system go to patient_identifiers (replacing the patient's earlier ones).
// The name used is the official one, else usual, else the first; birthDate
// must be a full date (a year or year-month alone is stored as unknown);
// gender, the home (else first) address, the home or mobile (else first)
// phone, and active (true when absent).
//
// A bad record is reported by line or entry with what is wrong and skipped;
// a record whose MRN appears again later in the file is reported and the
// later one used. The import is one transaction: it applies entirely or not
// at all. It fails with ErrNoPatients when no record is good.
func (x *Index) Import(ctx context.Context, r io.Reader, format Format, opt ImportOptions) (ImportReport, error) {
	start := time.Now()
	var rep ImportReport
	if opt.Authority == "" {
		opt.Authority = DefaultAuthority
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 10000
	}
	kind, src, err := openSource(r, format, opt)
	rep.Format = kind
	if err != nil {
		return rep, err
	}

	tx, err := x.pool.Begin(ctx)
	if err != nil {
		return rep, fmt.Errorf("import patients: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE patient_import (pos int NOT NULL, authority text NOT NULL, mrn text NOT NULL,
			family text NOT NULL, given text NOT NULL, birth_date date, sex text NOT NULL, address text NOT NULL,
			city text NOT NULL, postal_code text NOT NULL, phone text NOT NULL, active bool NOT NULL) ON COMMIT DROP;
		CREATE TEMP TABLE patient_import_ident (pos int NOT NULL, system text NOT NULL, value text NOT NULL) ON COMMIT DROP;
		CREATE TEMP TABLE patient_import_result (id bigint NOT NULL, inserted bool NOT NULL) ON COMMIT DROP`); err != nil {
		return rep, fmt.Errorf("import patients: create work tables: %w", err)
	}

	var rows, idents [][]any
	flush := func() error {
		if len(rows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"patient_import"},
				[]string{"pos", "authority", "mrn", "family", "given", "birth_date", "sex", "address", "city", "postal_code", "phone", "active"},
				pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("import patients: copy %d records: %w", len(rows), err)
			}
		}
		if len(idents) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"patient_import_ident"}, []string{"pos", "system", "value"},
				pgx.CopyFromRows(idents)); err != nil {
				return fmt.Errorf("import patients: copy %d identifiers: %w", len(idents), err)
			}
		}
		rows, idents = rows[:0], idents[:0]
		return nil
	}
	valid := 0
	for {
		rec, rej, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, fmt.Errorf("import patients: %w", err)
		}
		rep.Read++
		if rej != nil {
			rep.reject(*rej)
			continue
		}
		valid++
		if rec.warning != "" {
			r := Rejection{Reason: rec.warning}
			if rep.Format == ReadFHIRBundle {
				r.Entry = rec.pos
			} else {
				r.Line = rec.pos
			}
			rep.warn(r)
		}
		var bd any
		if !rec.birth.IsZero() {
			bd = pgtype.Date{Time: rec.birth.Time(), Valid: true}
		}
		rows = append(rows, []any{rec.pos, rec.authority, rec.mrn, rec.family, rec.given, bd, rec.sex,
			rec.address, rec.city, rec.postal, rec.tel, rec.active})
		for _, id := range rec.idents {
			idents = append(idents, []any{rec.pos, id.System, id.Value})
		}
		if len(rows) >= opt.BatchSize {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	rep.Ignored = src.ignored()
	if valid == 0 {
		rep.Elapsed = time.Since(start)
		if rep.Read == 0 {
			return rep, fmt.Errorf("import patients: %w: the input has no patient records", ErrNoPatients)
		}
		return rep, fmt.Errorf("import patients: %w: all %d records were rejected", ErrNoPatients, rep.Read)
	}

	copied := time.Since(start)
	if err := mergeImport(ctx, tx, kind != ReadCSV, &rep); err != nil {
		return rep, err
	}
	applied := time.Since(start) - copied
	if opt.Then != nil {
		if err := opt.Then(ctx, tx, rep); err != nil {
			return rep, fmt.Errorf("import patients: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return rep, fmt.Errorf("import patients: commit: %w", err)
	}
	slices.SortStableFunc(rep.Rejections, func(a, b Rejection) int { return cmp.Compare(a.Line+a.Entry, b.Line+b.Entry) })
	rep.Elapsed = time.Since(start)
	x.log.Info("patients imported", "format", rep.Format, "read", rep.Read, "inserted", rep.Inserted,
		"updated", rep.Updated, "unchanged", rep.Unchanged, "rejected", rep.Rejected, "ignored", rep.Ignored,
		"elapsed", rep.Elapsed.Round(time.Millisecond), "read_and_copy", copied.Round(time.Millisecond),
		"apply", applied.Round(time.Millisecond))
	return rep, nil
}

// mergeImport applies the work table patient_import to patients (and, for
// FHIR, patient_import_ident to patient_identifiers) and counts the result.
func mergeImport(ctx context.Context, tx pgx.Tx, withIdents bool, rep *ImportReport) error {
	// The same MRN twice in one file: the later record wins.
	drows, err := tx.Query(ctx, `
		WITH last AS (SELECT authority, mrn, max(pos) AS pos FROM patient_import GROUP BY 1, 2 HAVING count(*) > 1)
		DELETE FROM patient_import i USING last l
		WHERE i.authority = l.authority AND i.mrn = l.mrn AND i.pos < l.pos
		RETURNING i.pos, l.pos`)
	if err != nil {
		return fmt.Errorf("import patients: find repeated MRNs: %w", err)
	}
	type dup struct{ pos, used int }
	dups, err := pgx.CollectRows(drows, func(r pgx.CollectableRow) (dup, error) {
		var d dup
		return d, r.Scan(&d.pos, &d.used)
	})
	if err != nil {
		return fmt.Errorf("import patients: find repeated MRNs: %w", err)
	}
	if len(dups) > 0 {
		pos := make([]int, len(dups))
		for i, d := range dups {
			pos[i] = d.pos
		}
		if _, err := tx.Exec(ctx, `DELETE FROM patient_import_ident WHERE pos = ANY($1)`, pos); err != nil {
			return fmt.Errorf("import patients: drop identifiers of repeated MRNs: %w", err)
		}
		unit := "line"
		if rep.Format == ReadFHIRBundle {
			unit = "entry"
		}
		for _, d := range dups {
			r := Rejection{Reason: fmt.Sprintf("the same MRN appears again at %s %d, which was imported instead", unit, d.used)}
			if unit == "entry" {
				r.Entry = d.pos
			} else {
				r.Line = d.pos
			}
			rep.reject(r)
		}
	}
	if _, err := tx.Exec(ctx, `ANALYZE patient_import`); err != nil {
		return fmt.Errorf("import patients: analyze work table: %w", err)
	}

	// One statement inserts new MRNs and updates changed records; a merged
	// record stays inactive whatever the file says.
	if _, err := tx.Exec(ctx, `
		WITH up AS (
			INSERT INTO patients AS p (assigning_authority, mrn, family, given, birth_date, sex, address, city, postal_code, phone, active)
			SELECT authority, mrn, family, given, birth_date, sex, address, city, postal_code, phone, active FROM patient_import
			ON CONFLICT (assigning_authority, mrn) DO UPDATE SET
				family = excluded.family, given = excluded.given, birth_date = excluded.birth_date, sex = excluded.sex,
				address = excluded.address, city = excluded.city, postal_code = excluded.postal_code, phone = excluded.phone,
				active = excluded.active AND p.merged_into IS NULL, updated_at = now()
			WHERE (p.family, p.given, p.birth_date, p.sex, p.address, p.city, p.postal_code, p.phone, p.active)
				IS DISTINCT FROM (excluded.family, excluded.given, excluded.birth_date, excluded.sex, excluded.address,
					excluded.city, excluded.postal_code, excluded.phone, excluded.active AND p.merged_into IS NULL)
			RETURNING p.id, (p.xmax = 0) AS inserted)
		INSERT INTO patient_import_result SELECT id, inserted FROM up`); err != nil {
		return fmt.Errorf("import patients: insert and update patients: %w", err)
	}

	if withIdents {
		// The file's identifiers replace each imported patient's others.
		if _, err := tx.Exec(ctx, `
			WITH gone AS (
				DELETE FROM patient_identifiers pi
				USING patient_import i JOIN patients p ON p.assigning_authority = i.authority AND p.mrn = i.mrn
				WHERE pi.patient_id = p.id AND NOT EXISTS (
					SELECT 1 FROM patient_import_ident w WHERE w.pos = i.pos AND w.system = pi.system AND w.value = pi.value)
				RETURNING pi.patient_id)
			INSERT INTO patient_import_result SELECT patient_id, false FROM gone`); err != nil {
			return fmt.Errorf("import patients: remove old identifiers: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			WITH want AS (
				SELECT DISTINCT ON (w.system, w.value) p.id AS patient_id, w.system, w.value
				FROM patient_import_ident w
				JOIN patient_import i ON i.pos = w.pos
				JOIN patients p ON p.assigning_authority = i.authority AND p.mrn = i.mrn
				ORDER BY w.system, w.value, w.pos DESC),
			put AS (
				INSERT INTO patient_identifiers AS pi (patient_id, system, value) SELECT patient_id, system, value FROM want
				ON CONFLICT (system, value) DO UPDATE SET patient_id = excluded.patient_id
				WHERE pi.patient_id <> excluded.patient_id
				RETURNING pi.patient_id)
			INSERT INTO patient_import_result SELECT patient_id, false FROM put`); err != nil {
			return fmt.Errorf("import patients: store identifiers: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE patients p SET updated_at = now()
			FROM (SELECT DISTINCT id FROM patient_import_result) r
			WHERE p.id = r.id AND p.updated_at <> now()`); err != nil {
			return fmt.Errorf("import patients: mark patients with new identifiers updated: %w", err)
		}
	}

	var valid int
	if err := tx.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM patient_import),
			count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins)
		FROM (SELECT id, bool_or(inserted) AS ins FROM patient_import_result GROUP BY id) s`).Scan(&valid, &rep.Inserted, &rep.Updated); err != nil {
		return fmt.Errorf("import patients: count results: %w", err)
	}
	rep.Unchanged = valid - rep.Inserted - rep.Updated
	return nil
}

// openSource decides what r holds and returns the source of its records.
func openSource(r io.Reader, format Format, opt ImportOptions) (string, source, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	kind, err := detect(br, format)
	if err != nil {
		return "", nil, err
	}
	switch kind {
	case ReadCSV:
		src, err := newCSVSource(br, opt)
		if err != nil {
			return kind, nil, err
		}
		return kind, src, nil
	case ReadFHIRNDJSON:
		return kind, &ndjsonSource{r: br, opt: opt}, nil
	}
	return kind, &bundleSource{dec: json.NewDecoder(br), opt: opt}, nil
}

// detect decides what the input is, looking at its start only.
func detect(br *bufio.Reader, f Format) (string, error) {
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3) // UTF-8 byte order mark
	}
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("import patients: read input: %w", err)
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 {
		return "", fmt.Errorf("import patients: %w: the input is empty", ErrNoPatients)
	}
	if f == FormatCSV || (f == FormatAuto && trimmed[0] != '{') {
		return ReadCSV, nil
	}
	if f != FormatAuto && f != FormatFHIR {
		return "", fmt.Errorf("import patients: unknown format %q", f)
	}
	// NDJSON when the first line alone is one resource that is not a Bundle.
	line, _, complete := bytes.Cut(trimmed, []byte("\n"))
	if complete || errors.Is(err, io.EOF) {
		var probe struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(line, &probe) == nil && probe.ResourceType != "" && probe.ResourceType != "Bundle" {
			return ReadFHIRNDJSON, nil
		}
	}
	return ReadFHIRBundle, nil
}

// Field limits: longer values are input errors, not names.
const (
	maxMRN   = 64
	maxName  = 200
	maxOther = 500
)

// clean collapses white space and checks a field; it returns a reason
// (naming the field, never its value) when the field is unusable.
func clean(field, s string, max int) (string, string) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", field + " is not valid UTF-8 text"
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		return "", fmt.Sprintf("%s is longer than %d characters", field, max)
	}
	return s, ""
}

// check cleans every field of a record, returning the first problem that
// refuses it. Only a record without an MRN is refused for a missing part: a
// master patient index has records without a family name or birth date, and
// their patients' documents must still be fileable by what they have (the
// MRN, the given name, the birth date). Such a record gets a warning.
func (rec *record) check(now time.Time) string {
	var why string
	fields := []struct {
		name string
		v    *string
		max  int
	}{
		{"mrn", &rec.mrn, maxMRN}, {"family", &rec.family, maxName}, {"given", &rec.given, maxName},
		{"address", &rec.address, maxOther}, {"city", &rec.city, maxName},
		{"postal_code", &rec.postal, maxName}, {"phone", &rec.tel, maxName},
		{"assigning authority", &rec.authority, maxOther},
	}
	for _, f := range fields {
		if *f.v, why = clean(f.name, *f.v, f.max); why != "" {
			return why
		}
	}
	switch {
	case rec.mrn == "":
		return "mrn is empty"
	case !rec.birth.IsZero() && rec.birth.Time().After(now):
		return "birth date is in the future"
	}
	switch {
	case rec.family == "" && rec.birth.IsZero():
		rec.warning = "family name and birth date are empty: imported, matchable by MRN and given name only"
	case rec.family == "":
		rec.warning = "family name is empty: imported, matchable by MRN, given name and birth date"
	case rec.birth.IsZero():
		rec.warning = "birth date is empty: imported, matchable by MRN and name"
	}
	return ""
}

func parseSex(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", true
	case "m", "male":
		return SexMale, true
	case "f", "female":
		return SexFemale, true
	case "o", "other":
		return SexOther, true
	case "u", "unknown":
		return SexUnknown, true
	}
	return "", false
}
