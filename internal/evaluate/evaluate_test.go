package evaluate

import (
	"math"
	"strings"
	"testing"
)

// batch builds truth pages from a compact form: one entry per page,
// "d:type:mrn", "blank" or "sheet".
func batch(id int64, sheets bool, pages ...string) Batch {
	b := Batch{ID: id, Sheets: sheets}
	for i, s := range pages {
		p := TruthPage{No: i + 1}
		switch s {
		case "blank":
			p.Blank = true
		case "sheet":
			p.Sheet = true
		default:
			parts := strings.Split(s, ":")
			p.Document = int(parts[0][0] - '0')
			p.Type, p.MRN = parts[1], parts[2]
		}
		b.Pages = append(b.Pages, p)
	}
	return b
}

func doc(batch int64, filed bool, mrn, typ string, pages ...int) Doc {
	return Doc{BatchID: batch, Pages: pages, Filed: filed, PatientMRN: mrn, Type: typ}
}

func TestScore(t *testing.T) {
	b1 := batch(1, false, "1:lab:A", "1:lab:A", "blank", "2:note:B", "3:note:A")
	b2 := batch(2, true, "sheet", "1:lab:C", "sheet", "2:card:C")
	tests := []struct {
		name                 string
		batches              []Batch
		docs                 []Doc
		noSheets, withSheets Boundaries
		typeCorrect, filed   int
		wrong                int
		macroF1              float64
	}{
		{
			name:    "perfect",
			batches: []Batch{b1, b2},
			docs: []Doc{
				doc(1, true, "A", "lab", 1, 2), doc(1, true, "B", "note", 4), doc(1, true, "A", "note", 5),
				doc(2, true, "C", "lab", 2), doc(2, false, "", "card", 4),
			},
			noSheets: Boundaries{TruePositive: 2}, withSheets: Boundaries{TruePositive: 1},
			typeCorrect: 5, filed: 4, macroF1: 1,
		},
		{
			name:    "two documents merged and filed to one patient",
			batches: []Batch{b1},
			docs:    []Doc{doc(1, true, "A", "lab", 1, 2), doc(1, true, "B", "note", 4, 5)},
			// Page 5 (patient A) went to B: one wrong-patient filing.
			noSheets:    Boundaries{TruePositive: 1, FalseNegative: 1},
			typeCorrect: 2, filed: 2, wrong: 1, macroF1: 1,
		},
		{
			name:     "a document cut in two, one type wrong",
			batches:  []Batch{b1},
			docs:     []Doc{doc(1, false, "", "lab", 1), doc(1, false, "", "note", 2), doc(1, true, "B", "note", 4), doc(1, true, "A", "note", 5)},
			noSheets: Boundaries{TruePositive: 2, FalsePositive: 1},
			// lab: P 1/1 R 1/2 → F1 2/3; note: P 2/3 R 2/2 → F1 0.8.
			typeCorrect: 3, filed: 2, macroF1: (2.0/3 + 0.8) / 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Score(tc.batches, tc.docs)
			if r.BoundariesNoSheets != tc.noSheets || r.BoundariesWithSheets != tc.withSheets {
				t.Errorf("boundaries %+v / %+v, want %+v / %+v", r.BoundariesNoSheets, r.BoundariesWithSheets, tc.noSheets, tc.withSheets)
			}
			if r.TypeCorrect != tc.typeCorrect || r.Filed != tc.filed || r.WrongPatient != tc.wrong {
				t.Errorf("types %d filed %d wrong %d, want %d %d %d", r.TypeCorrect, r.Filed, r.WrongPatient, tc.typeCorrect, tc.filed, tc.wrong)
			}
			if math.Abs(r.TypeMacroF1-tc.macroF1) > 1e-9 {
				t.Errorf("macro-F1 %.4f, want %.4f", r.TypeMacroF1, tc.macroF1)
			}
			var sb strings.Builder
			if err := r.Print(&sb); err != nil || !strings.Contains(sb.String(), "wrong-patient auto-files") {
				t.Errorf("print: %v\n%s", err, sb.String())
			}
		})
	}
}

func TestBoundaryRatios(t *testing.T) {
	b := Boundaries{TruePositive: 9, FalsePositive: 1, FalseNegative: 3}
	if b.Precision() != 0.9 || b.Recall() != 0.75 || math.Abs(b.F1()-2*0.9*0.75/1.65) > 1e-12 {
		t.Fatalf("P %v R %v F1 %v", b.Precision(), b.Recall(), b.F1())
	}
	if (Boundaries{}).F1() != 1 {
		t.Fatal("nothing to find and nothing found is perfect")
	}
}
