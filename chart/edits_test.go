package chart

import "testing"

// TestEdits holds the distance in the forms callers use: Levenshtein
// (titles, names), OSA capped at a limit (separation's names, words and
// MRNs), over runes (OCR error rates).
func TestEdits(t *testing.T) {
	tests := []struct {
		a, b      string
		limit     int
		transpose bool
		runes     bool
		want      int
	}{
		{"", "", -1, false, false, 0},
		{"kitten", "sitting", -1, false, false, 3},
		{"kitten", "sitting", 2, false, false, 3}, // limit+1
		{"kitten", "sitting", 5, false, false, 3},
		{"abcd", "abdc", -1, false, false, 2},
		{"abcd", "abdc", -1, true, false, 1},
		{"ca", "ac", 1, true, false, 1},
		{"PROGRESS NOTE", "PR0GRESS N0TE", -1, false, false, 2},
		{"a", "abcdef", 2, false, false, 3},
		{"same", "same", 0, true, false, 0},
		{"", "abc", -1, true, false, 3},
		{"SMITH", "SMTIH", 3, true, false, 1},
		{"SMITH", "SMTIH", 3, false, false, 2},
		{"SMITH", "JONES", 3, true, false, 4}, // capped at limit+1
		{"signed", "sigend", 1, true, false, 1},
		{"hospita", "hospital", 1, true, false, 1},
		{"clinic", "cl1nic", 0, true, false, 1},
		{"00410001", "00410010", 2, true, false, 1},
		{"00410001", "00420013", 2, true, false, 3},
		{"naïve", "naive", -1, false, true, 1},
		{"é", "e", -1, false, true, 1},
		{"é", "e", -1, false, false, 2}, // two bytes against one
		{"naïve café", "naive cafe", -1, false, true, 2},
		{"naïve café", "naive cafe", 1, false, true, 2},
	}
	for _, tc := range tests {
		got := EditsString(tc.a, tc.b, tc.limit, tc.transpose)
		if tc.runes {
			got = Edits([]rune(tc.a), []rune(tc.b), tc.limit, tc.transpose)
		}
		if got != tc.want {
			t.Errorf("Edits(%q, %q, %d, transpose %v, runes %v) = %d, want %d", tc.a, tc.b, tc.limit, tc.transpose, tc.runes, got, tc.want)
		}
	}
}
