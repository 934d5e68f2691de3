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
// chosen once per document, as a form or a label is.
type ids struct {
	name, mrn, dob string // whole lines, for example "Patient: DOE, JANE"
	nameOnly       string // the name as printed, for running headers
	mrnOnly        string // the MRN as printed
}

var shortMonths = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func newIDs(r *rand.Rand, p patient) ids {
	surname, given := p.surname, p.given
	// An occasional typo in the name, as a registration clerk makes.
	if r.IntN(16) == 0 {
		if r.IntN(2) == 0 {
			surname = typo(r, surname)
		} else {
			given = typo(r, given)
		}
	}
	var out ids
	switch r.IntN(6) {
	case 0:
		out.nameOnly = surname + ", " + given
		out.name = "Patient: " + out.nameOnly
	case 1:
		out.nameOnly = titleCase(given) + " " + titleCase(surname)
		out.name = "Name: " + out.nameOnly
	case 2:
		out.nameOnly = titleCase(surname) + ", " + given[:1]
		out.name = "Pt: " + out.nameOnly
	case 3:
		out.nameOnly = titleCase(surname) + ", " + titleCase(given)
		out.name = "Patient Name: " + out.nameOnly
	case 4:
		out.nameOnly = given + " " + surname
		out.name = "PATIENT: " + out.nameOnly
	default:
		out.nameOnly = surname + ", " + given
		out.name = "Name: " + out.nameOnly
	}
	mrn := p.mrn
	if r.IntN(40) == 0 {
		mrn = typo(r, mrn)
	}
	trimmed := strings.TrimLeft(mrn, "0")
	if trimmed == "" {
		trimmed = "0"
	}
	switch r.IntN(6) {
	case 0:
		out.mrnOnly, out.mrn = mrn, "MRN: "+mrn
	case 1:
		out.mrnOnly, out.mrn = mrn, "MRN "+mrn
	case 2:
		out.mrnOnly, out.mrn = trimmed, "Med Rec #: "+trimmed
	case 3:
		out.mrnOnly, out.mrn = mrn, "Medical Record No. "+mrn
	case 4:
		out.mrnOnly, out.mrn = mrn, "MR#: "+mrn
	default:
		out.mrnOnly, out.mrn = mrn, "MRN: "+mrn
	}
	b := p.birth
	if r.IntN(50) == 0 { // a slip of the pen
		b.d = 1 + (b.d % 28)
	}
	switch r.IntN(6) {
	case 0:
		out.dob = "DOB: " + b.String()
	case 1:
		out.dob = "DOB " + b.String()
	case 2:
		out.dob = fmt.Sprintf("Date of Birth: %04d-%02d-%02d", b.y, b.m, b.d)
	case 3:
		out.dob = fmt.Sprintf("D.O.B. %02d-%s-%04d", b.d, shortMonths[b.m-1], b.y)
	case 4:
		out.dob = "Birth Date: " + b.long()
	default:
		out.dob = fmt.Sprintf("DOB: %d/%d/%02d", b.m, b.d, b.y%100)
	}
	return out
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
