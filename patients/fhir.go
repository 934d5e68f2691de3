package patients

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"paperchart/chart"
	"strings"
	"time"
)

// The FHIR R4 Patient elements Import reads.
type fhirPatient struct {
	ResourceType string           `json:"resourceType"`
	Active       *bool            `json:"active"`
	Identifier   []fhirIdentifier `json:"identifier"`
	Name         []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	Gender    string `json:"gender"`
	BirthDate string `json:"birthDate"`
	Address   []struct {
		Use        string   `json:"use"`
		Text       string   `json:"text"`
		Line       []string `json:"line"`
		City       string   `json:"city"`
		PostalCode string   `json:"postalCode"`
	} `json:"address"`
	Telecom []struct {
		System string `json:"system"`
		Value  string `json:"value"`
		Use    string `json:"use"`
	} `json:"telecom"`
}

type fhirIdentifier struct {
	Use  string `json:"use"`
	Type *struct {
		Coding []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"coding"`
	} `json:"type"`
	System string `json:"system"`
	Value  string `json:"value"`
}

// v2-0203 is the HL7 identifier type code system; MR is medical record number.
const identifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203"

func (id fhirIdentifier) isMR() bool {
	if id.Type == nil {
		return false
	}
	for _, c := range id.Type.Coding {
		if c.Code == "MR" && (c.System == "" || c.System == identifierTypeSystem) {
			return true
		}
	}
	return false
}

// fhirRecord turns a decoded resource into a record, or says what is wrong.
func fhirRecord(raw []byte, pos int, opt ImportOptions, now time.Time) (record, string, bool) {
	var probe struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return record{}, "is not a valid JSON object", true
	}
	if probe.ResourceType != "Patient" {
		return record{}, "", false
	}
	var p fhirPatient
	if err := json.Unmarshal(raw, &p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return record{}, fmt.Sprintf("element %s has the wrong JSON type", te.Field), true
		}
		return record{}, "is not a valid FHIR Patient", true
	}
	rec := record{pos: pos, active: p.Active == nil || *p.Active}

	mrn := -1
	if opt.MRNSystem != "" {
		for i, id := range p.Identifier {
			if id.System == opt.MRNSystem && strings.TrimSpace(id.Value) != "" {
				mrn = i
				break
			}
		}
	}
	for pass := 0; mrn < 0 && pass < 2; pass++ { // a current MR first, then an old one
		for i, id := range p.Identifier {
			if id.isMR() && strings.TrimSpace(id.Value) != "" && (pass == 1 || id.Use != "old") {
				mrn = i
				break
			}
		}
	}
	if mrn < 0 {
		return record{}, "has no MRN identifier (type MR, or the configured MRN system)", true
	}
	rec.mrn = p.Identifier[mrn].Value
	rec.authority = strings.TrimSpace(p.Identifier[mrn].System)
	if rec.authority == "" {
		rec.authority = opt.Authority
	}
	for i, id := range p.Identifier {
		sys, val := strings.TrimSpace(id.System), strings.TrimSpace(id.Value)
		if i == mrn || sys == "" || val == "" {
			continue
		}
		var why string
		if sys, why = clean("identifier system", sys, maxOther); why != "" {
			return record{}, why, true
		}
		if val, why = clean("identifier value", val, maxOther); why != "" {
			return record{}, why, true
		}
		rec.idents = append(rec.idents, Identifier{System: sys, Value: val})
	}

	if n := pick(len(p.Name), func(i int) string { return p.Name[i].Use }, "official", "usual", ""); n >= 0 {
		name := p.Name[n]
		rec.family, rec.given = name.Family, strings.Join(name.Given, " ")
		if strings.TrimSpace(rec.family) == "" && strings.TrimSpace(name.Text) != "" {
			words := strings.Fields(name.Text)
			rec.family, rec.given = words[len(words)-1], strings.Join(words[:len(words)-1], " ")
		}
	}
	switch bd := strings.TrimSpace(p.BirthDate); {
	case bd == "" || len(bd) == 4 || len(bd) == 7:
		// unknown, or a year or year-month only: kept as unknown
	case len(bd) == 10 && bd[4] == '-':
		d, err := chart.ParseDate(bd)
		if err != nil {
			return record{}, "birthDate is not a date", true
		}
		rec.birth = d
	default:
		return record{}, "birthDate is not a FHIR date (YYYY-MM-DD)", true
	}
	switch p.Gender {
	case "", SexMale, SexFemale, SexOther, SexUnknown:
		rec.sex = p.Gender
	default:
		return record{}, "gender is not one of male, female, other, unknown", true
	}
	if a := pick(len(p.Address), func(i int) string { return p.Address[i].Use }, "home", ""); a >= 0 {
		addr := p.Address[a]
		rec.address = strings.Join(addr.Line, ", ")
		if strings.TrimSpace(rec.address) == "" {
			rec.address = addr.Text
		}
		rec.city, rec.postal = addr.City, addr.PostalCode
	}
	var phones []int
	for i, t := range p.Telecom {
		if t.System == "phone" && strings.TrimSpace(t.Value) != "" {
			phones = append(phones, i)
		}
	}
	if t := pick(len(phones), func(i int) string { return p.Telecom[phones[i]].Use }, "home", "mobile", ""); t >= 0 {
		rec.tel = p.Telecom[phones[t]].Value
	}
	if why := rec.check(now); why != "" {
		return record{}, why, true
	}
	return rec, "", true
}

// pick returns the index of the first element whose use is the first of
// uses found, else the first element not of use "old", else the first; -1
// when there is none.
func pick(n int, use func(int) string, uses ...string) int {
	for _, u := range uses {
		for i := 0; i < n; i++ {
			if use(i) == u {
				return i
			}
		}
	}
	for i := 0; i < n; i++ {
		if use(i) != "old" {
			return i
		}
	}
	if n > 0 {
		return 0
	}
	return -1
}

// ndjsonSource reads one FHIR resource a line.
type ndjsonSource struct {
	r    *bufio.Reader
	opt  ImportOptions
	line int
	skip int
	now  time.Time
}

func (s *ndjsonSource) ignored() int { return s.skip }

func (s *ndjsonSource) next() (record, *Rejection, error) {
	if s.now.IsZero() {
		s.now = time.Now()
	}
	for {
		b, err := s.r.ReadBytes('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			return record{}, nil, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return record{}, nil, fmt.Errorf("read NDJSON line %d: %w", s.line+1, err)
		}
		s.line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		rec, why, isPatient := fhirRecord(b, s.line, s.opt, s.now)
		if !isPatient {
			s.skip++
			continue
		}
		if why != "" {
			return record{}, &Rejection{Line: s.line, Reason: why}, nil
		}
		return rec, nil, nil
	}
}

// bundleSource reads FHIR Bundles, entry by entry without holding the
// whole Bundle; top-level Patient resources in the same stream are read too.
type bundleSource struct {
	dec   *json.Decoder
	opt   ImportOptions
	entry int
	skip  int
	now   time.Time

	inEntries bool // inside a Bundle's entry array
	inObject  bool // inside a top-level object, after its '{'
	rest      map[string]json.RawMessage
}

func (s *bundleSource) ignored() int { return s.skip }

func (s *bundleSource) next() (record, *Rejection, error) {
	if s.now.IsZero() {
		s.now = time.Now()
	}
	for {
		if s.inEntries {
			if s.dec.More() {
				var e struct {
					Resource json.RawMessage `json:"resource"`
				}
				var raw json.RawMessage
				s.entry++
				if err := s.dec.Decode(&raw); err != nil {
					return record{}, nil, fmt.Errorf("read FHIR Bundle entry %d: %w", s.entry, err)
				}
				if err := json.Unmarshal(raw, &e); err != nil || len(e.Resource) == 0 {
					if err != nil {
						return record{}, &Rejection{Entry: s.entry, Reason: "is not a Bundle entry object"}, nil
					}
					s.skip++
					continue
				}
				rec, why, isPatient := fhirRecord(e.Resource, s.entry, s.opt, s.now)
				if !isPatient {
					s.skip++
					continue
				}
				if why != "" {
					return record{}, &Rejection{Entry: s.entry, Reason: why}, nil
				}
				return rec, nil, nil
			}
			if _, err := s.dec.Token(); err != nil { // ']'
				return record{}, nil, fmt.Errorf("read FHIR Bundle after entry %d: %w", s.entry, err)
			}
			s.inEntries = false
			continue
		}
		if s.inObject {
			if s.dec.More() {
				tok, err := s.dec.Token()
				if err != nil {
					return record{}, nil, fmt.Errorf("read FHIR Bundle after entry %d: %w", s.entry, err)
				}
				key, _ := tok.(string)
				if key == "entry" {
					tok, err := s.dec.Token()
					if err != nil {
						return record{}, nil, fmt.Errorf("read FHIR Bundle entries: %w", err)
					}
					if d, ok := tok.(json.Delim); !ok || d != '[' {
						return record{}, nil, errors.New("read FHIR Bundle: entry is not an array")
					}
					s.inEntries = true
					continue
				}
				var v json.RawMessage
				if err := s.dec.Decode(&v); err != nil {
					return record{}, nil, fmt.Errorf("read FHIR Bundle after entry %d: %w", s.entry, err)
				}
				s.rest[key] = v
				continue
			}
			if _, err := s.dec.Token(); err != nil { // '}'
				return record{}, nil, fmt.Errorf("read FHIR Bundle end: %w", err)
			}
			s.inObject = false
			// A top-level resource that is not a Bundle: a Patient is
			// read like an entry.
			var rt string
			json.Unmarshal(s.rest["resourceType"], &rt)
			if rt != "Bundle" {
				raw, err := json.Marshal(s.rest)
				if err != nil {
					return record{}, nil, fmt.Errorf("read FHIR resource: %w", err)
				}
				s.entry++
				rec, why, isPatient := fhirRecord(raw, s.entry, s.opt, s.now)
				if !isPatient {
					s.skip++
					continue
				}
				if why != "" {
					return record{}, &Rejection{Entry: s.entry, Reason: why}, nil
				}
				return rec, nil, nil
			}
			continue
		}
		tok, err := s.dec.Token()
		if errors.Is(err, io.EOF) {
			return record{}, nil, io.EOF
		}
		if err != nil {
			return record{}, nil, fmt.Errorf("read FHIR JSON after entry %d: %w", s.entry, err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return record{}, nil, errors.New("read FHIR JSON: the input is not a Bundle or Patient object")
		}
		s.inObject = true
		s.rest = map[string]json.RawMessage{}
	}
}
