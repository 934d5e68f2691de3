package sheets

import (
	"strings"
	"testing"
)

// FuzzParsePayload reads any barcode text: a cover payload it accepts is
// the one CoverPayload writes for its fields (one spelling per sheet), and
// KindOf agrees with it.
func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{
		"PCCS1|A=MAIN|M=00482913|T=18842-5|C=9167", "PCCS1|M=00482913|C=0000", "PATCHT", "PCCS1|M=1%7C2|C=FFFF",
		"PCCS1|M=a%20b|T=x|C=1234", "PCCS2|M=1|C=1234", "00482913", "MRN-1234", "PCCS1|C=", "|C=", "%", "PCCS1|M=%4",
	} {
		f.Add(s)
	}
	if p, err := CoverPayload("MAIN", "00482913", "18842-5"); err == nil {
		f.Add(p)
	}
	if p, err := CoverPayload("A B", "%|é", ""); err == nil {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, ok := ParsePayload(text)
		kind := KindOf(text, "")
		switch {
		case !ok:
			if kind == Cover || kind == Separator {
				t.Fatalf("KindOf(%q) = %v, ParsePayload refuses it", text, kind)
			}
			return
		case s.Kind == Separator:
			if kind != Separator {
				t.Fatalf("KindOf(%q) = %v, want separator", text, kind)
			}
			return
		}
		if kind != Cover || s.MRN == "" {
			t.Fatalf("%q: KindOf %v, sheet %+v", text, kind, s)
		}
		p, err := CoverPayload(s.Authority, s.MRN, s.Type)
		if err != nil {
			if len(text) <= MaxPayload {
				t.Fatalf("%q accepted, its fields refused: %v", text, err)
			}
			return
		}
		if p != text {
			t.Fatalf("%q accepted as %+v, which is written %q: two spellings of one sheet", text, s, p)
		}
	})
}

// FuzzCoverPayload: what CoverPayload writes reads back as its fields, and
// no change of one character reads as another sheet.
func FuzzCoverPayload(f *testing.F) {
	f.Add("MAIN", "00482913", "18842-5", 5, byte('1'))
	f.Add("", "1", "", 0, byte('X'))
	f.Add("A|B", "%00", "é", 9, byte('%'))
	f.Fuzz(func(t *testing.T, authority, mrn, docType string, at int, c byte) {
		p, err := CoverPayload(authority, mrn, docType)
		if err != nil {
			if mrn != "" && !strings.Contains(err.Error(), "too long") {
				t.Fatalf("CoverPayload: %v", err)
			}
			return
		}
		if len(p) > MaxPayload {
			t.Fatalf("payload of %d characters", len(p))
		}
		s, ok := ParsePayload(p)
		if !ok || s.Kind != Cover || s.Authority != authority || s.MRN != mrn || s.Type != docType {
			t.Fatalf("%q reads back as %+v, %v", p, s, ok)
		}
		if at < 0 {
			at = -at
		}
		at %= len(p)
		if p[at] == c {
			return
		}
		damaged := p[:at] + string(c) + p[at+1:]
		if d, ok := ParsePayload(damaged); ok && d != s && d.Kind == Cover {
			t.Fatalf("%q damaged at %d to %q reads as another sheet %+v", p, at, damaged, d)
		}
	})
}
