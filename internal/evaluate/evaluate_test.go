package evaluate

import (
	"math"
	"reflect"
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

// truthBatch builds truth pages as batch does, and also "d:type:mrn:c" for
// a page of a document with a conflicting identifier; an empty mrn is a
// patient not in the index.
func truthBatch(id int64, pages ...string) Batch {
	b := batch(id, false, pages...)
	for i, s := range pages {
		if strings.HasSuffix(s, ":c") {
			b.Pages[i].Conflict = true
		}
	}
	return b
}

func heldDoc(batch int64, typ string, reasons []string, pages ...int) Doc {
	d := doc(batch, false, "", typ, pages...)
	d.ReviewReasons = reasons
	return d
}

func TestScoreFigures(t *testing.T) {
	b1 := truthBatch(1, "1:lab:A", "1:lab:A", "2:note:", "3:card:B:c", "4:note:C")
	b2 := truthBatch(2, "1:lab:A", "2:note:B", "2:note:B")
	type figures struct {
		inIndex, inIndexFiled            int
		notInIndex, notInIndexFiled      int
		conflicting, conflictingFiled    int
		wrong, wrongConflict, wrongNotIn int
		wrongOther                       int
	}
	tests := []struct {
		name      string
		batches   []Batch
		docs      []Doc
		want      figures
		rate      float64
		held      map[string]int
		confusion map[[2]string]int // truth, given → documents; every other cell 0
		types     []TypeScore
	}{
		{
			name:    "filed, filed to a stranger's look-alike, a conflict filed, one held",
			batches: []Batch{b1},
			docs: []Doc{
				doc(1, true, "A", "lab", 1, 2),
				doc(1, true, "X", "note", 3), // the patient is not in the index: any filing is wrong
				doc(1, true, "D", "card", 4), // B's document, which names D too
				heldDoc(1, "lab", []string{"document type uncertain (41% sure)",
					"not filed automatically: match probability 0.8123 is below what automatic filing needs"}, 5),
			},
			want: figures{inIndex: 2, inIndexFiled: 1, notInIndex: 1, notInIndexFiled: 1, conflicting: 1, conflictingFiled: 1,
				wrong: 2, wrongConflict: 1, wrongNotIn: 1},
			rate:      0.5,
			held:      map[string]int{ReasonType: 1, ReasonBelowThreshold: 1},
			confusion: map[[2]string]int{{"lab", "lab"}: 1, {"note", "note"}: 1, {"card", "card"}: 1, {"note", "lab"}: 1},
			types: []TypeScore{
				{Type: "card", Support: 1, Predicted: 1, TruePositive: 1, Precision: 1, Recall: 1, F1: 1},
				{Type: "lab", Support: 1, Predicted: 2, TruePositive: 1, Precision: 0.5, Recall: 1, F1: 2.0 / 3},
				{Type: "note", Support: 2, Predicted: 1, TruePositive: 1, Precision: 1, Recall: 0.5, F1: 2.0 / 3},
			},
		},
		{
			name:    "two documents of patients in the index merged and filed; a held one without reasons",
			batches: []Batch{b2},
			docs:    []Doc{doc(2, true, "A", "lab", 1, 2), heldDoc(2, "note", nil, 3)},
			// The merged document is A's (a tie goes to the earlier truth document).
			want:      figures{inIndex: 2, inIndexFiled: 1, wrong: 1, wrongOther: 1},
			rate:      0.5,
			held:      map[string]int{ReasonNone: 1},
			confusion: map[[2]string]int{{"lab", "lab"}: 1, {"note", "note"}: 1},
			types: []TypeScore{
				{Type: "lab", Support: 1, Predicted: 1, TruePositive: 1, Precision: 1, Recall: 1, F1: 1},
				{Type: "note", Support: 1, Predicted: 1, TruePositive: 1, Precision: 1, Recall: 1, F1: 1},
			},
		},
		{
			name:    "every document of the index filed; a held one held for several reasons of one kind",
			batches: []Batch{b2},
			docs: []Doc{doc(2, true, "A", "lab", 1), heldDoc(2, "", []string{"where this document starts or ends is not certain",
				"the pages carry more than one MRN", "the pages carry more than one MRN"}, 2, 3)},
			want:      figures{inIndex: 2, inIndexFiled: 1},
			rate:      0.5,
			held:      map[string]int{ReasonBoundary: 1, ReasonMoreThanOneMRN: 1},
			confusion: map[[2]string]int{{"lab", "lab"}: 1, {"note", ""}: 1},
			types: []TypeScore{
				{Type: "", Support: 0, Predicted: 1},
				{Type: "lab", Support: 1, Predicted: 1, TruePositive: 1, Precision: 1, Recall: 1, F1: 1},
				{Type: "note", Support: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Score(tc.batches, tc.docs)
			got := figures{r.InIndex, r.InIndexFiled, r.NotInIndex, r.NotInIndexFiled, r.Conflicting, r.ConflictingFiled,
				r.WrongPatient, r.WrongPatientConflict, r.WrongPatientNotInIndex, r.WrongPatientOther}
			if got != tc.want {
				t.Errorf("figures %+v, want %+v", got, tc.want)
			}
			if r.InIndexAutoFileRate() != tc.rate {
				t.Errorf("in-index auto-file rate %v, want %v", r.InIndexAutoFileRate(), tc.rate)
			}
			if len(r.WrongPatientDocuments) != r.WrongPatient || r.WrongPatient != r.WrongPatientConflict+r.WrongPatientNotInIndex+r.WrongPatientOther {
				t.Errorf("wrong-patient counts disagree: %+v", r)
			}
			if !reflect.DeepEqual(r.Held, tc.held) {
				t.Errorf("held %v, want %v", r.Held, tc.held)
			}
			if r.Confusion.Total() != r.Documents {
				t.Errorf("confusion holds %d documents, made %d", r.Confusion.Total(), r.Documents)
			}
			for _, truth := range r.Confusion.Types {
				for _, given := range r.Confusion.Types {
					if got, want := r.Confusion.Count(truth, given), tc.confusion[[2]string{truth, given}]; got != want {
						t.Errorf("confusion %q → %q: %d, want %d", truth, given, got, want)
					}
				}
			}
			if len(r.Types) != len(tc.types) {
				t.Fatalf("types %+v, want %+v", r.Types, tc.types)
			}
			for i, want := range tc.types {
				g := r.Types[i]
				if g.Type != want.Type || g.Support != want.Support || g.Predicted != want.Predicted || g.TruePositive != want.TruePositive ||
					math.Abs(g.Precision-want.Precision) > 1e-9 || math.Abs(g.Recall-want.Recall) > 1e-9 || math.Abs(g.F1-want.F1) > 1e-9 {
					t.Errorf("type %d: %+v, want %+v", i, g, want)
				}
			}
			var sb strings.Builder
			if err := r.Print(&sb); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"patient in the index and no conflicting identifier", "confusion of types", "why documents were held"} {
				if !strings.Contains(sb.String(), w) {
					t.Errorf("print lacks %q:\n%s", w, sb.String())
				}
			}
		})
	}
}

func TestReasonKind(t *testing.T) {
	tests := []struct{ reason, kind string }{
		// As the filing stage and the matcher write them.
		{"where this document starts or ends is not certain", ReasonBoundary},
		{"document type uncertain (41% sure)", ReasonType},
		{"document type uncertain (7% sure)", ReasonType},
		{"the cover sheet names a document type paperchart does not know", ReasonCoverType},
		{"no patient identifiers (MRN, name, birth date) were found on the pages", ReasonNoIdentifiers},
		{"no patient in the index resembles the identifiers on the pages", ReasonNoCandidate},
		{"no candidate patient found", ReasonNoCandidate},
		{"not filed automatically: match probability 0.8123 is below what automatic filing needs", ReasonBelowThreshold},
		{"not filed automatically: match probability 0.0001 is below what automatic filing needs", ReasonBelowThreshold},
		{"not filed automatically: the next candidate scores almost as well (2.1 bits apart, 5.0 needed)", ReasonRunnerUp},
		{"not filed automatically: fewer than two identifiers (MRN, name, birth date) agree", ReasonFewIdentifiers},
		{"not filed automatically: the birth date differs", ReasonBirthDiffers},
		{"the pages carry more than one MRN", ReasonMoreThanOneMRN},
		{"the pages carry an MRN that is not this patient's", ReasonMRNDiffers},
		{"the cover sheet's barcodes name different patients", ReasonCoverBarcodes},
		{"the cover sheet's MRN is not in the patient index", ReasonCoverNotInIndex},
		{"the cover sheet's patient record is inactive", ReasonCoverInactive},
		{"the pages carry another MRN than the cover sheet", ReasonCoverMRNDiffers},
		{"the pages carry another birth date than the cover sheet's patient", ReasonCoverBirthDiffers},
		// Unknown reasons: their words up to the first figure.
		{"not filed automatically: the scan is too faint (12% ink)", "the scan is too faint"},
		{"Something new: with detail", "something new"},
		{"  ", "other"},
	}
	for _, tc := range tests {
		if got := ReasonKind(tc.reason); got != tc.kind {
			t.Errorf("ReasonKind(%q) = %q, want %q", tc.reason, got, tc.kind)
		}
	}
	if got := ReasonKinds([]string{"the pages carry more than one MRN", "document type uncertain (41% sure)", "the pages carry more than one MRN"}); !reflect.DeepEqual(got, []string{ReasonMoreThanOneMRN, ReasonType}) {
		t.Errorf("ReasonKinds = %q", got)
	}
	if got := ReasonKinds(nil); !reflect.DeepEqual(got, []string{ReasonNone}) {
		t.Errorf("ReasonKinds(nil) = %q", got)
	}
}

func TestOutcomes(t *testing.T) {
	b := batch(7, false, "1:lab:A", "1:lab:A", "blank", "2:note:B", "3:note:", "4:card:A")
	held := doc(7, false, "", "note", 4)
	held.ReviewReasons = []string{"match probability 0.9 is below what automatic filing needs"}
	prelim := doc(7, true, "A", "card", 6)
	prelim.Preliminary = true
	r := Score([]Batch{b}, []Doc{
		doc(7, true, "A", "lab", 1, 2, 3), held, doc(7, true, "B", "note", 5), prelim,
	})
	if got, want := r.HeldInIndex, map[string]int{ReasonKind(held.ReviewReasons[0]): 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("HeldInIndex = %v, want %v", got, want)
	}
	var buf strings.Builder
	labels := []string{"d-one", "d-two", "d-three", "d-four"}
	err := WriteOutcomes(&buf, r, func(int64) string { return "b.pdf" }, func(id int64, n int) string {
		if id != 7 {
			t.Errorf("label asked for batch %d", id)
		}
		return labels[n-1]
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"file,pages,document,truth_type,type,patient,result,reasons,why",
		"b.pdf,1-3,d-one,lab,lab,in-index,filed,,",
		"b.pdf,4,d-two,note,note,in-index,held," + ReasonKind(held.ReviewReasons[0]) + "," + held.ReviewReasons[0],
		"b.pdf,5,d-three,note,note,not-in-index,filed-WRONG-PATIENT,,",
		"b.pdf,6,d-four,card,card,in-index,filed-type-unconfirmed,,",
		"",
	}, "\n")
	if buf.String() != want {
		t.Errorf("outcomes:\n%s\nwant:\n%s", buf.String(), want)
	}
}
