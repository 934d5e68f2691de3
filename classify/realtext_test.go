package classify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paperchart/classify"
)

// minSupport is how many held-out documents a type needs before its
// recall is held to minRecall.
const (
	minAccuracy = 0.95
	minRecall   = 0.85
	minSupport  = 5
	maxECE      = 0.1
	// minCovered is how many types must have minSupport held-out
	// documents: progress notes (ACI-Bench) and pathology reports (TCGA).
	minCovered = 2
)

// TestRealTextHeldOut scores the shipped model on real documents it was
// never trained or tuned on (../realtext/heldout; see realtext/README.md):
// overall accuracy, each type's recall, and calibration.
func TestRealTextHeldOut(t *testing.T) {
	m, err := classify.Default()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := classify.ReadDir(context.Background(), filepath.Join("..", "realtext", "heldout"), "realtext/heldout")
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.Evaluate(docs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d real held-out documents: accuracy %.4f, macro-F1 %.4f, ECE %.4f, %.1f%% above the threshold with %.2f%% of them right\n%s",
		e.Docs, e.Accuracy, e.MacroF1, e.ECE, 100*e.Coverage, 100*e.AcceptedAccuracy, e.ConfusionTable())
	if e.Accuracy < minAccuracy {
		t.Errorf("accuracy %.4f on real held-out documents, want at least %.2f", e.Accuracy, minAccuracy)
	}
	covered := 0
	for _, s := range e.PerType {
		if s.Support >= minSupport {
			covered++
		}
		if s.Support >= minSupport && s.Recall < minRecall {
			t.Errorf("%s: recall %.3f on %d real held-out documents, want at least %.2f", s.Type, s.Recall, s.Support, minRecall)
		}
	}
	if covered < minCovered {
		t.Errorf("%d types have at least %d real held-out documents, want at least %d (see realtext/README.md)", covered, minSupport, minCovered)
	}
	if e.ECE > maxECE {
		t.Errorf("calibration error %.4f on real held-out documents, want at most %.2f", e.ECE, maxECE)
	}
}

// TestLettersAboutOperations: letters between clinicians that discuss an
// operation (testdata/letters, written for this test) are letters, not
// operative reports.
func TestLettersAboutOperations(t *testing.T) {
	m, err := classify.Default()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "letters", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no letters in testdata/letters: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p := m.Predict(string(b))
			if !p.Letter {
				t.Errorf("the letter rule did not match")
			}
			if p.Type != classify.ReferralLetter && p.Type != classify.Correspondence {
				t.Errorf("classified %s (%.3f), want a letter type", p.Type, p.Probability)
			}
		})
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lab-report/b.txt", "second")
	write("lab-report/a.txt", "first")
	write("consent-form/c.txt", "third")
	write("lab-report/notes.md", "not a document")
	docs, err := classify.ReadDir(context.Background(), dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Type+":"+d.Text+":"+d.Source)
	}
	want := "lab-report:first:x lab-report:second:x consent-form:third:x"
	if strings.Join(got, " ") != want {
		t.Errorf("ReadDir = %v, want %s", got, want)
	}
	write("labreport/d.txt", "misspelt folder")
	if _, err := classify.ReadDir(context.Background(), dir, "x"); err == nil || !strings.Contains(err.Error(), "not a type code") {
		t.Errorf("a misspelt type folder gave %v, want an error", err)
	}
	if _, err := classify.ReadDir(context.Background(), t.TempDir(), "x"); err == nil {
		t.Error("an empty folder gave no error")
	}
}
