package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"paperchart/audit"
	"paperchart/patients"
	"paperchart/sheets"
	"paperchart/storage"
)

// coversheetRequest is what "paperchart coversheet" prints, from its flags.
type coversheetRequest struct {
	NoLookup       bool
	Cover          sheets.CoverSheet
	Separator      bool   // print a separator sheet instead of Cover
	SeparatorValue string // the separator sheet's barcode value
	Out            string // file to write; "-" for stdout
}

// runCoversheet implements "paperchart coversheet": it prints a cover sheet
// (or, with --separator, a separator sheet) as a one-page PDF.
//
// The sheet is built from the flags alone. A look-up in the patient index,
// to fill the name and birth date from the MRN, belongs between parsing and
// printing: it receives req.Cover and may complete it.
func runCoversheet(ctx context.Context, args []string, stdout io.Writer) error {
	req, err := parseCoversheetFlags(args)
	if err != nil {
		return err
	}
	if !req.Separator && !req.NoLookup {
		if err := lookupCoverPatient(ctx, &req.Cover); err != nil {
			return err
		}
	}
	return printCoversheet(ctx, req, stdout)
}

// lookupCoverPatient fills the sheet's name and birth date from the patient
// index, so the person who puts it on a document can check it is the right
// patient. A sheet for an MRN the index does not know is refused: it would
// file a document to nobody, or to the wrong patient.
func lookupCoverPatient(ctx context.Context, c *sheets.CoverSheet) error {
	url := env("PAPERCHART_DATABASE_URL", "postgres://paperchart@127.0.0.1:5432/paperchart?sslmode=disable")
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := storage.OpenDB(cctx, url)
	if err != nil {
		return fmt.Errorf("look the patient up in the patient index: %w (or print without it: --no-lookup with --name and --dob)", err)
	}
	defer db.Close()
	authority := c.Authority
	if authority == "" {
		authority = patients.DefaultAuthority
	}
	p, err := patients.New(db.Pool(), patients.Options{}).ByMRN(cctx, authority, c.MRN)
	if errors.Is(err, patients.ErrNotFound) {
		return errors.New("the patient index has no patient with that MRN: check it, or import the patient first (paperchart patients import)")
	}
	if err != nil {
		return fmt.Errorf("look the patient up in the patient index: %w", err)
	}
	if !p.Active {
		return errors.New("that MRN was merged into another patient or is inactive: print the sheet for the surviving MRN")
	}
	if err := auditRead(cctx, audit.New(db.Pool()), audit.Entry{Action: audit.ActionCoverSheet, Resource: fmt.Sprintf("Patient/%d", p.ID),
		PatientID: &p.ID, Detail: "paperchart coversheet"}); err != nil {
		return err
	}
	if c.PatientName == "" {
		c.PatientName = p.Family + ", " + p.Given
	}
	if c.BirthDate == "" && !p.BirthDate.IsZero() {
		c.BirthDate = p.BirthDate.String()
	}
	return nil
}

func parseCoversheetFlags(args []string) (coversheetRequest, error) {
	var req coversheetRequest
	fl := newFlags("coversheet", "--mrn MRN [flags]  |  --separator [flags]",
		"Prints a cover sheet as a one-page PDF: the patient's name, MRN, birth date and document type\n"+
			"in large print, and the same in a QR code and a Code 128 barcode. Put it on top of the\n"+
			"patient's document before scanning: every page after it, up to the next cover or separator\n"+
			"sheet, is filed as that patient's document, and the sheet itself is not stored.\n"+
			"With --separator, prints a separator sheet instead: it only starts a new document.")
	c := &req.Cover
	fl.StringVar(&c.MRN, "mrn", "", "the patient's medical record number (required for a cover sheet)")
	fl.StringVar(&c.Authority, "authority", env("PAPERCHART_MRN_AUTHORITY", ""),
		"the MRN's assigning authority; empty for the facility's own (PAPERCHART_MRN_AUTHORITY)")
	fl.StringVar(&c.Type, "type", "", "document type code, for example the LOINC code 18842-5 (discharge summary);\nempty: decided from the document's content")
	fl.StringVar(&c.TypeLabel, "type-label", "", "the document type's name, as printed for people")
	fl.StringVar(&c.PatientName, "name", "", `the patient's name as printed, "FAMILY, Given"`)
	dob := fl.String("dob", "", "the patient's birth date, YYYY-MM-DD")
	fl.StringVar(&c.Facility, "facility", env("PAPERCHART_FACILITY", ""), "facility name printed on the sheet (PAPERCHART_FACILITY)")
	fl.StringVar(&req.Out, "out", "", "file to write, or - for standard output (default: cover-MRN.pdf, or separator.pdf,\nin the current directory)")
	fl.BoolVar(&req.Separator, "separator", false, "print a separator sheet instead of a cover sheet")
	fl.BoolVar(&req.NoLookup, "no-lookup", false, "do not look the MRN up in the patient index (PAPERCHART_DATABASE_URL);\nprint only what --name and --dob give")
	fl.StringVar(&req.SeparatorValue, "separator-value", env("PAPERCHART_SEPARATOR", sheets.DefaultSeparator),
		"the separator sheet's barcode value (PAPERCHART_SEPARATOR)")
	if err := fl.Parse(args); err != nil {
		return req, err
	}
	if fl.NArg() > 0 {
		return req, fmt.Errorf("unexpected arguments: %d of them; every value goes with a flag", fl.NArg())
	}
	if *dob != "" {
		// The value is patient data: the error does not repeat it.
		if _, err := time.Parse(time.DateOnly, *dob); err != nil {
			return req, errors.New("--dob must be a date written YYYY-MM-DD")
		}
		c.BirthDate = *dob
	}
	switch {
	case req.Separator && (c.MRN != "" || c.PatientName != "" || c.BirthDate != "" || c.Type != ""):
		return req, errors.New("a separator sheet names no patient or type: drop --mrn, --name, --dob and --type, or --separator")
	case !req.Separator && c.MRN == "":
		return req, errors.New("give the patient's --mrn (or --separator for a separator sheet)")
	}
	if req.Out == "" {
		req.Out = "separator.pdf"
		if !req.Separator {
			req.Out = "cover-" + fileSafe(c.MRN) + ".pdf"
		}
	}
	c.Created = time.Now()
	return req, nil
}

// printCoversheet writes the sheet to req.Out (atomically: a reader never
// sees a partial file) or to stdout, and says where on stdout.
func printCoversheet(ctx context.Context, req coversheetRequest, stdout io.Writer) error {
	write := func(w io.Writer) error {
		if req.Separator {
			return sheets.SeparatorSheetPDF(ctx, w, req.SeparatorValue)
		}
		return sheets.CoverSheetPDF(ctx, w, req.Cover)
	}
	if req.Out == "-" {
		return write(stdout)
	}
	if err := writeFileAtomic(req.Out, write); err != nil {
		return err
	}
	what := "cover sheet"
	if req.Separator {
		what = "separator sheet"
	}
	_, err := fmt.Fprintf(stdout, "%s written to %s\n", what, req.Out)
	return err
}

// writeFileAtomic writes a temporary file beside path and renames it to
// path once complete. Its errors leave the path out: a cover sheet's file
// name holds the MRN.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".coversheet-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create the output file: %w", pathless(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write the output file: %w", pathless(err))
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("cannot write the output file: %w", pathless(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write the output file: %w", pathless(err))
	}
	return nil
}

// pathless returns the cause of a file system error without its path.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// fileSafe keeps letters, digits, '-' and '_' and replaces anything
// else, so an MRN makes a plain file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
