package sheets

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCRC16(t *testing.T) {
	// The catalogued check value of CRC-16/CCITT-FALSE.
	if got := crc16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("crc16(123456789) = %04X, want 29B1", got)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	tests := []struct {
		name                string
		authority, mrn, typ string
		want                string // the payload before "|C=", "" to skip
	}{
		{"MRN only", "", "00482913", "", "PCCS1|M=00482913"},
		{"all fields", "MAIN", "00482913", "18842-5", "PCCS1|A=MAIN|M=00482913|T=18842-5"},
		{"type without authority", "", "A12345", "11506-3", "PCCS1|M=A12345|T=11506-3"},
		{"bar escaped", "X|Y", "12|34", "", "PCCS1|A=X%7CY|M=12%7C34"},
		{"percent escaped", "", "50%", "", "PCCS1|M=50%25"},
		{"space escaped", "ST MARY", "123 456", "", "PCCS1|A=ST%20MARY|M=123%20456"},
		{"non-ASCII escaped", "", "MÜ1", "", "PCCS1|M=M%C3%9C1"},
		{"equals sign kept", "", "A=B", "", "PCCS1|M=A=B"},
		{"looks like a field", "", "1|C=0000", "", "PCCS1|M=1%7CC=0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := CoverPayload(tt.authority, tt.mrn, tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			body, _, _ := strings.Cut(p, "|C=")
			if tt.want != "" && body != tt.want {
				t.Errorf("payload %q, want %q|C=...", p, tt.want)
			}
			got, ok := ParsePayload(p)
			want := Sheet{Kind: Cover, Authority: tt.authority, MRN: tt.mrn, Type: tt.typ}
			if !ok || got != want {
				t.Errorf("ParsePayload(%q) = %+v, %v; want %+v", p, got, ok, want)
			}
		})
	}
}

func TestPayloadErrors(t *testing.T) {
	if _, err := CoverPayload("MAIN", "", "18842-5"); err == nil {
		t.Error("no MRN: no error")
	}
	_, err := CoverPayload("SOME-LONG-AUTHORITY", "SECRET-MRN-0123456789", "18842-5")
	if !errors.Is(err, ErrPayloadTooLong) {
		t.Fatalf("long fields: %v, want ErrPayloadTooLong", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %q names the MRN", err)
	}
}

// withCRC appends a correct check to a hand-made payload body, to test
// the parser's strictness apart from the check.
func withCRC(body string) string { return fmt.Sprintf("%s|C=%04X", body, crc16([]byte(body))) }

func TestParsePayloadRejects(t *testing.T) {
	valid, err := CoverPayload("MAIN", "00482913", "18842-5")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"check missing", strings.Split(valid, "|C=")[0]},
		{"wrong check", valid[:len(valid)-4] + "0000"},
		{"lower-case check", strings.ToLower(valid[:len(valid)-4]) + valid[len(valid)-4:]},
		{"version 2", withCRC("PCCS2|M=1")},
		{"no MRN", withCRC("PCCS1|A=MAIN")},
		{"empty MRN", withCRC("PCCS1|M=")},
		{"unknown field", withCRC("PCCS1|M=1|X=2")},
		{"repeated field", withCRC("PCCS1|M=1|M=2")},
		{"out of order", withCRC("PCCS1|T=X|M=1")},
		{"lower-case escape", withCRC("PCCS1|M=1%7c2")},
		{"needless escape", withCRC("PCCS1|M=%41")},
		{"bare percent", withCRC("PCCS1|M=1%")},
		{"short escape", withCRC("PCCS1|M=1%7")},
		{"raw space", withCRC("PCCS1|M=1 2")},
		{"trailing text", valid + "X"},
		{"separator-like", "PATCHT2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, ok := ParsePayload(tt.text); ok {
				t.Errorf("ParsePayload(%q) = %+v, want rejected", tt.text, s)
			}
		})
	}
}

