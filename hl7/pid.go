package hl7

import (
	"strconv"
	"strings"
	"time"

	"paperchart/chart"
	"paperchart/patients"
)

// Identifiers says how PID-3 and MRG-1 identifiers become index MRNs.
type Identifiers struct {
	// DefaultAuthority is the index's assigning authority for an
	// identifier without one (PID-3.4 empty); "" means
	// patients.DefaultAuthority.
	DefaultAuthority string
	// Authorities maps an HL7 assigning authority (PID-3.4's namespace ID,
	// else its universal ID) to the index's, when they differ: the
	// hospital's "HOSP" to the "MRN" of a CSV import, say. An authority not
	// in the map is the index's as it is. The map is also read backwards
	// for the PID of outgoing messages.
	Authorities map[string]string
}

func (ids Identifiers) defaultAuthority() string {
	if ids.DefaultAuthority == "" {
		return patients.DefaultAuthority
	}
	return ids.DefaultAuthority
}

// authority returns the index's authority for an HD value (PID-3.4).
func (ids Identifiers) authority(hd Value) string {
	a := strings.TrimSpace(hd.Sub(1).String())
	if a == "" {
		a = strings.TrimSpace(hd.Sub(2).String())
	}
	if a == "" {
		return ids.defaultAuthority()
	}
	if m, ok := ids.Authorities[a]; ok {
		return m
	}
	return a
}

// outbound returns the HL7 assigning authority for an index authority:
// the first (in order of name) that Authorities maps to it, else itself.
func (ids Identifiers) outbound(authority string) string {
	best := ""
	for hl7, idx := range ids.Authorities {
		if idx == authority && (best == "" || hl7 < best) {
			best = hl7
		}
	}
	if best != "" {
		return best
	}
	return authority
}

// mrn picks the MRN among a CX field's repetitions (PID-3, MRG-1): the
// first of identifier type MR (CX-5) whose authority is in Authorities, else
// the first of type MR, else the only identifier when it is the only one
// and has no type. seg and field locate the field for errors. The MRN's
// white space is collapsed as the index stores it.
func (ids Identifiers) mrn(f Value, seg string, field int) (patients.PatientRef, *Error) {
	where := seg + "-" + strconv.Itoa(field)
	var typed, untyped []Value
	sent := 0 // identifiers of any type
	for _, r := range f.Repetitions() {
		if strings.TrimSpace(r.Component(1).String()) == "" {
			continue
		}
		sent++
		switch strings.ToUpper(strings.TrimSpace(r.Component(5).String())) {
		case "MR":
			typed = append(typed, r)
		case "":
			untyped = append(untyped, r)
		}
	}
	var pick Value
	switch {
	case len(typed) > 0:
		pick = typed[0]
		for _, r := range typed {
			if _, ok := ids.Authorities[strings.TrimSpace(r.Component(4).Sub(1).String())]; ok {
				pick = r
				break
			}
		}
	case sent == 1 && len(untyped) == 1:
		pick = untyped[0]
	case sent == 0:
		return patients.PatientRef{}, errorf(seg, field, CodeRequiredMissing, "%s patient identifier is empty", where)
	default:
		return patients.PatientRef{}, errorf(seg, field, CodeRequiredMissing, "%s has no identifier of type MR (medical record number)", where)
	}
	return patients.PatientRef{
		Authority: ids.authority(pick.Component(4)),
		MRN:       strings.Join(strings.Fields(pick.Component(1).String()), " "),
	}, nil
}

// pidFields are what a PID segment says of a patient. A part is applied
// only when its field was sent: an empty field leaves the index's value
// as it is, a null ("") erases it.
type pidFields struct {
	ref                                  patients.PatientRef
	name, birth, sex, address, telephone bool // sent
	p                                    patients.Patient
}

// readPID reads a PID segment; seq is which PID of the message it is.
func (ids Identifiers) readPID(pid Segment, seq int, now time.Time) (pidFields, *Error) {
	var out pidFields
	at := func(e *Error) *Error { e.Seq = seq; return e }
	ref, e := ids.mrn(pid.Field(3), "PID", 3)
	if e != nil {
		return out, at(e)
	}
	out.ref = ref
	out.p.Authority, out.p.MRN = ref.Authority, ref.MRN

	if f := pid.Field(5); !f.IsEmpty() {
		out.name = true
		n := pickRep(f, 7, "L")
		out.p.Family = n.Component(1).Sub(1).String()
		out.p.Given = strings.Join(strings.Fields(n.Component(2).String()+" "+n.Component(3).String()), " ")
		if strings.TrimSpace(out.p.Family) == "" {
			return out, at(errorf("PID", 5, CodeRequiredMissing, "PID-5 family name is empty"))
		}
	}
	if f := pid.Field(7); !f.IsEmpty() {
		out.birth = true
		d, e := birthDate(f.Component(1).String(), now)
		if e != nil {
			return out, at(e)
		}
		out.p.BirthDate = d
	}
	if f := pid.Field(8); !f.IsEmpty() {
		out.sex = true
		sex, ok := sexOf(f.Component(1).String())
		if !ok {
			return out, at(errorf("PID", 8, CodeTableValue, "PID-8 sex is not one of M, F, O, U, A, N"))
		}
		out.p.Sex = sex
	}
	if f := pid.Field(11); !f.IsEmpty() {
		out.address = true
		a := pickRep(f, 7, "H")
		street := strings.TrimSpace(a.Component(1).Sub(1).String())
		if other := strings.TrimSpace(a.Component(2).String()); other != "" {
			street = strings.TrimSpace(street + ", " + other)
		}
		out.p.Address = strings.Trim(street, ", ")
		out.p.City = a.Component(3).String()
		out.p.PostalCode = a.Component(5).String()
	}
	if f := pid.Field(13); !f.IsEmpty() {
		out.telephone = true
		out.p.Phone = phone(f)
	}
	return out, nil
}

