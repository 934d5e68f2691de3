package scangen

import (
	"strings"

	"paperchart/chart"
)

// CER returns the character error rate of hypothesis against reference:
// the Levenshtein distance (insertions, deletions and substitutions of
// runes, each costing 1) divided by the number of runes in reference, after
// both are normalised by collapsing every run of white space to one space
// and trimming the ends. Comparison is case sensitive. An empty reference
// gives 0 for an empty hypothesis and 1 otherwise. The result can exceed 1
// when the hypothesis is much longer than the reference.
func CER(reference, hypothesis string) float64 {
	ref := []rune(normalizeSpace(reference))
	hyp := []rune(normalizeSpace(hypothesis))
	if len(ref) == 0 {
		if len(hyp) == 0 {
			return 0
		}
		return 1
	}
	return float64(chart.Edits(ref, hyp, -1, false)) / float64(len(ref))
}

// normalizeSpace collapses runs of white space to one space and trims.
func normalizeSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
