package chart

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Every form ParseDate accepts, and the near misses it refuses.
func TestParseDate(t *testing.T) {
	d := func(y int, m time.Month, dd int) Date { return Date{y, m, dd} }
	tests := []struct {
		in   string
		want Date // zero: an error is wanted
	}{
		{"19800304", d(1980, 3, 4)},
		{" 19800304 ", d(1980, 3, 4)},
		{"1980-03-04", d(1980, 3, 4)},
		{"1980-3-4", d(1980, 3, 4)},
		{"1980/03/04", d(1980, 3, 4)},
		{"03/04/1980", d(1980, 3, 4)}, // US: month first
		{"3/4/1980", d(1980, 3, 4)},
		{"03-04-1980", d(1980, 3, 4)},
		{"12/31/1999", d(1999, 12, 31)},
		{"04.03.1980", d(1980, 3, 4)}, // dotted: day first
		{"Mar 4, 1980", d(1980, 3, 4)},
		{"March 4 1980", d(1980, 3, 4)},
		{"MARCH 4, 1980", d(1980, 3, 4)},
		{"4 Mar 1980", d(1980, 3, 4)},
		{"4 March 1980", d(1980, 3, 4)},
		{"Sept 15, 1994", d(1994, 9, 15)},
		{"2000-02-29", d(2000, 2, 29)},
		{"1900-02-29", Date{}}, // not a leap year
		{"31/12/1999", Date{}}, // a slash date is month first: there is no month 31
		{"03/04/80", Date{}},   // two-digit year
		{"Mar 4, 80", Date{}},
		{"1799-12-31", Date{}},
		{"2201-01-01", d(2201, 1, 1)},
		{"10000-01-01", Date{}},
		{"19801304", Date{}},
		{"1980-03-04-05", Date{}},
		{"", Date{}},
		{"yesterday", Date{}},
		{"Mar x, 1980", Date{}},
	}
	for _, tc := range tests {
		got, err := ParseDate(tc.in)
		if tc.want.IsZero() {
			if !errors.Is(err, ErrBadDate) {
				t.Errorf("ParseDate(%q) = %v, %v; want ErrBadDate", tc.in, got, err)
			}
			if err != nil && tc.in != "" && contains(err.Error(), tc.in) {
				t.Errorf("ParseDate(%q) error %q repeats the text", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestDateSwappedDigitsBefore(t *testing.T) {
	for in, want := range map[string]string{"1980-03-04": "1980-04-03", "1980-03-13": "", "1980-05-05": "", "1980-02-12": "1980-12-02"} {
		v, _ := ParseDate(in)
		s, ok := v.Swapped()
		if ok != (want != "") || (ok && s.String() != want) {
			t.Errorf("%s swapped = %v, %v; want %q", in, s, ok, want)
		}
	}
	v := Date{1980, 3, 4}
	if dg := v.Digits(); string(dg[:]) != "19800304" {
		t.Errorf("Digits = %q", dg)
	}
	if !v.Before(Date{1980, 3, 5}) || v.Before(v) || (Date{1981, 1, 1}).Before(v) {
		t.Error("Before is wrong")
	}
	if (Date{}).String() != "" || !(Date{}).IsZero() {
		t.Error("zero Date")
	}
	if _, err := MakeDate(2001, 2, 29); !errors.Is(err, ErrBadDate) {
		t.Errorf("MakeDate(2001-02-29) = %v", err)
	}
}

func TestDateJSON(t *testing.T) {
	type wrap struct {
		D Date `json:"d,omitzero"`
	}
	b, err := json.Marshal(wrap{Date{1980, 3, 4}})
	if err != nil || string(b) != `{"d":"1980-03-04"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	if b, _ := json.Marshal(wrap{}); string(b) != `{}` {
		t.Errorf("zero date marshals as %s", b)
	}
	var w wrap
	if err := json.Unmarshal([]byte(`{"d":"03/04/1980"}`), &w); err != nil || w.D != (Date{1980, 3, 4}) {
		t.Errorf("unmarshal US form: %v, %v", w.D, err)
	}
	if err := json.Unmarshal([]byte(`{"d":""}`), &w); err != nil || !w.D.IsZero() {
		t.Errorf("unmarshal empty: %v, %v", w.D, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"soon"}`), &w); !errors.Is(err, ErrBadDate) {
		t.Errorf("unmarshal bad: %v", err)
	}
}