// TestTamperedPayload changes every character of a valid payload to every
// other printable character, and swaps every pair of neighbours: none of the
// results may parse, so a misread never yields a different valid MRN.
func TestTamperedPayload(t *testing.T) {
	valid, err := CoverPayload("MAIN", "00482913", "18842-5")
	if err != nil {
		t.Fatal(err)
	}
	tried := 0
	for i := 0; i < len(valid); i++ {
		for c := byte(' '); c <= '~'; c++ {
			if c == valid[i] {
				continue
			}
			b := []byte(valid)
			b[i] = c
			tried++
			if s, ok := ParsePayload(string(b)); ok {
				t.Errorf("%q (position %d changed) parsed as %+v", b, i, s)
			}
		}
		if i+1 < len(valid) && valid[i] != valid[i+1] {
			b := []byte(valid)
			b[i], b[i+1] = b[i+1], b[i]
			tried++
			if s, ok := ParsePayload(string(b)); ok {
				t.Errorf("%q (positions %d, %d swapped) parsed as %+v", b, i, i+1, s)
			}
		}
	}
	t.Logf("%d damaged variants of a %d-character payload, all rejected", tried, len(valid))
}

func TestKindOf(t *testing.T) {
	cover, err := CoverPayload("", "00482913", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text, separator string
		want            Kind
	}{
		{cover, "", Cover},
		{"PATCHT", "", Separator},
		{"PATCHT", "PATCHT", Separator},
		{"NEXTDOC", "NEXTDOC", Separator},
		{"PATCHT", "NEXTDOC", Other},
		{cover[:len(cover)-1] + "X", "", Other}, // a damaged cover payload is never a label
		{"00482913", "", Label},
		{"MRN-004829", "", Label},
		{"A1B2C3", "", Label},
		{"123", "", Other},                          // too short
		{"ABCDEFG", "", Other},                      // no digits
		{"https://example.org/form/123", "", Other}, // not an identifier
		{"123456789012345678901", "", Other},        // too long
		{"", "", Other},
	}
	for _, tt := range tests {
		if got := KindOf(tt.text, tt.separator); got != tt.want {
			t.Errorf("KindOf(%q, %q) = %v, want %v", tt.text, tt.separator, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	p1, _ := CoverPayload("MAIN", "00482913", "18842-5")
	p2, _ := CoverPayload("MAIN", "00999999", "18842-5")
	bad := p1[:len(p1)-1] + "Z"
	qr := func(s string) Code { return Code{Format: QRCode, Text: s} }
	c128 := func(s string) Code { return Code{Format: Code128, Text: s} }
	cover1 := Sheet{Kind: Cover, Authority: "MAIN", MRN: "00482913", Type: "18842-5"}
	tests := []struct {
		name      string
		codes     []Code
		separator string
		want      Sheet
		ok        bool
		labels    int
	}{
		{"nothing", nil, "", Sheet{}, false, 0},
		{"cover both codes", []Code{qr(p1), c128(p1)}, "", cover1, true, 0},
		{"cover QR only", []Code{qr(p1)}, "", cover1, true, 0},
		{"cover Code 128 only", []Code{c128(p1)}, "", cover1, true, 0},
		{"cover and a damaged copy", []Code{qr(bad), c128(p1)}, "", cover1, true, 0},
		{"damaged cover only", []Code{qr(bad)}, "", Sheet{}, false, 0},
		{"codes disagree", []Code{qr(p1), c128(p2)}, "", Sheet{Kind: Cover}, true, 0},
		{"separator default", []Code{qr("PATCHT"), c128("PATCHT")}, "", Sheet{Kind: Separator}, true, 0},
		{"separator configured", []Code{c128("NEXTDOC")}, "NEXTDOC", Sheet{Kind: Separator}, true, 0},
		{"default value when another is configured", []Code{c128("PATCHT")}, "NEXTDOC", Sheet{}, false, 0},
		{"cover wins over separator", []Code{c128("PATCHT"), qr(p1)}, "", cover1, true, 0},
		{"label", []Code{c128("00482913")}, "", Sheet{}, false, 1},
		{"label and other", []Code{c128("00482913"), qr("https://example.org/x")}, "", Sheet{}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Classify(tt.codes, tt.separator)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Classify = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
			if n := len(Labels(tt.codes, tt.separator)); n != tt.labels {
				t.Errorf("Labels: %d, want %d", n, tt.labels)
			}
		})
	}
}
