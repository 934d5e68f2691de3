package chart

import (
	"regexp"
	"strings"
)

// MRN is a medical record number as printed on a page or stored in the
// patient index. Its zero value means none. Its String is the number itself:
// patient data, never to be logged.
type MRN string

// ParseMRN returns s trimmed of surrounding space and of label punctuation
// (a leading "#" or ":"), or "" when nothing is left.
func ParseMRN(s string) MRN {
	return MRN(strings.Trim(strings.TrimSpace(s), "#: "))
}

// String returns the MRN as it was given.
func (m MRN) String() string { return string(m) }

// IsZero reports whether there is no MRN.
func (m MRN) IsZero() bool { return m.Normal() == "" }

// ocrConfusions is the one table of characters that OCR reads in place of
// a digit: each digit with the characters it is misread as, the letter a
// word holds where OCR printed the digit first (LetterFor).
//
//	0: O o D Q   1: I i l L |   2: Z z   5: S s $   6: G   8: B
var ocrConfusions = [...]struct {
	digit byte
	chars string
}{{'0', "OoDQ"}, {'1', "IilL|"}, {'2', "Zz"}, {'5', "Ss$"}, {'6', "G"}, {'8', "B"}}

// DigitFor reads the table of OCR confusions one way, for numbers: it
// returns the digit c stands for and true, or c and false.
func DigitFor(c byte) (byte, bool) {
	for _, e := range ocrConfusions {
		if strings.IndexByte(e.chars, c) >= 0 {
			return e.digit, true
		}
	}
	return c, false
}

// LetterFor reads the same table the other way, for words: it returns the
// upper-case letter that OCR's c stands for in a word (0 for O, 1 and | for
// I, 5 and $ for S, ...) and true, or c and false for a character the table
// does not name or a letter.
func LetterFor(c byte) (byte, bool) {
	d := c
	if c < '0' || c > '9' {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			return c, false
		}
		var ok bool
		if d, ok = DigitFor(c); !ok {
			return c, false
		}
	}
	for _, e := range ocrConfusions {
		if e.digit == d {
			return e.chars[0], true
		}
	}
	return c, false
}

// confusableDigits is DigitFor turned round: for each digit, the characters
// OCR may read for it (the digit itself included).
func confusableDigits(d byte) string {
	s := string(d)
	for c := 0; c < 256; c++ {
		if v, ok := DigitFor(byte(c)); ok && v == d {
			s += string(rune(c))
		}
	}
	return s
}

// keySkip reports whether Key drops c: separators people and printers put
// inside numbers.
func keySkip(c byte) bool { return c == ' ' || c == '-' || c == '.' || c == '/' }

// Normal returns the MRN's letters (in upper case) and digits, everything
// else dropped: two MRNs with the same Normal are the same number.
func (m MRN) Normal() string {
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Key returns the MRN as OCR may have misread it, the key candidate search
// compares: separators (space - . /) dropped, every character of DigitFor
// turned into its digit (after upper case: b is read as B, so 8), other
// ASCII letters in upper case, leading zeros
// dropped. The SQL function patient_mrn_key (KeySQL) computes the same.
func (m MRN) Key() string {
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		c := m[i]
		if keySkip(c) {
			continue
		}
		b.WriteByte(keyChar(c))
	}
	return strings.TrimLeft(b.String(), "0")
}

// keyChar is what Key makes of one character: upper case, then the digit
// OCR may have misread.
func keyChar(c byte) byte {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	if d, ok := DigitFor(c); ok {
		return d
	}
	return c
}

// KeySQL is the body of the SQL function patient_mrn_key(mrn text), built
// from the same table as Key: ASCII only, so that no collation changes it.
func KeySQL() string {
	var from, to, drop strings.Builder
	for c := byte(1); c < 128; c++ {
		if keySkip(c) {
			drop.WriteByte(c) // no counterpart in to: translate drops it
		} else if k := keyChar(c); k != c {
			from.WriteByte(c)
			to.WriteByte(k)
		}
	}
	return "ltrim(translate(mrn, '" + from.String() + drop.String() + "', '" + to.String() + "'), '0')"
}

// MRNLevel is how two MRNs compare.
type MRNLevel int

// The levels of CompareMRN, from no evidence to the strongest.
const (
	MRNMissing      MRNLevel = iota // one side has no MRN: no evidence
	MRNDiffer                       // another number: another patient, even one digit apart
	MRNConfusable                   // equal once OCR confusions (DigitFor) are undone
	MRNLeadingZeros                 // equal but for leading zeros
	MRNExact                        // the same letters and digits
)

var mrnLevelNames = [...]string{"missing", "differ", "ocr_confusable", "leading_zeros", "exact"}

// String names the level.
func (l MRNLevel) String() string {
	if l < 0 || int(l) >= len(mrnLevelNames) {
		return "unknown"
	}
	return mrnLevelNames[l]
}

// Same reports whether the level says the two MRNs are one number.
func (l MRNLevel) Same() bool { return l >= MRNConfusable }

// CompareMRN is the one comparison of two MRNs: exact (letters and digits,
// case and separators ignored), equal but for leading zeros, equal once OCR
// confusions are undone, or different. Any other difference, even a single
// digit, is another number: neighbouring MRNs belong to other patients.
func CompareMRN(a, b MRN) MRNLevel {
	na, nb := a.Normal(), b.Normal()
	switch {
	case na == "" || nb == "":
		return MRNMissing
	case na == nb:
		return MRNExact
	case strings.TrimLeft(na, "0") == strings.TrimLeft(nb, "0"):
		return MRNLeadingZeros
	case a.Key() == b.Key():
		return MRNConfusable
	}
	return MRNDiffer
}

// Pattern returns a regular expression that finds the MRN in OCR text: with
// or without its leading zeros, each digit also as the characters OCR reads
// for it (DigitFor), a space or dash allowed between characters. Group 1 is
// the number as printed. It returns "" for an MRN too short to find safely
// (under three characters once leading zeros are dropped).
func (m MRN) Pattern() string {
	core := strings.TrimLeft(strings.TrimSpace(string(m)), "0")
	if len(core) < 3 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`(?:^|[^0-9A-Za-z])(` + charClass('0') + `*`)
	for i := 0; i < len(core); i++ {
		c := core[i]
		if c >= '0' && c <= '9' {
			b.WriteString(charClass(c))
		} else {
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
		if i < len(core)-1 {
			b.WriteString(`[ -]?`)
		}
	}
	b.WriteString(`)(?:$|[^0-9A-Za-z])`)
	return b.String()
}

// charClass is a regexp character class of what OCR may read for digit d.
func charClass(d byte) string {
	s := confusableDigits(d)
	if len(s) == 1 {
		return s
	}
	return "[" + regexp.QuoteMeta(s) + "]"
}
