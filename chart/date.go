package chart

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Date is a calendar date with no time of day or zone: a birth date, a date
// of service. The zero Date means unknown. Dates of people are patient data.
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

// MakeDate returns the date, or an error if no such day exists.
func MakeDate(year int, month time.Month, day int) (Date, error) {
	d := Date{year, month, day}
	if year < 1 || year > 9999 || DateOf(d.Time()) != d {
		return Date{}, fmt.Errorf("%w: no such day", ErrBadDate)
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

// Before reports whether d is before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
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

// Digits returns the date's eight digits YYYYMMDD.
func (d Date) Digits() [8]byte {
	var b [8]byte
	copy(b[:], fmt.Sprintf("%04d%02d%02d", d.Year%10000, int(d.Month)%100, d.Day%100))
	return b
}

// MarshalText writes YYYY-MM-DD ("" for the zero Date).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what ParseDate accepts; "" is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(strings.TrimSpace(string(b))) == 0 {
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

// ErrBadDate is wrapped by every error ParseDate and MakeDate return. Their
// messages never repeat the text: a date may be patient data.
var ErrBadDate = errors.New("not a date")

// Years ParseDate accepts: no person on paper was born before MinYear.
// Whether a date is plausible (a birth date in the future, a misread year)
// is for the caller to judge.
const (
	MinYear = 1800
	MaxYear = 9999
)

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// ParseDate reads a date in every form paperchart meets on paper and in data
// feeds:
//
//	YYYYMMDD             HL7 v2, Febrl
//	YYYY-MM-DD           ISO 8601, FHIR (also YYYY/MM/DD and one-digit month or day)
//	MM/DD/YYYY           US order, also M/D/YYYY and MM-DD-YYYY
//	DD.MM.YYYY           dotted dates are day first, as where they are written
//	Jan 2, 2006          month names, abbreviated or not, any case
//	2 Jan 2006           also "2 January 2006" and "January 2 2006"
//
// Two-digit years are refused: the century of a birth date cannot be
// guessed safely. The day must exist and the year lie between MinYear and
// MaxYear. Errors wrap ErrBadDate and never repeat the text.
func ParseDate(s string) (Date, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Date{}, fmt.Errorf("%w: empty", ErrBadDate)
	}
	var y, m, d int
	if len(s) == 8 && allDigits(s) {
		y, m, d = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:])
	} else {
		dotted := strings.Count(s, ".") == 2 && !strings.ContainsAny(s, "/-")
		parts := strings.FieldsFunc(s, func(r rune) bool {
			return r == '-' || r == '/' || r == '.' || r == ',' || unicode.IsSpace(r)
		})
		if len(parts) != 3 {
			return Date{}, fmt.Errorf("%w: want three parts", ErrBadDate)
		}
		switch {
		case monthIndex(parts[0]) > 0: // Jan 2 2006
			m, d, y = monthIndex(parts[0]), atoi(parts[1]), atoi(parts[2])
			if !allDigits(parts[1]) || len(parts[2]) != 4 {
				return Date{}, fmt.Errorf("%w: want a day and a four-digit year", ErrBadDate)
			}
		case monthIndex(parts[1]) > 0: // 2 Jan 2006
			d, m, y = atoi(parts[0]), monthIndex(parts[1]), atoi(parts[2])
			if !allDigits(parts[0]) || len(parts[2]) != 4 {
				return Date{}, fmt.Errorf("%w: want a day and a four-digit year", ErrBadDate)
			}
		default:
			for _, p := range parts {
				if !allDigits(p) {
					return Date{}, fmt.Errorf("%w: not a number", ErrBadDate)
				}
			}
			switch {
			case len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2: // ISO order
				y, m, d = atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
			case len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2 && dotted: // day first
				d, m, y = atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
			case len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2: // US order
				m, d, y = atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
			default:
				return Date{}, fmt.Errorf("%w: year must have four digits", ErrBadDate)
			}
		}
	}
	if y < MinYear || y > MaxYear || m < 1 || m > 12 || d < 1 || d > 31 {
		return Date{}, fmt.Errorf("%w: out of range", ErrBadDate)
	}
	return MakeDate(y, time.Month(m), d)
}

func monthIndex(s string) int {
	if len(s) < 3 || !unicode.IsLetter(rune(s[0])) {
		return 0
	}
	for i, m := range monthNames {
		if strings.HasPrefix(s, m) {
			return i + 1
		}
	}
	return 0
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

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
