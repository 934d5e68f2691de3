package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/patients"
)

// runPatients is `paperchart patients`: the master patient index.
func runPatients(ctx context.Context, args []string, stdout io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "import":
		return patientsImport(ctx, args, stdout)
	case "show":
		return patientsShow(ctx, args, stdout)
	case "merge":
		return patientsMerge(ctx, args, stdout)
	case "search":
		return patientsSearch(ctx, args, stdout)
	case "", "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, `Usage: paperchart patients SUBCOMMAND [flags]

The master patient index: the patients documents are filed to.

Subcommands:
  import FILE [--format csv|fhir] [--authority A]   load or update patients from CSV or FHIR R4
  show MRN | AUTHORITY MRN [--json]                  one patient record
  merge --retire MRN --into MRN                      merge a duplicate record into the survivor
  search [--mrn M] [--family F] [--given G] [--dob D] [--json]
                                                     candidates for a document's patient

Run `+"`paperchart patients SUBCOMMAND --help`"+` for a subcommand's flags.
`)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: use import FILE, show MRN, merge --retire MRN --into MRN, or search", sub)
}

// authorityFlag is the default assigning authority of MRNs.
func authorityFlag(fs *flag.FlagSet) *string {
	return fs.String("authority", env("PAPERCHART_MRN_AUTHORITY", patients.DefaultAuthority),
		"assigning authority of MRNs given without one (PAPERCHART_MRN_AUTHORITY)")
}

// openPatients opens the database, the index on it and the audit trail
// its changes go to.
func openPatients(ctx context.Context, c *config) (*patients.Index, *audit.Log, func(), error) {
	db, err := c.openDB(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return patients.New(db.Pool(), patients.Options{Log: c.logger()}), audit.New(db.Pool()), db.Close, nil
}

// schemaHint adds what to do when the patient tables do not exist yet.
func schemaHint(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return fmt.Errorf("%w (the schema is not up to date: run `paperchart migrate`)", err)
	}
	return err
}

// parseRef reads MRN or AUTHORITY|MRN.
func parseRef(s, authority string) patients.PatientRef {
	if a, m, ok := strings.Cut(s, "|"); ok {
		return patients.PatientRef{Authority: a, MRN: m}
	}
	return patients.PatientRef{Authority: authority, MRN: s}
}

func patientsImport(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("patients import", "FILE [flags]", "Loads patients into the index from a CSV file (header mrn,family,given,birth_date,sex,address,\n"+
		"city,postal_code,phone; birth_date YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY) or FHIR R4 Patient resources (a\n"+
		"Bundle or NDJSON). Known MRNs are updated in place; bad rows are listed and skipped. FILE - reads stdin.")
	c.register(fs, useDB)
	formatFlag := fs.String("format", "", "csv or fhir (default: detected from the content)")
	authority := authorityFlag(fs)
	mrnSystem := fs.String("mrn-system", env("PAPERCHART_MRN_SYSTEM", ""),
		"FHIR identifier system that holds the MRN, besides identifiers of type MR (PAPERCHART_MRN_SYSTEM)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give one file to import (- for standard input)")
	}
	format, err := patients.ParseFormat(*formatFlag)
	if err != nil {
		return err
	}
	var file io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("open import file: %w", err)
		}
		defer f.Close()
		file = f
	}
	x, trail, closeDB, err := openPatients(ctx, &c)
	if err != nil {
		return err
	}
	defer closeDB()
	sum := sha256.New()
	in := io.TeeReader(file, sum)
	rep, err := x.Import(ctx, in, format, patients.ImportOptions{Authority: *authority, MRNSystem: *mrnSystem,
		Then: func(ctx context.Context, tx pgx.Tx, rep patients.ImportReport) error {
			// The import and its audit entry commit together. The file is
			// named by its SHA-256, not its name (which may name a patient).
			if _, err := io.Copy(io.Discard, in); err != nil {
				return fmt.Errorf("read the rest of the import file: %w", err)
			}
			_, err := trail.RecordTx(ctx, tx, audit.Entry{Actor: cliActor(), Action: audit.ActionPatientImport, Resource: "Patient",
				Outcome: audit.OutcomeOK, Detail: fmt.Sprintf("%s: %d read, %d inserted, %d updated, %d unchanged, %d rejected; sha256 %x",
					rep.Format, rep.Read, rep.Inserted, rep.Updated, rep.Unchanged, rep.Rejected, sum.Sum(nil))})
			return err
		}})
	if *asJSON {
		if jerr := writeJSON(stdout, rep); jerr != nil {
			return jerr
		}
		return schemaHint(err)
	}
	if rep.Format != "" {
		fmt.Fprintf(stdout, "%s (%s): %d read, %d inserted, %d updated, %d unchanged, %d rejected",
			fs.Arg(0), rep.Format, rep.Read, rep.Inserted, rep.Updated, rep.Unchanged, rep.Rejected)
		if rep.Warned > 0 {
			fmt.Fprintf(stdout, ", %d imported with a part missing", rep.Warned)
		}
		if rep.Ignored > 0 {
			fmt.Fprintf(stdout, ", %d other resources ignored", rep.Ignored)
		}
		fmt.Fprintf(stdout, "; %s\n", rep.Elapsed.Round(time.Millisecond))
	}
	if len(rep.Rejections) > 0 {
		fmt.Fprintln(stdout, "Rejected:")
		for _, r := range rep.Rejections {
			fmt.Fprintf(stdout, "  %s\n", r)
		}
		if rep.Rejected > len(rep.Rejections) {
			fmt.Fprintf(stdout, "  ... and %d more\n", rep.Rejected-len(rep.Rejections))
		}
	}
	if len(rep.Warnings) > 0 {
		fmt.Fprintln(stdout, "Imported with a part missing:")
		for _, r := range rep.Warnings {
			fmt.Fprintf(stdout, "  %s\n", r)
		}
		if rep.Warned > len(rep.Warnings) {
			fmt.Fprintf(stdout, "  ... and %d more\n", rep.Warned-len(rep.Warnings))
		}
	}
	return schemaHint(err)
}

func patientsShow(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("patients show", "MRN | AUTHORITY MRN | 'AUTHORITY|MRN' [flags]",
		"Shows one patient record of the index, and what it was merged into if it was.")
	c.register(fs, useDB)
	authority := authorityFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	var ref patients.PatientRef
	switch fs.NArg() {
	case 1:
		ref = parseRef(fs.Arg(0), *authority)
	case 2:
		ref = patients.PatientRef{Authority: fs.Arg(0), MRN: fs.Arg(1)}
	default:
		return errors.New("give an MRN, or an authority and an MRN")
	}
	x, trail, closeDB, err := openPatients(ctx, &c)
	if err != nil {
		return err
	}
	defer closeDB()
	p, err := x.ByMRN(ctx, ref.Authority, ref.MRN)
	if err != nil {
		return schemaHint(err)
	}
	if err := auditRead(ctx, trail, audit.Entry{Action: audit.ActionPatientRead, Resource: fmt.Sprintf("Patient/%d", p.ID),
		PatientID: &p.ID, Detail: "paperchart patients show"}); err != nil {
		return err
	}
	var survivor *patients.Patient
	if p.MergedInto != nil {
		s, err := x.Resolve(ctx, p.ID)
		if err != nil {
			return err
		}
		survivor = &s
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			patients.Patient
			Survivor *patients.Patient `json:"survivor,omitempty"`
		}{p, survivor})
	}
	state := "active"
	switch {
	case survivor != nil:
		state = fmt.Sprintf("merged into patient %d (%s|%s)", survivor.ID, survivor.Authority, survivor.MRN)
	case !p.Active:
		state = "inactive"
	}
	fmt.Fprintf(stdout, "Patient %d: %s\n", p.ID, state)
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(stdout, "  %-12s %s\n", label, v)
		}
	}
	line("mrn", p.Authority+"|"+p.MRN)
	line("name", strings.TrimSuffix(p.Family+", "+p.Given, ", "))
	line("born", p.BirthDate.String())
	line("sex", p.Sex)
	line("address", strings.Trim(strings.Join([]string{p.Address, p.City, p.PostalCode}, ", "), ", "))
	line("phone", p.Phone)
	for _, id := range p.Identifiers {
		line("identifier", id.System+"|"+id.Value)
	}
	line("created", p.CreatedAt.Local().Format(time.DateTime))
	line("updated", p.UpdatedAt.Local().Format(time.DateTime))
	return nil
}

func patientsMerge(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("patients merge", "--retire MRN --into MRN [flags]",
		"Merges a duplicate record into the one that survives: the retired record becomes inactive\n"+
			"and points at the survivor, and its documents move to the survivor. MRNs may be written\n"+
			"AUTHORITY|MRN.")
	c.register(fs, useDB)
	authority := authorityFlag(fs)
	retire := fs.String("retire", "", "MRN of the record to retire")
	into := fs.String("into", "", "MRN of the record that survives")
	source := fs.String("source", "cli", "what asked for the merge, kept with it")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if *retire == "" || *into == "" || fs.NArg() != 0 {
		return errors.New("give --retire MRN and --into MRN")
	}
	x, trail, closeDB, err := openPatients(ctx, &c)
	if err != nil {
		return err
	}
	defer closeDB()
	r, s := parseRef(*retire, *authority), parseRef(*into, *authority)
	// The merge and its audit entry commit together (by IDs: no MRN in the
	// trail).
	audited := func(ctx context.Context, tx pgx.Tx, retiredID, survivingID int64) error {
		_, err := trail.RecordTx(ctx, tx, audit.Entry{Actor: cliActor(), Action: audit.ActionPatientMerge,
			Resource: fmt.Sprintf("Patient/%d", retiredID), PatientID: &survivingID, Outcome: audit.OutcomeOK,
			Detail: fmt.Sprintf("Patient/%d merged into Patient/%d", retiredID, survivingID)})
		return err
	}
	if err := x.Merge(ctx, r, s, *source, audited); err != nil {
		return schemaHint(err)
	}
	retired, err := x.ByMRN(ctx, r.Authority, r.MRN)
	if err != nil {
		return err
	}
	surv, err := x.Resolve(ctx, retired.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "patient %d (%s|%s) is merged into patient %d (%s|%s)\n",
		retired.ID, retired.Authority, retired.MRN, surv.ID, surv.Authority, surv.MRN)
	return nil
}

func patientsSearch(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("patients search", "[--mrn M] [--family F] [--given G] [--dob D] [flags]",
		"Lists the active patients that could match, best first, with what agreed: the MRN (also as\n"+
			"OCR misreads it), the birth date (also with day and month swapped), a similar or\n"+
			"similar-sounding family name. The candidates the document matcher scores.")
	c.register(fs, useDB)
	mrn := fs.String("mrn", "", "MRN")
	authority := fs.String("authority", "", "look for the MRN in this authority only (default: any)")
	family := fs.String("family", "", "family name")
	given := fs.String("given", "", "given name")
	dob := fs.String("dob", "", "birth date: YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY")
	limit := fs.Int("limit", patients.DefaultCandidateLimit, "at most this many candidates")
	asJSON := fs.Bool("json", false, "print JSON (an array of candidates) for scripts")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q: use --mrn, --family, --given, --dob", fs.Arg(0))
	}
	q := patients.Query{Authority: *authority, MRN: *mrn, Family: *family, Given: *given}
	if *dob != "" {
		d, err := chart.ParseDate(*dob)
		if err != nil {
			return fmt.Errorf("--dob: %w", err)
		}
		q.BirthDate = d
	}
	x, trail, closeDB, err := openPatients(ctx, &c)
	if err != nil {
		return err
	}
	defer closeDB()
	cs, err := x.Candidates(ctx, q, *limit)
	if err != nil {
		return schemaHint(err)
	}
	// The parameters' names and the IDs found, never the values.
	var params, ids []string
	for _, f := range []struct{ name, v string }{{"mrn", *mrn}, {"family", *family}, {"given", *given}, {"dob", *dob}} {
		if f.v != "" {
			params = append(params, f.name)
		}
	}
	for _, p := range cs {
		ids = append(ids, strconv.FormatInt(p.ID, 10))
	}
	if err := auditRead(ctx, trail, audit.Entry{Action: audit.ActionPatientSearch, Resource: "Patient",
		Detail: "paperchart patients search by " + strings.Join(params, ",") + "; found Patient/" + strings.Join(ids, ",")}); err != nil {
		return err
	}
	if *asJSON {
		if cs == nil {
			cs = []patients.Patient{}
		}
		return writeJSON(stdout, cs)
	}
	if len(cs) == 0 {
		fmt.Fprintln(stdout, "no candidates")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMRN\tNAME\tBORN\tSEX\tRANK\tWHY")
	for _, p := range cs {
		why := make([]string, len(p.Why))
		for i, w := range p.Why {
			why[i] = string(w)
		}
		fmt.Fprintf(tw, "%d\t%s|%s\t%s, %s\t%s\t%s\t%.2f\t%s\n", p.ID, p.Authority, p.MRN, p.Family, p.Given,
			p.BirthDate, p.Sex, p.Rank, strings.Join(why, " "))
	}
	return tw.Flush()
}
