package scangen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// This file owns the patients of a batch and how their identifiers are
// printed: name, MRN and birth date in the formats seen on real paper, with
// occasional typos.

// Patient is one person of the patient index, as a caller passes it in
// Options.Patients and as Population makes them. Names are stored upper
// case in the ground truth.
type Patient struct {
	MRN       string    // medical record number as the index holds it, for example "00123456"
	Family    string    // family name (surname)
	Given     string    // given name
	BirthDate time.Time // only the date is used
	Sex       string    // "F", "M" or "" (unknown)

	// Home address and telephone, as the index holds them (the patients
	// package's address, city, postal_code and phone). Generated documents
	// do not print them: a letter to the patient shows an address drawn
	// for the batch.
	Address    string // street address, for example "1234 Maple Avenue, Apt 3B"
	City       string
	PostalCode string
	Phone      string
}

// patient is a Patient as the content code uses it.
type patient struct {
	surname, given, mrn string
	birth               date
	female              bool
	street, city        string // home address, for letters to the patient
}

func (p patient) name() string { return p.surname + ", " + p.given }

// fromPatient converts a caller's patient; an empty sex is drawn.
func fromPatient(r *rand.Rand, in Patient) patient {
	p := patient{
		surname: strings.ToUpper(strings.TrimSpace(in.Family)),
		given:   strings.ToUpper(strings.TrimSpace(in.Given)),
		mrn:     strings.TrimSpace(in.MRN),
		birth:   date{in.BirthDate.Year(), int(in.BirthDate.Month()), in.BirthDate.Day()},
	}
	switch strings.ToUpper(in.Sex) {
	case "F", "FEMALE":
		p.female = true
	case "M", "MALE":
	default:
		p.female = r.IntN(2) == 0
	}
	if in.BirthDate.IsZero() {
		p.birth = randDate(r, 1930, 2010)
	}
	if p.mrn == "" {
		p.mrn = fmt.Sprintf("%08d", r.IntN(100000000))
	}
	p.street, p.city = randAddress(r)
	return p
}

// newPatient draws a fictional patient.
func newPatient(r *rand.Rand) patient {
	female := r.IntN(2) == 0
	given := pick(r, maleNames)
	if female {
		given = pick(r, femaleNames)
	}
	p := patient{
		surname: pick(r, surnames),
		given:   given,
		mrn:     fmt.Sprintf("%08d", r.IntN(100000000)),
		birth:   randDate(r, 1930, 2010),
		female:  female,
	}
	p.street, p.city = randAddress(r)
	return p
}

func randAddress(r *rand.Rand) (street, city string) {
	return fmt.Sprintf("%d %s", 10+r.IntN(9000), pick(r, streets)), pick(r, towns)
}

// patientPool is the patients documents of a batch are drawn from.
type patientPool struct {
	patients []patient
	last     int
}

func newPatientPool(r *rand.Rand, given []Patient) *patientPool {
	pp := &patientPool{last: -1}
	for _, p := range given {
		pp.patients = append(pp.patients, fromPatient(r, p))
	}
	if len(pp.patients) == 0 {
		for range 2 + r.IntN(4) {
			pp.patients = append(pp.patients, newPatient(r))
		}
	}
	return pp
}

// next picks the patient of the next document: often the same as the
// previous one (a chart scanned in one go), otherwise any.
func (pp *patientPool) next(r *rand.Rand) patient {
	if pp.last < 0 || r.IntN(5) >= 3 {
		pp.last = r.IntN(len(pp.patients))
	}
	return pp.patients[pp.last]
}

// ids is how one document prints its patient's identifiers: the format is
// chosen once per document, as a form or a label is. Any of name, mrn and
// dob may be "" when the document leaves that field out.
type ids struct {
	name, mrn, dob string // whole lines, for example "Patient: DOE, JANE"
	nameOnly       string // the name as printed, for running headers
	mrnOnly        string // our MRN as printed ("" when the document prints none)
	dobOnly        string // the birth date as printed

	nameLabel, mrnLabel, dobLabel string // the labels used, for tests

	acct string // an account or visit number line ("Acct #: 5512034"), or ""

	// other is a line printing another facility's MRN ("" for none);
	// otherMRN and otherLabel are its value and label. otherPlain says
	// the label is a bare "MRN", so a reader cannot tell it from ours.
	other, otherMRN, otherLabel string
	otherPlain                  bool
	// conflict: the document prints, under an MRN label, an identifier
	// that is not the patient's own MRN in our index (a typo, or another
	// facility's MRN labelled plainly).
	conflict bool
	typoed   bool // the MRN as printed differs from the index's by a typo
}

