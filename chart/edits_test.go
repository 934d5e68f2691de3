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
