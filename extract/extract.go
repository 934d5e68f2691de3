// Package extract finds patient identifiers and dates in a page's OCR text:
// medical record numbers, patient names, birth dates, dates of service and
// the facility named in the letterhead. It owns only the reading of text;
// deciding which patient a document belongs to is the match package's job.
//
// Values are found next to labels ("MRN", "Patient:", "DOB", "Date of
// Service", ...). Labels are recognised with one edit of OCR damage
// ("Patlent", "MRM", "D0B"), and digit runs are read through the usual OCR
// confusions (O→0, I/l/|→1, S→5, B→8, Z→2). Unlabelled numbers (telephone,
// page, lab values, member IDs) are never taken for MRNs.
//
// Nothing here logs; errors never carry page text or patient data.
package extract

import (
	"errors"
	"fmt"
	"paperchart/chart"
	"regexp"
	"regexp/syntax"
	"time"
)

// Config tunes an Extractor. The zero value is usable.
type Config struct {
	// MRNPatterns are regular expressions (RE2 syntax) for the facility's
	// MRNs, matched at the start of the text that follows an MRN label. If a
	// pattern has a capturing group, group 1 is the MRN, otherwise the whole
	// match. Each pattern is tried on the text as printed, then on the text
	// with OCR confusions inside digit runs normalised. Default: 6–10 digits.
	MRNPatterns []string
	// MRNWidth, if positive, left-pads all-digit MRN values shorter than it
	// with zeros ("Med Rec #: 123456" → "00123456" for width 8), as facilities
	// that print MRNs without their leading zeros store them padded.
	MRNWidth int
	// Today is the reference date: birth dates after it are rejected and
	// two-digit years are resolved against it. Zero means the date New runs.
	Today time.Time
	// HeaderLines is how many lines from the top of a page count as its
	// header: the facility is looked for there, and a bare "Date:" label is a
	// date of service only there. Default 12.
	HeaderLines int
	// Read, when set, is called each time a page's text is read (Page, and
	// each page of Document): a test counts with it that no stage reads a
	// page twice.
	Read func()
}

// Candidate is one MRN found on a page.
type Candidate struct {
	Value      chart.MRN // normalised: OCR confusions in digit runs fixed, padded to MRNWidth
	Raw        string    // as printed
	Label      string    // canonical label: "MRN", "MR#", "Med Rec #", "Medical Record No."
	Page       int       // 0-based page index (always 0 from Page)
	Line       int       // 0-based line index on that page
	Confidence float64   // 0..1
}

// Name is one patient name found on a page. Family, Given and Middle are
// upper case, as the patient index stores them.
type Name struct {
	Family, Given, Middle string
	Raw                   string // as printed
	Label                 string // "Patient Name", "Patient", "Name", "Pt", "Member", "Re"
	Page, Line            int
	Confidence            float64
}

// DateCand is one date found on a page.
type DateCand struct {
	chart.Date
	Raw string // as printed
	// Ambiguous is set for numeric dates whose day and month could be
	// swapped (03/04/1962); Month and Day are read US style (month first).
	Ambiguous  bool
	Label      string // "DOB", "Date of Service", "Collected", ... ("" for a bare dated line of a letter)
	Page, Line int
	Confidence float64
}

// Found is what a page or a document yields, each list best first.
type Found struct {
	MRNs         []Candidate
	Names        []Name
	BirthDates   []DateCand
	ServiceDates []DateCand
	Facility     string // best guess from the letterhead, may be ""
}

// Extractor reads identifiers from OCR text. It is safe for concurrent use.
type Extractor struct {
	mrn         []*regexp.Regexp
	width       int
	today       chart.Date
	headerLines int
	read        func()
}

// defaultMRN is applied to digit-normalised text.
const defaultMRN = `([0-9]{6,10})\b`

// New compiles cfg's patterns. Errors name the bad pattern by index only.
func New(cfg Config) (*Extractor, error) {
	x := &Extractor{width: cfg.MRNWidth, headerLines: cfg.HeaderLines, read: cfg.Read}
	if x.headerLines <= 0 {
		x.headerLines = 12
	}
	t := cfg.Today
	if t.IsZero() {
		t = time.Now()
	}
	x.today = chart.DateOf(t)
	pats := cfg.MRNPatterns
	if len(pats) == 0 {
		pats = []string{defaultMRN}
	}
	for i, p := range pats {
		re, err := regexp.Compile(`^(?:` + p + `)`)
		if err != nil {
			var se *syntax.Error
			if errors.As(err, &se) {
				return nil, fmt.Errorf("extract: MRN pattern %d: %s", i, se.Code)
			}
			return nil, fmt.Errorf("extract: MRN pattern %d does not compile", i)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("extract: MRN pattern %d matches the empty string", i)
		}
		x.mrn = append(x.mrn, re)
	}
	return x, nil
}