// The label variants of a patient header, as seen on paper.
var (
	nameLabels = []string{"Patient:", "Name:", "Pt Name:", "PATIENT NAME:", "Patient Name:", "Pt:", "PATIENT:", "NAME:"}
	mrnLabels  = []string{"MRN:", "MRN", "MR#:", "MR #", "Med Rec No:", "Med Rec #:", "Medical Record No.", "Chart #:", "MRN#:"}
	dobLabels  = []string{"DOB:", "DOB", "D.O.B.:", "D.O.B.", "Birth Date:", "Date of Birth:", "Birthdate:"}
	// Labels of another facility's MRN; "MRN:" alone makes a conflict.
	otherMRNLabels = []string{"Outside MRN:", "Ext MRN:", "Referring MRN:", "Prior MRN:", "MRN:"}
)

// nicknames are the short forms of given names printed on some forms.
var nicknames = map[string]string{
	"WILLIAM": "BILL", "ROBERT": "BOB", "RICHARD": "DICK", "JAMES": "JIM", "JOHN": "JACK", "MARGARET": "PEGGY",
	"ELIZABETH": "LIZ", "KATHLEEN": "KATHY", "THOMAS": "TOM", "JOSEPH": "JOE", "MICHAEL": "MIKE", "DAVID": "DAVE",
	"CHARLES": "CHUCK", "DANIEL": "DAN", "ANTHONY": "TONY", "DONALD": "DON", "STEVEN": "STEVE", "ANDREW": "ANDY",
	"KENNETH": "KEN", "TIMOTHY": "TIM", "RONALD": "RON", "EDWARD": "ED", "JEFFREY": "JEFF", "NICHOLAS": "NICK",
	"PATRICIA": "PAT", "JENNIFER": "JEN", "BARBARA": "BARB", "SUSAN": "SUE", "JESSICA": "JESS", "REBECCA": "BECKY",
	"DOROTHY": "DOT", "DEBORAH": "DEBBIE", "CYNTHIA": "CINDY", "PAMELA": "PAM", "SAMUEL": "SAM", "PETER": "PETE",
	"HAROLD": "HAL", "LEONARD": "LEN", "FRANCIS": "FRANK", "WALTER": "WALT", "NORMAN": "NORM", "ELEANOR": "ELLIE",
	"CHRISTOPHER": "CHRIS", "MATTHEW": "MATT", "KIMBERLY": "KIM", "MELISSA": "MISSY", "STEPHANIE": "STEPH",
}

var shortMonths = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// idsStyle forces label choices for tests; -1 fields mean "draw".
type idsStyle struct{ name, mrn, dob int }

func newIDs(r *rand.Rand, p patient) ids { return newIDsStyle(r, p, idsStyle{-1, -1, -1}) }

