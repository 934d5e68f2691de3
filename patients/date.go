package patients

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a calendar date with no time of day or zone, such as a birth
// date. The zero Date means unknown.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// MakeDate returns the date, or an error if it does not exist.
func MakeDate(year int, month time.Month, day int) (Date, error) {
	d := Date{year, month, day}
	if year < 1 || year > 9999 || DateOf(d.Time()) != d {
		return Date{}, errors.New("no such day")
	}
	return d, nil
}

// IsZero reports whether the date is unknown.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String returns YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Swapped returns the date with day and month exchanged, as a US date read
// as European (or the other way round) gives, and false when that is not a
// different valid date.
func (d Date) Swapped() (Date, bool) {
	if d.IsZero() || d.Day > 12 || d.Day == int(d.Month) {
		return Date{}, false
	}
	s, err := MakeDate(d.Year, time.Month(d.Day), int(d.Month))
	return s, err == nil
}

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what ParseDate accepts; "" is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ErrBadDate says a text is not a date in an accepted form.
var ErrBadDate = errors.New("not a date in a form YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY")

// ParseDate reads a date written YYYY-MM-DD (ISO 8601, FHIR), YYYYMMDD (HL7
// v2), or MM/DD/YYYY (US; M/D/YYYY too). The day must exist and the year lie
// between 1800 and 9999. Errors never repeat the text.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	var ys, ms, ds string
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		ys, ms, ds = s[:4], s[5:7], s[8:]
	case len(s) == 8 && allDigits(s):
		ys, ms, ds = s[:4], s[4:6], s[6:]
	case strings.Count(s, "/") == 2:
		parts := strings.Split(s, "/")
		ms, ds, ys = parts[0], parts[1], parts[2]
		if len(ys) != 4 || len(ms) < 1 || len(ms) > 2 || len(ds) < 1 || len(ds) > 2 {
			return Date{}, ErrBadDate
		}
	default:
		return Date{}, ErrBadDate
	}
	if !allDigits(ys) || !allDigits(ms) || !allDigits(ds) {
		return Date{}, ErrBadDate
	}
	y, _ := strconv.Atoi(ys)
	m, _ := strconv.Atoi(ms)
	d, _ := strconv.Atoi(ds)
	if y < 1800 || m < 1 || m > 12 || d < 1 || d > 31 {
		return Date{}, ErrBadDate
	}
	v, err := MakeDate(y, time.Month(m), d)
	if err != nil {
		return Date{}, ErrBadDate
	}
	return v, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
