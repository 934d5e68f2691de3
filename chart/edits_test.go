package chart

import "testing"

func TestEdits(t *testing.T) {
	tests := []struct {
		a, b      string
		limit     int
		transpose bool
		want      int
	}{
		{"", "", -1, false, 0},
		{"kitten", "sitting", -1, false, 3},
		{"kitten", "sitting", 2, false, 3}, // limit+1
		{"kitten", "sitting", 5, false, 3},
		{"abcd", "abdc", -1, false, 2},
		{"abcd", "abdc", -1, true, 1},
		{"ca", "ac", 1, true, 1},
		{"PROGRESS NOTE", "PR0GRESS N0TE", -1, false, 2},
		{"a", "abcdef", 2, false, 3},
		{"same", "same", 0, true, 0},
		{"", "abc", -1, true, 3},
	}
	for _, tc := range tests {
		if got := EditsString(tc.a, tc.b, tc.limit, tc.transpose); got != tc.want {
			t.Errorf("EditsString(%q, %q, %d, %v) = %d, want %d", tc.a, tc.b, tc.limit, tc.transpose, got, tc.want)
		}
	}
	if got := Edits([]rune("naïve"), []rune("naive"), -1, false); got != 1 {
		t.Errorf("Edits over runes = %d, want 1", got)
	}
}

// TestEditsAsCallersUseThem holds the forms callers use: OSA capped at a
// limit (separation's name and word comparisons), runes (OCR error rates).
func TestEditsAsCallersUseThem(t *testing.T) {
	tests := []struct {
		a, b      string
		limit     int
		transpose bool
		runes     bool
		want      int
	}{
		{"SMITH", "SMTIH", 3, true, false, 1},
		{"SMITH", "SMTIH", 3, false, false, 2},
		{"SMITH", "JONES", 3, true, false, 4}, // capped at limit+1
		{"signed", "sigend", 1, true, false, 1},
		{"hospita", "hospital", 1, true, false, 1},
		{"clinic", "cl1nic", 0, true, false, 1},
		{"00410001", "00410010", 2, true, false, 1},
		{"00410001", "00420013", 2, true, false, 3},
		{"ab", "ba", -1, true, false, 1},
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
