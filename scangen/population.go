package scangen

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// This file owns patient index populations: fictional patients to load
// into the patient index (WritePatientsCSV writes what `paperchart patients
// import` reads), with the hard cases a patient matcher must get right.

// Distractor kinds: how a hard case resembles another member of its
// population (its original).
const (
	distractorTwin        = "twin"         // same family name, birth date, address and phone; another given name
	distractorSameName    = "same-name"    // same family and given name, another birth date and address
	distractorParentChild = "parent-child" // same family and given name and address, born 18-40 years apart ("Jr")
	distractorSimilarName = "similar-name" // same birth date, family or given name one letter off (edit distance 1)
	distractorNearMRN     = "near-mrn"     // another person whose MRN differs by one digit or by two neighbouring digits swapped
)

const (
	distractorShareDenom = 8           // one patient in 8 (12.5%) is a distractor
	populationMinBirth   = 1930        // birth years of patients drawn at random
	populationMaxBirth   = 2023        // (so that no birth date is in the future)
	populationMRNSpace   = 100_000_000 // MRNs are 8 digits
	// PopulationMax is the largest population Population makes: a tenth of
	// the 8-digit MRNs.
	PopulationMax = populationMRNSpace / 10
)

var distractorKinds = []string{distractorTwin, distractorSameName, distractorParentChild, distractorSimilarName, distractorNearMRN}

// distractor records that the patient with MRN is a hard case of kind
// relative to the patient with MRN of.
type distractor struct {
	kind, mrn, of string
}

// Population returns n fictional patients for a patient index, the same for
// the same seed; n is at most PopulationMax (it panics beyond), and n <= 0
// gives none. MRNs are 8 digits, with leading zeros when they fall so, and
// distinct. Every patient has a family and given name (in title case, as an
// index stores them), a birth date from 1930 to 2023, a sex ("F" or "M"),
// a street address, city, postal code and a telephone number in the
// 555-0100..555-0199 range reserved for fiction.
//
// One patient in eight (12.5%; n/8 rounded down) is a hard case for patient
// matching, made from another member of the population, in equal numbers
// of each kind:
//   - a twin: same family name, birth date, address and phone, another
//     given name (either sex);
//   - the same family and given name with another birth date and address;
//   - a parent or child of the same family and given name ("Jr", not
//     recorded as a suffix) at the same address, born 18 to 40 years apart;
//   - the same birth date with the family or the given name one letter off
//     (a letter changed, dropped or doubled);
//   - another person whose MRN differs from the other's by one digit, or by
//     two neighbouring digits swapped.
//
// The hard cases are spread through the slice. Patients drawn at random can
// also resemble each other by chance (common names, close MRNs), as in a
// real index.
func Population(seed uint64, n int) []Patient {
	ps, _ := population(seed, n)
	return ps
}