func newIDsStyle(r *rand.Rand, p patient, st idsStyle) ids {
	surname, given := p.surname, p.given
	// An occasional typo in the name, as a registration clerk makes.
	if r.IntN(16) == 0 {
		if r.IntN(2) == 0 {
			surname = typo(r, surname)
		} else {
			given = typo(r, given)
		}
	}
	if nick, ok := nicknames[given]; ok && r.IntN(6) == 0 {
		given = nick
	}
	var out ids
	nl := r.IntN(len(nameLabels))
	if st.name >= 0 {
		nl = st.name
	}
	out.nameLabel = nameLabels[nl]
	switch r.IntN(7) {
	case 0:
		out.nameOnly = titleCase(given) + " " + titleCase(surname)
	case 1:
		out.nameOnly = titleCase(surname) + ", " + given[:1] + "."
	case 2:
		out.nameOnly = titleCase(surname) + ", " + titleCase(given)
	case 3:
		out.nameOnly = given + " " + surname
	case 4:
		out.nameOnly = given[:1] + ". " + titleCase(surname)
	default:
		out.nameOnly = surname + ", " + given
	}
	out.name = out.nameLabel + " " + out.nameOnly

	mrn := p.mrn
	typoed := false
	if r.IntN(40) == 0 {
		mrn = typo(r, mrn)
		typoed = strings.TrimLeft(mrn, "0") != strings.TrimLeft(p.mrn, "0")
	}
	ml := r.IntN(len(mrnLabels))
	if st.mrn >= 0 {
		ml = st.mrn
	}
	out.mrnLabel = mrnLabels[ml]
	if strings.HasPrefix(out.mrnLabel, "Med Rec") && r.IntN(2) == 0 {
		mrn = strings.TrimLeft(mrn, "0")
		if mrn == "" {
			mrn = "0"
		}
	}
	out.mrnOnly, out.mrn = mrn, out.mrnLabel+" "+mrn
	out.conflict, out.typoed = typoed, typoed

	b := p.birth
	if r.IntN(50) == 0 { // a slip of the pen
		b.d = 1 + (b.d % 28)
	}
	dl := r.IntN(len(dobLabels))
	if st.dob >= 0 {
		dl = st.dob
	}
	out.dobLabel = dobLabels[dl]
	switch {
	case b.d <= 12 && b.d != b.m && r.IntN(25) == 0: // day and month swapped (a European form)
		out.dobOnly = fmt.Sprintf("%02d/%02d/%04d", b.d, b.m, b.y)
	default:
		switch r.IntN(6) {
		case 0:
			out.dobOnly = b.String()
		case 1:
			out.dobOnly = fmt.Sprintf("%04d-%02d-%02d", b.y, b.m, b.d)
		case 2:
			out.dobOnly = fmt.Sprintf("%02d-%s-%04d", b.d, shortMonths[b.m-1], b.y)
		case 3:
			out.dobOnly = b.long()
		case 4:
			out.dobOnly = fmt.Sprintf("%d/%d/%02d", b.m, b.d, b.y%100)
		default:
			out.dobOnly = b.String()
		}
	}
	out.dob = out.dobLabel + " " + out.dobOnly

	// Missing fields, when the test does not ask for a label.
	if st.dob < 0 && r.IntN(12) == 0 {
		out.dob, out.dobOnly = "", ""
	}
	if st.mrn < 0 && r.IntN(12) == 0 {
		out.mrn, out.mrnOnly, out.conflict, out.typoed = "", "", false, false
	}
	if r.IntN(5) == 0 {
		out.acct = pick(r, []string{"Acct #: ", "Acct: ", "Account No: ", "Visit #: ", "FIN: "}) + fmt.Sprintf("%d", 1000000+r.IntN(9000000))
	}
	// Another facility's MRN on one document in ten.
	if r.IntN(10) == 0 {
		out.otherLabel = pick(r, otherMRNLabels)
		switch r.IntN(3) {
		case 0:
			out.otherMRN = fmt.Sprintf("%07d", r.IntN(10000000))
		case 1:
			out.otherMRN = fmt.Sprintf("%c%07d", 'A'+rune(r.IntN(26)), r.IntN(10000000))
		default:
			out.otherMRN = fmt.Sprintf("%09d", r.IntN(1000000000))
		}
		out.otherPlain = out.otherLabel == "MRN:"
		out.other = out.otherLabel + " " + out.otherMRN
		if out.otherPlain {
			out.conflict = true
			if r.IntN(2) == 0 {
				// The other facility's MRN in place of ours.
				out.mrn, out.mrnOnly, out.typoed = "", "", false
			}
		}
	}
	return out
}

// lines are the identifier lines the document prints, without empty ones.
func (x ids) lines() []string {
	var out []string
	for _, l := range []string{x.name, x.mrn, x.other, x.dob, x.acct} {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// join joins the non-empty parts with sep.
func join(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// typo swaps two neighbouring characters or drops one.
func typo(r *rand.Rand, s string) string {
	if len(s) < 4 {
		return s
	}
	b := []byte(s)
	i := 1 + r.IntN(len(b)-2)
	if r.IntN(2) == 0 {
		b[i], b[i+1] = b[i+1], b[i]
		return string(b)
	}
	return string(append(b[:i:i], b[i+1:]...))
}

// iso is the birth date as the ground truth records it.
func (d date) iso() string { return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d) }
