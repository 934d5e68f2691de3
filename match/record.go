package match

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Record is what is known of one patient: an entry of the patient index, or the identifiers read
// from a document. Every field may be empty (zero Date for the birth date): a missing field is no
// evidence either way and weighs 0.
type Record struct {
	MRN     string // medical record number (or another identifier of the same kind)
	Family  string // family name (surname)
	Given   string // given (first) name
	Middle  string // middle name or initial
	Birth   Date   // birth date; zero = unknown
	Sex     string // "M", "F", "male", "female", ...; anything else counts as unknown
	Address string // street address, one line (number, street, unit)
	City    string
	Postal  string // postal or ZIP code
	Phone   string
}

// Date is a calendar date whose parts may be unknown (0). A Date with Year 0 is treated as unknown
// by the comparators.
type Date struct {
	Year, Month, Day int
}

// IsZero reports whether the year is unknown (the comparators then ignore the date).
func (d Date) IsZero() bool { return d.Year == 0 }

// String formats the date as YYYY-MM-DD (unknown parts as zeros).
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// digits returns the date as its eight digits YYYYMMDD.
func (d Date) digits() [8]byte {
	var b [8]byte
	y, m, dd := d.Year, d.Month, d.Day
	for i := 3; i >= 0; i-- {
		b[i] = byte('0' + abs(y)%10)
		y /= 10
	}
	b[4], b[5] = byte('0'+abs(m)/10%10), byte('0'+abs(m)%10)
	b[6], b[7] = byte('0'+abs(dd)/10%10), byte('0'+abs(dd)%10)
	return b
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// ErrDate is wrapped by every error ParseDate returns. Its messages never contain the input.
var ErrDate = errors.New("match: unrecognised date")

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// ParseDate reads a date in the formats found on US medical records and in data feeds:
// YYYYMMDD, YYYY-MM-DD (also with / or .), MM/DD/YYYY and MM-DD-YYYY (US order), "Jan 2, 2006",
// "2 Jan 2006" and "January 2 2006". Two-digit years are refused: for a birth date the century
// cannot be guessed safely. The error never contains the input (it may be patient data).
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return Date{}, fmt.Errorf("%w: empty", ErrDate)
	}
	var d Date
	switch {
	case len(s) == 8 && allDigits(s):
		d = Date{atoi(s[:4]), atoi(s[4:6]), atoi(s[6:])}
	default:
		parts := strings.FieldsFunc(s, func(r rune) bool {
			return r == '-' || r == '/' || r == '.' || r == ',' || unicode.IsSpace(r)
		})
		if len(parts) != 3 {
			return Date{}, fmt.Errorf("%w: want three parts", ErrDate)
		}
		if m := monthIndex(parts[0]); m > 0 { // Jan 2 2006
			d = Date{atoi(parts[2]), m, atoi(parts[1])}
			if len(parts[2]) != 4 {
				return Date{}, fmt.Errorf("%w: year must have four digits", ErrDate)
			}
		} else if m := monthIndex(parts[1]); m > 0 { // 2 Jan 2006
			d = Date{atoi(parts[2]), m, atoi(parts[0])}
			if len(parts[2]) != 4 {
				return Date{}, fmt.Errorf("%w: year must have four digits", ErrDate)
			}
		} else {
			for _, p := range parts {
				if !allDigits(p) {
					return Date{}, fmt.Errorf("%w: not a number", ErrDate)
				}
			}
			switch {
			case len(parts[0]) == 4: // ISO order
				d = Date{atoi(parts[0]), atoi(parts[1]), atoi(parts[2])}
			case len(parts[2]) == 4: // US order
				d = Date{atoi(parts[2]), atoi(parts[0]), atoi(parts[1])}
			default:
				return Date{}, fmt.Errorf("%w: year must have four digits", ErrDate)
			}
		}
	}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > daysIn(d.Year, d.Month) || d.Year < 1800 || d.Year > 2200 {
		return Date{}, fmt.Errorf("%w: out of range", ErrDate)
	}
	return d, nil
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

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
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
	n, _ := strconv.Atoi(s)
	return n
}

var foldLatin = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "c",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i",
	'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ù': "u",
	'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y", 'ß': "ss", 'ł': "l", 'ś': "s",
	'ź': "z", 'ż': "z", 'ć': "c", 'ń': "n", 'ę': "e", 'ą': "a", 'š': "s", 'č': "c", 'ž': "z",
}

// name words dropped by NormalizeName: titles and generational suffixes.
var nameNoise = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "miss": true, "dr": true, "prof": true,
	"jr": true, "sr": true, "ii": true, "iii": true, "iv": true, "md": true,
}

// NormalizeName lower-cases a name, folds common accented letters, drops apostrophes and
// periods (O'Brien → obrien, St. → st), turns other punctuation except hyphens into spaces,
// removes titles and suffixes (Mr, Dr, Jr, III, ...) and collapses spaces.
func NormalizeName(s string) string {
	if plainLower(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r == '\'' || r == '’' || r == '.' || r == '`':
		case r == '-':
			b.WriteByte('-')
		case unicode.IsLetter(r):
			if f, ok := foldLatin[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		default:
			b.WriteByte(' ')
		}
	}
	words := strings.Fields(b.String())
	out := words[:0]
	for _, w := range words {
		w = strings.Trim(w, "-")
		if w == "" || nameNoise[w] {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// plainLower reports whether s is already normalized: lower-case ASCII words separated by single
// spaces and not a title or suffix.
func plainLower(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return s == ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == ' ' && s[i-1] != ' ') {
			return false
		}
	}
	for _, w := range strings.Fields(s) {
		if nameNoise[w] {
			return false
		}
	}
	return true
}

// normalizeID keeps letters and digits of an identifier, upper-cased.
func normalizeID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// digitsOnly keeps the digits of s.
func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// normalizeSex returns "m", "f" or "" (unknown).
func normalizeSex(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "m", "male", "man", "boy":
		return "m"
	case "f", "female", "woman", "girl":
		return "f"
	}
	return ""
}
