package patients_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"paperchart/patients"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want patients.Date // zero: an error is wanted
	}{
		{"1980-03-04", patients.Date{Year: 1980, Month: time.March, Day: 4}},
		{" 19800304 ", patients.Date{Year: 1980, Month: time.March, Day: 4}},
		{"03/04/1980", patients.Date{Year: 1980, Month: time.March, Day: 4}}, // US: month first
		{"3/4/1980", patients.Date{Year: 1980, Month: time.March, Day: 4}},
		{"12/31/1999", patients.Date{Year: 1999, Month: time.December, Day: 31}},
		{"2000-02-29", patients.Date{Year: 2000, Month: time.February, Day: 29}},
		{"1900-02-29", patients.Date{}}, // not a leap year
		{"31/12/1999", patients.Date{}}, // European order is not accepted
		{"1980-3-4", patients.Date{}},
		{"04.03.1980", patients.Date{}},
		{"03/04/80", patients.Date{}},
		{"1799-12-31", patients.Date{}},
		{"19801304", patients.Date{}},
		{"", patients.Date{}},
		{"yesterday", patients.Date{}},
	}
	for _, tc := range tests {
		got, err := patients.ParseDate(tc.in)
		if tc.want.IsZero() {
			if !errors.Is(err, patients.ErrBadDate) {
				t.Errorf("ParseDate(%q) = %v, %v; want ErrBadDate", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestDateSwappedAndJSON(t *testing.T) {
	for in, want := range map[string]string{"1980-03-04": "1980-04-03", "1980-03-13": "", "1980-05-05": "", "1980-02-12": "1980-12-02"} {
		s, ok := date(in).Swapped()
		if ok != (want != "") || (ok && s.String() != want) {
			t.Errorf("%s swapped = %v, %v; want %q", in, s, ok, want)
		}
	}
	b, err := json.Marshal(patients.Patient{BirthDate: date("1980-03-04")})
	if err != nil {
		t.Fatal(err)
	}
	var back patients.Patient
	if err := json.Unmarshal(b, &back); err != nil || back.BirthDate != date("1980-03-04") {
		t.Errorf("birth date through JSON %s: %v, %v", b, back.BirthDate, err)
	}
	var m map[string]any
	b, _ = json.Marshal(patients.Patient{})
	json.Unmarshal(b, &m)
	if _, ok := m["birth_date"]; ok {
		t.Errorf("unknown birth date is in JSON: %s", b)
	}
}
