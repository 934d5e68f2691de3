package scangen

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestCorpus(t *testing.T) {
	tests := []struct {
		name  string
		docs  []LabelledDoc
		clean bool
	}{
		{"clean", Corpus(1, 3), true},
		{"noisy", NoisyCorpus(1, 3, 0.03), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.docs) != 3*len(DocumentTypes()) {
				t.Fatalf("%d documents, want %d", len(tt.docs), 3*len(DocumentTypes()))
			}
			seen := map[string]int{}
			noMRN := 0
			for _, d := range tt.docs {
				seen[d.Type]++
				if len(d.Pages) == 0 || d.Text != strings.Join(d.Pages, "\n\n") || len(d.Text) < 300 {
					t.Errorf("%s: %d pages, %d characters", d.Type, len(d.Pages), len(d.Text))
				}
				if tt.clean && d.Type != TypeCorrespondence && d.Type != TypeReferralLetter && d.Type != TypeOther &&
					!strings.Contains(d.Pages[0], strings.TrimLeft(d.MRN, "0")[:4]) {
					noMRN++ // a typo in it, now and then
					t.Logf("%s: MRN not on the first page", d.Type)
				}
			}
			if noMRN > 3 { // typos: about one document in forty
				t.Errorf("%d first pages do not show their MRN", noMRN)
			}
			for _, ty := range DocumentTypes() {
				if seen[ty] != 3 {
					t.Errorf("type %s: %d documents", ty, seen[ty])
				}
			}
		})
	}
	// Deterministic, and noise changes the text by a few percent.
	a, b := NoisyCorpus(7, 2, 0.03), NoisyCorpus(7, 2, 0.03)
	if !slices.EqualFunc(a, b, func(x, y LabelledDoc) bool { return x.Text == y.Text }) {
		t.Error("same seed, different corpus")
	}
	r := rand.New(rand.NewPCG(1, 2))
	var sum float64
	clean := Corpus(7, 2)
	for _, d := range clean {
		sum += CER(d.Text, ocrNoise(r, d.Text, 0.03))
	}
	if mean := sum / float64(len(clean)); mean < 0.015 || mean > 0.05 {
		t.Errorf("character error rate of noise at 0.03: %.4f", mean)
	}
}

func BenchmarkCorpus(b *testing.B) {
	for b.Loop() {
		NoisyCorpus(1, 10, 0.03)
	}
}
