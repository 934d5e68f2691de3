package match

import (
	"paperchart/chart"
	"strings"
	"unicode"
)

// Record is what is known of one patient: an entry of the patient index, or the identifiers read
// from a document. Every field may be empty (zero Date for the birth date): a missing field is no
// evidence either way and weighs 0.
type Record struct {
	MRN     chart.MRN  // medical record number (or another identifier of the same kind)
	Family  string     // family name (surname)
	Given   string     // given (first) name
	Middle  string     // middle name or initial
	Birth   chart.Date // birth date; zero = unknown
	Sex     string     // "M", "F", "male", "female", ...; anything else counts as unknown
	Address string     // street address, one line (number, street, unit)
	City    string
	Postal  string // postal or ZIP code
	Phone   string
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