// population is Population with the distractors it made.
func population(seed uint64, n int) ([]Patient, []distractor) {
	if n <= 0 {
		return nil, nil
	}
	if n > PopulationMax {
		panic(fmt.Sprintf("scangen: population of %d patients, more than PopulationMax", n))
	}
	r := rand.New(rand.NewPCG(seed, 0x9e0_91e5))
	g := &populationGen{r: r, used: make(map[string]bool, n)}
	nd := n / distractorShareDenom
	base := make([]Patient, n-nd)
	for i := range base {
		base[i] = g.person(g.newMRN())
	}
	out := append(make([]Patient, 0, n), base...)
	ds := make([]distractor, 0, nd)
	for i := range nd {
		kind := distractorKinds[i%len(distractorKinds)]
		orig := base[r.IntN(len(base))]
		p := g.distractor(kind, orig)
		out = append(out, p)
		ds = append(ds, distractor{kind: kind, mrn: p.MRN, of: orig.MRN})
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, ds
}

// populationGen draws the patients of one population.
type populationGen struct {
	r    *rand.Rand
	used map[string]bool // MRNs given out
}

// newMRN returns an unused 8-digit MRN.
func (g *populationGen) newMRN() string {
	for {
		m := fmt.Sprintf("%08d", g.r.IntN(populationMRNSpace))
		if !g.used[m] {
			g.used[m] = true
			return m
		}
	}
}

// person draws a patient with the MRN.
func (g *populationGen) person(mrn string) Patient {
	r := g.r
	p := Patient{MRN: mrn, Family: titleCase(pick(r, popSurnames)), Sex: "F"}
	if r.IntN(2) == 0 {
		p.Sex = "M"
	}
	p.Given = g.given(p.Sex, "")
	p.BirthDate = g.birthDate(populationMinBirth, populationMaxBirth)
	g.home(&p)
	return p
}

// given draws a given name for the sex, other than not.
func (g *populationGen) given(sex, not string) string {
	names := popFemaleNames
	if sex == "M" {
		names = popMaleNames
	}
	for {
		if s := titleCase(pick(g.r, names)); s != not {
			return s
		}
	}
}

// birthDate draws a day of the years from..to.
func (g *populationGen) birthDate(from, to int) time.Time {
	start := time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(time.Date(to+1, 1, 1, 0, 0, 0, 0, time.UTC).Sub(start).Hours() / 24)
	return start.AddDate(0, 0, g.r.IntN(days))
}

// home draws an address and a telephone number.
func (g *populationGen) home(p *Patient) {
	r := g.r
	t := pick(r, popTowns)
	p.Address = fmt.Sprintf("%d %s", 1+r.IntN(9899), pick(r, streets))
	if r.IntN(5) == 0 {
		p.Address += fmt.Sprintf(", Apt %d%c", 1+r.IntN(30), 'A'+rune(r.IntN(4)))
	}
	p.City = t.city
	p.PostalCode = fmt.Sprintf("%05d", t.zip+r.IntN(8))
	p.Phone = fmt.Sprintf("(%d) 555-01%02d", t.area, r.IntN(100))
}

// distractor makes a patient of kind resembling orig.
func (g *populationGen) distractor(kind string, orig Patient) Patient {
	r := g.r
	switch kind {
	case distractorTwin:
		p := orig
		p.MRN = g.newMRN()
		p.Sex = "F"
		if r.IntN(2) == 0 {
			p.Sex = "M"
		}
		p.Given = g.given(p.Sex, orig.Given)
		return p
	case distractorSameName:
		p := g.person(g.newMRN())
		p.Family, p.Given, p.Sex = orig.Family, orig.Given, orig.Sex
		for p.BirthDate.Equal(orig.BirthDate) {
			p.BirthDate = g.birthDate(populationMinBirth, populationMaxBirth)
		}
		return p
	case distractorParentChild:
		p := orig
		p.MRN = g.newMRN()
		years := 18 + r.IntN(23)
		if orig.BirthDate.Year()+years > populationMaxBirth {
			years = -years // a parent
		}
		p.BirthDate = g.birthDate(orig.BirthDate.Year()+years, orig.BirthDate.Year()+years)
		return p
	case distractorSimilarName:
		p := g.person(g.newMRN())
		p.Family, p.Given, p.Sex, p.BirthDate = orig.Family, orig.Given, orig.Sex, orig.BirthDate
		if r.IntN(3) < 2 {
			p.Family = oneLetterOff(r, orig.Family)
		} else {
			p.Given = oneLetterOff(r, orig.Given)
		}
		return p
	default: // distractorNearMRN
		p := g.person(nearMRN(r, orig.MRN, g.used))
		g.used[p.MRN] = true
		return p
	}
}

// oneLetterOff changes, drops or doubles one letter of a name after its
// first, so that it is one edit away.
func oneLetterOff(r *rand.Rand, name string) string {
	b := []byte(strings.ToUpper(name))
	var letters []int // positions of letters after the first character
	for i := 1; i < len(b); i++ {
		if b[i] >= 'A' && b[i] <= 'Z' {
			letters = append(letters, i)
		}
	}
	i := pick(r, letters)
	switch r.IntN(4) {
	case 0: // dropped, when the name stays long enough
		if len(letters) > 2 {
			return titleCase(string(append(b[:i:i], b[i+1:]...)))
		}
	case 1: // doubled
		return titleCase(string(b[:i+1]) + string(b[i:]))
	}
	c := b[i]
	for c == b[i] {
		c = byte('A' + r.IntN(26))
	}
	b[i] = c
	return titleCase(string(b))
}

// nearMRN returns an MRN not in used that differs from mrn by one digit, or
// by two neighbouring different digits swapped.
func nearMRN(r *rand.Rand, mrn string, used map[string]bool) string {
	for {
		b := []byte(mrn)
		if r.IntN(2) == 0 {
			i := r.IntN(len(b) - 1)
			if b[i] == b[i+1] {
				continue
			}
			b[i], b[i+1] = b[i+1], b[i]
		} else {
			i := r.IntN(len(b))
			d := b[i]
			for d == b[i] {
				d = byte('0' + r.IntN(10))
			}
			b[i] = d
		}
		if m := string(b); !used[m] {
			return m
		}
	}
}

// PatientsCSVHeader is the header line WritePatientsCSV writes: the columns
// `paperchart patients import` reads.
const PatientsCSVHeader = "mrn,family,given,birth_date,sex,address,city,postal_code,phone"

// WritePatientsCSV writes ps as CSV with the header PatientsCSVHeader, one
// patient a row: birth_date as YYYY-MM-DD (empty when unknown) and sex as
// "female", "male" or empty (from Patient.Sex "F", "M" or anything else).
// The patients package imports it as is.
func WritePatientsCSV(w io.Writer, ps []Patient) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(strings.Split(PatientsCSVHeader, ",")); err != nil {
		return fmt.Errorf("scangen: write patients CSV header: %w", err)
	}
	for i, p := range ps {
		birth := ""
		if !p.BirthDate.IsZero() {
			birth = p.BirthDate.Format(time.DateOnly)
		}
		sex := ""
		switch strings.ToUpper(strings.TrimSpace(p.Sex)) {
		case "F", "FEMALE":
			sex = "female"
		case "M", "MALE":
			sex = "male"
		}
		if err := cw.Write([]string{p.MRN, p.Family, p.Given, birth, sex, p.Address, p.City, p.PostalCode, p.Phone}); err != nil {
			return fmt.Errorf("scangen: write patients CSV row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("scangen: write patients CSV: %w", err)
	}
	return nil
}
