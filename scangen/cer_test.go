package scangen

import (
	"math"
	"strings"
	"testing"
)

func TestCER(t *testing.T) {
	tests := []struct {
		name     string
		ref, hyp string
		want     float64
	}{
		{"identical", "Patient: DOE, JANE", "Patient: DOE, JANE", 0},
		{"both empty", "", "", 0},
		{"empty reference", "", "x", 1},
		{"empty hypothesis", "abcd", "", 1},
		{"one substitution", "abcd", "abed", 0.25},
		{"one insertion", "abcd", "abxcd", 0.25},
		{"one deletion", "abcd", "acd", 0.25},
		{"case matters", "MRN", "mrn", 1},
		{"whitespace runs collapse", "Page 1\n\nof  3\n", "  Page 1 of\t3", 0},
		{"line break equals space", "a\nb", "a b", 0},
		{"form feed trimmed", "text", "text\n\f", 0},
		{"runes not bytes", "état", "etat", 0.25},
		{"longer hypothesis", "ab", "abcdef", 2},
		{"kitten sitting", "kitten", "sitting", 3.0 / 6},
		{"transposition is two edits", "ab", "ba", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CER(tt.ref, tt.hyp); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("CER(%q, %q) = %g, want %g", tt.ref, tt.hyp, got, tt.want)
			}
		})
	}
}

func TestCERLongPage(t *testing.T) {
	// A page-sized comparison must be fast and exact.
	ref := strings.Repeat("The patient reports intermittent chest pain. ", 70) // ~3000 runes
	hyp := strings.ReplaceAll(ref, "chest", "chcst")                           // 70 substitutions
	want := 70 / float64(len([]rune(normalizeSpace(ref))))
	if got := CER(ref, hyp); math.Abs(got-want) > 1e-12 {
		t.Errorf("CER = %g, want %g", got, want)
	}
}

func BenchmarkCER(b *testing.B) {
	ref := strings.Repeat("Vital signs: BP 120/80, HR 72, RR 16, Temp 98.6 F. ", 60)
	hyp := strings.ReplaceAll(ref, "0", "O")
	for b.Loop() {
		CER(ref, hyp)
	}
}