// apply puts the fields sent over cur, the index's record (zero when new).
func (f pidFields) apply(cur patients.Patient) patients.Patient {
	cur.Authority, cur.MRN = f.ref.Authority, f.ref.MRN
	if f.name {
		cur.Family, cur.Given = f.p.Family, f.p.Given
	}
	if f.birth {
		cur.BirthDate = f.p.BirthDate
	}
	if f.sex {
		cur.Sex = f.p.Sex
	}
	if f.address {
		cur.Address, cur.City, cur.PostalCode = f.p.Address, f.p.City, f.p.PostalCode
	}
	if f.telephone {
		cur.Phone = f.p.Phone
	}
	return cur
}

// pickRep returns the first repetition whose component comp is want (the
// legal name, the home address), else the first repetition.
func pickRep(f Value, comp int, want string) Value {
	reps := f.Repetitions()
	for _, r := range reps {
		if strings.EqualFold(strings.TrimSpace(r.Component(comp).String()), want) {
			return r
		}
	}
	if len(reps) == 0 {
		return f
	}
	return reps[0]
}

// birthDate reads an HL7 date or date-time (PID-7):
// YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]. Only a full date is a birth
// date: a year, or a year and month, is stored as unknown. Years have four
// digits: a six-digit value is a year and a month, never YYMMDD, and fails
// when it is not one.
func birthDate(s string, now time.Time) (chart.Date, *Error) {
	bad := errorf("PID", 7, CodeDataType, "PID-7 birth date is not a date YYYYMMDD[HHMM[SS]]")
	s = strings.TrimSpace(s)
	if s == "" {
		return chart.Date{}, nil
	}
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		zone := s[i+1:]
		if len(zone) != 4 || !digits(zone) {
			return chart.Date{}, bad
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if frac := s[i+1:]; frac == "" || len(frac) > 4 || !digits(frac) || len(s[:i]) != 14 {
			return chart.Date{}, bad
		}
		s = s[:i]
	}
	if !digits(s) || len(s)%2 != 0 || len(s) < 4 || len(s) > 14 {
		return chart.Date{}, bad
	}
	year, _ := strconv.Atoi(s[:4])
	if year < 1800 || year > now.Year() {
		return chart.Date{}, bad
	}
	if len(s) >= 6 {
		if m, _ := strconv.Atoi(s[4:6]); m < 1 || m > 12 {
			return chart.Date{}, bad
		}
	}
	if len(s) < 8 {
		return chart.Date{}, nil
	}
	d, err := chart.ParseDate(s[:8])
	if err != nil {
		return chart.Date{}, bad
	}
	limits := []int{23, 59, 59}
	for i, k := 8, 0; i < len(s); i, k = i+2, k+1 {
		if v, _ := strconv.Atoi(s[i : i+2]); v > limits[k] {
			return chart.Date{}, bad
		}
	}
	if d.Time().After(now) {
		return chart.Date{}, errorf("PID", 7, CodeDataType, "PID-7 birth date is in the future")
	}
	return d, nil
}

// sexOf maps table 0001 to the index's values; "" (a null) erases.
func sexOf(s string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return "", true
	case "M":
		return patients.SexMale, true
	case "F":
		return patients.SexFemale, true
	case "O", "A": // other, ambiguous
		return patients.SexOther, true
	case "U", "N": // unknown, not applicable
		return patients.SexUnknown, true
	}
	return "", false
}

// hl7Sex is the table 0001 code of an index value.
func hl7Sex(s string) string {
	switch s {
	case patients.SexMale:
		return "M"
	case patients.SexFemale:
		return "F"
	case patients.SexOther:
		return "O"
	case patients.SexUnknown:
		return "U"
	}
	return ""
}

// phone reads PID-13: the first repetition for the home (use PRN) else the
// first with a number; the number as written (XTN-1), else made from its
// parts (country, area, local number, extension).
func phone(f Value) string {
	var withNumber []Value
	for _, r := range f.Repetitions() {
		if number(r) != "" {
			withNumber = append(withNumber, r)
		}
	}
	for _, r := range withNumber {
		if strings.EqualFold(r.Component(2).String(), "PRN") {
			return number(r)
		}
	}
	if len(withNumber) > 0 {
		return number(withNumber[0])
	}
	return ""
}

func number(r Value) string {
	if n := strings.TrimSpace(r.Component(1).String()); n != "" {
		return n
	}
	var parts []string
	if c := strings.TrimSpace(r.Component(5).String()); c != "" {
		parts = append(parts, "+"+c)
	}
	if a := strings.TrimSpace(r.Component(6).String()); a != "" {
		parts = append(parts, "("+a+")")
	}
	local := strings.TrimSpace(r.Component(7).String())
	if local == "" {
		return ""
	}
	parts = append(parts, local)
	if x := strings.TrimSpace(r.Component(8).String()); x != "" {
		parts = append(parts, "x"+x)
	}
	return strings.Join(parts, " ")
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
