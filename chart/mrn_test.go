package chart

import (
	"regexp"
	"testing"
)

// mrnKeys is the table of MRN keys; patients' test holds the SQL function
// patient_mrn_key to the same rows.
var mrnKeys = []struct{ in, key string }{
	{"00123456", "123456"},
	{"O0I23456", "123456"},
	{"0012 3456", "123456"},
	{"00-123-456", "123456"},
	{"001.234/56", "123456"},
	{"l23456", "123456"},
	{"|23456", "123456"},
	{"S5B8Z2", "558822"},
	{"s5b8z2", "558822"},
	{"DQ1G", "16"}, // D and Q read for 0, G for 6
	{"$12", "512"},
	{"ab-12", "A812"},
	{"MRN7", "MRN7"},
	{"", ""},
	{"000", ""},
	{"Ä12", "Ä12"},
}

func TestMRNKey(t *testing.T) {
	for _, tc := range mrnKeys {
		if got := MRN(tc.in).Key(); got != tc.key {
			t.Errorf("MRN(%q).Key() = %q, want %q", tc.in, got, tc.key)
		}
	}
}

func TestDigitForIsTheOnlyTable(t *testing.T) {
	// Every character DigitFor maps is a digit's look-alike; digits and
	// other letters are left alone.
	for c := rune(0); c < 256; c++ {
		d, ok := DigitFor(byte(c))
		if c >= '0' && c <= '9' && ok {
			t.Errorf("DigitFor(%q) maps a digit", c)
		}
		if ok && (d < '0' || d > '9') {
			t.Errorf("DigitFor(%q) = %q, not a digit", c, d)
		}
	}
	for _, c := range "AEHKMNPRTUVWXY" {
		if _, ok := DigitFor(byte(c)); ok {
			t.Errorf("DigitFor(%q) maps a letter that looks like no digit", c)
		}
	}
}

func TestLetterFor(t *testing.T) {
	tests := []struct {
		c, want byte
		ok      bool
	}{
		{'0', 'O', true}, {'1', 'I', true}, {'2', 'Z', true}, {'5', 'S', true}, {'6', 'G', true}, {'8', 'B', true},
		{'|', 'I', true}, {'$', 'S', true},
		{'3', '3', false}, {'4', '4', false}, {'7', '7', false}, {'9', '9', false},
		{'O', 'O', false}, {'l', 'l', false}, {'x', 'x', false}, {'-', '-', false}, {' ', ' ', false},
	}
	for _, tc := range tests {
		if got, ok := LetterFor(tc.c); got != tc.want || ok != tc.ok {
			t.Errorf("LetterFor(%q) = %q, %v, want %q, %v", tc.c, got, ok, tc.want, tc.ok)
		}
	}
	// Both ways read one table: the letter LetterFor gives is read back as
	// the digit.
	for c := byte('0'); c <= '9'; c++ {
		if l, ok := LetterFor(c); ok {
			if d, _ := DigitFor(l); d != c {
				t.Errorf("DigitFor(LetterFor(%q)) = %q", c, d)
			}
		}
	}
}

func TestCompareMRN(t *testing.T) {
	tests := []struct {
		a, b string
		want MRNLevel
	}{
		{"00410001", "00410001", MRNExact},
		{"00410001", "0041-0001", MRNExact},
		{"abc123", "ABC123", MRNExact},
		{"00410001", "410001", MRNLeadingZeros},
		{"00410001", "OO41OOO1", MRNConfusable},
		{"00410001", "0041000I", MRNConfusable},
		{"00410001", "00410002", MRNDiffer}, // one digit: another patient
		{"00410001", "00410010", MRNDiffer},
		{"00410001", "0041001", MRNDiffer},
		{"77120945", "20890653", MRNDiffer},
		{"", "00410001", MRNMissing},
		{"--", "00410001", MRNMissing},
	}
	for _, tc := range tests {
		if got := CompareMRN(MRN(tc.a), MRN(tc.b)); got != tc.want {
			t.Errorf("CompareMRN(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := CompareMRN(MRN(tc.b), MRN(tc.a)); got != tc.want {
			t.Errorf("CompareMRN(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
		if same := tc.want.Same(); same != (tc.want >= MRNConfusable) {
			t.Errorf("%v.Same() = %v", tc.want, same)
		}
	}
}

func TestMRNPattern(t *testing.T) {
	tests := []struct {
		mrn, text string
		want      string // "" when it must not match
	}{
		{"00123456", "MRN: 00123456 DOB", "00123456"},
		{"00123456", "MRN: 123456.", "123456"},
		{"00123456", "MR# OOI23456", "OOI23456"},
		{"00123456", "MRN 0012-3456", "0012-3456"},
		{"00123456", "MRN 1234567", ""},
		{"00123456", "acct 912345", ""},
		{"00123456", "x0123456x", ""},
		{"12", "12", ""}, // too short to find safely
	}
	for _, tc := range tests {
		p := MRN(tc.mrn).Pattern()
		if p == "" {
			if tc.want != "" {
				t.Errorf("Pattern(%q) empty", tc.mrn)
			}
			continue
		}
		m := regexp.MustCompile(p).FindStringSubmatch(tc.text)
		got := ""
		if m != nil {
			got = m[1]
		}
		if got != tc.want {
			t.Errorf("Pattern(%q) in %q found %q, want %q", tc.mrn, tc.text, got, tc.want)
		}
	}
}

func TestParseMRN(t *testing.T) {
	for in, want := range map[string]MRN{" #00123 ": "00123", "MRN": "MRN", "": "", ": 42": "42"} {
		if got := ParseMRN(in); got != want {
			t.Errorf("ParseMRN(%q) = %q, want %q", in, got, want)
		}
	}
}
