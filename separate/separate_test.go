package separate

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"paperchart/sheets"
)

// Fictional documents for the fixed cases. Each first page has what a
// first page usually has (letterhead, patient block, title); continuation
// pages have a running header or nothing.
var (
	// Discharge summary for patient A, two pages, "Page i of 2".
	dsA1 = `RIVERSIDE GENERAL HOSPITAL
100 Main Street, Springfield  Tel (555) 010-1111
Patient: DOE, JANE  MRN: 00123456  DOB: 03/14/1961
Date of Service: 01/02/2020  Provider: Alan Smith, MD
DISCHARGE SUMMARY
REASON FOR ADMISSION:
The patient was admitted with community acquired pneumonia and treated with
intravenous antibiotics. She improved steadily and was weaned off oxygen.
HOSPITAL COURSE:
Blood cultures remained negative. Chest radiograph showed a right lower lobe
infiltrate that improved over the admission.
Page 1 of 2`
	dsA2 = `DOE, JANE  MRN: 00123456  DISCHARGE SUMMARY (continued)
DISCHARGE MEDICATIONS:
Amoxicillin 500 mg three times daily for five days. Lisinopril 10 mg daily.
CONDITION AT DISCHARGE: Stable
FOLLOW-UP:
Follow up with her primary care physician in one week.
Electronically signed by Alan Smith, MD on 01/02/2020 at 14:10
Page 2 of 2`
	// Lab report for patient B, one page, no page number.
	labB = `NORTHGATE CLINICAL LABORATORY
22 Elm Avenue, Lakeside  Tel (555) 010-2222
Name: Richard Roe  Medical Record No. 00987654  DOB 07/22/1948
Collected: 02/11/2021
LABORATORY REPORT
Test Result Flag Units Reference Range
Sodium 139 mmol/L 135-145
Potassium 5.6 HIGH mmol/L 3.5-5.1
Creatinine 1.1 mg/dL 0.6-1.3
COMMENTS:
Values outside the reference range are flagged HIGH or LOW.
Signed: Maria Lopez, MD 02/11/2021`
	// Progress note for patient B, two pages, "Page 1 of 2" only on the
	// first, no running header on the second.
	pnB1 = `LAKESIDE FAMILY CLINIC
9 Harbor Road, Lakeside  Tel (555) 010-3333
Patient Name: Roe, Richard
MRN: 00987654  DOB: 07/22/1948
Date of Service: 03/05/2021  Provider: Ann Lee, MD
PROGRESS NOTE
SUBJECTIVE:
The patient returns for follow up of hypertension. He reports good adherence
to his medications and no chest pain.
Page 1 of 2`
	pnB2 = `OBJECTIVE:
Vital signs: BP 132/80, HR 72. Lungs are clear to auscultation bilaterally.
ASSESSMENT:
Essential hypertension, stable.
PLAN:
Continue lisinopril. Follow up in three months.
Electronically signed by Ann Lee, MD on 03/05/2021 at 10:02
Page 2 of 2`
)

// Pages for the identifier case: no titles, letterheads, page numbers or
// signatures; only the patient on the running header changes.
var (
	idA1 = `DOE, JANE  MRN: 00123456
The patient tolerated the infusion well. Vital signs were stable throughout.
No adverse reaction was observed and the line was flushed.`
	idA2 = `DOE, JANE  MRN: 00123456
The second dose was given without incident. Patient instructed to return
for the next infusion in two weeks.`
	idB1 = `ROE, RICHARD  MRN: 00987654
The patient tolerated the infusion well. Vital signs were stable throughout.
No adverse reaction was observed and the line was flushed.`
	// Look-alike patients: MRNs one digit apart, as in the review
	// fixtures (00410001 to 00410006).
	nearA1 = `HARTMANN, ELISE  MRN: 00410001  DOB: 04/12/1961
The patient tolerated the infusion well. Vital signs were stable throughout.
No adverse reaction was observed and the line was flushed.`
	nearA2 = `HARTMANN, ELISE  MRN: 0O41000l
The second dose was given without incident. Patient instructed to return
for the next infusion in two weeks.`
	nearB1 = `BRENNAN, MAI  MRN: 00410006  DOB: 09/14/1982
The second dose was given without incident. Patient instructed to return
for the next infusion in two weeks.`
)

func content(no int, text string) Page { return Page{No: no, Text: text} }
func blankPage(no int) Page            { return Page{No: no, Blank: true} }
func coverPage(no int, mrn string) Page {
	return Page{No: no, IsSheet: true, Sheet: sheets.Sheet{Kind: sheets.Cover, MRN: mrn}}
}
func separatorPage(no int) Page {
	return Page{No: no, IsSheet: true, Sheet: sheets.Sheet{Kind: sheets.Separator}}
}

// want is one expected document.
type want struct {
	pages  []int
	by     string
	mrn    string // the cover's MRN, "" when no cover
	review bool
}

func TestSplit(t *testing.T) {
	s := newTest(t)
	noisy := func(seed uint64, text string) string {
		return ocrNoise(rand.New(rand.NewPCG(seed, 3)), text, 0.03)
	}
	tests := []struct {
		name   string
		pages  []Page
		want   []want
		reason string // a reason the second document must give, if any
	}{
		{
			name:  "sheets only",
			pages: []Page{coverPage(1, "123456"), content(2, dsA1), content(3, dsA2), coverPage(4, "987654"), content(5, labB)},
			want:  []want{{[]int{2, 3}, ByCover, "123456", false}, {[]int{5}, ByCover, "987654", false}},
		},
		{
			name: "covers with a separator between",
			pages: []Page{coverPage(1, "123456"), content(2, dsA1), content(3, dsA2), separatorPage(4),
				content(5, dsA1), coverPage(6, "987654"), content(7, pnB1), content(8, pnB2)},
			want: []want{{[]int{2, 3}, ByCover, "123456", false}, {[]int{5}, BySeparator, "", false},
				{[]int{7, 8}, ByCover, "987654", false}},
		},
		{
			// The content is sure page 3 starts a document, even against
			// the prior of a forgotten sheet: the operator forgot one.
			name:   "sheet document holding two documents",
			pages:  []Page{separatorPage(1), content(2, labB), content(3, dsA1), content(4, dsA2)},
			want:   []want{{[]int{2}, BySeparator, "", false}, {[]int{3, 4}, ByContent, "", false}},
			reason: "no sheet before it",
		},
		{
			name:  "pages before the first separator",
			pages: []Page{content(1, dsA1), content(2, dsA2), separatorPage(3), content(4, labB)},
			want:  []want{{[]int{1, 2}, ByFirst, "", false}, {[]int{4}, BySeparator, "", false}},
		},
		{
			// Before the first cover sheet the content is cut, and every
			// document found there goes to review.
			name:   "pages before the first cover",
			pages:  []Page{content(1, dsA1), content(2, dsA2), content(3, labB), coverPage(4, "987654"), content(5, pnB1), content(6, pnB2)},
			want:   []want{{[]int{1, 2}, ByFirst, "", true}, {[]int{3}, ByContent, "", true}, {[]int{5, 6}, ByCover, "987654", false}},
			reason: "no cover sheet before it",
		},
		{
			name:  "sheet followed by no content",
			pages: []Page{coverPage(1, "123456"), blankPage(2), separatorPage(3), content(4, labB), separatorPage(5)},
			want:  []want{{[]int{4}, BySeparator, "", false}},
		},
		{
			name:   "content with Page 1 of N",
			pages:  []Page{content(1, dsA1), content(2, dsA2), content(3, pnB1), content(4, pnB2), content(5, labB)},
			want:   []want{{[]int{1, 2}, ByFirst, "", false}, {[]int{3, 4}, ByContent, "", false}, {[]int{5}, ByContent, "", false}},
			reason: "Page 1 of 2 on page 3",
		},
		{
			name:   "patient identifiers change",
			pages:  []Page{content(1, idA1), content(2, idA2), content(3, idB1)},
			want:   []want{{[]int{1, 2}, ByFirst, "", false}, {[]int{3}, ByContent, "", false}},
			reason: "patient identifiers change on page 3",
		},
		{
			name:   "MRN one digit off is another patient",
			pages:  []Page{content(1, nearA1), content(2, nearB1)},
			want:   []want{{[]int{1}, ByFirst, "", false}, {[]int{2}, ByContent, "", false}},
			reason: "patient identifiers change on page 2",
		},
		{
			name:  "MRN misread by OCR is the same patient",
			pages: []Page{content(1, nearA1), content(2, nearA2)},
			want:  []want{{[]int{1, 2}, ByFirst, "", false}},
		},
		{
			name: "patient label changes",
			pages: []Page{{No: 1, Text: idA1, Labels: []string{"00123456"}}, {No: 2, Text: idA2, Labels: []string{"00123456"}},
				{No: 3, Text: idA2, Labels: []string{"00555555"}}},
			want:   []want{{[]int{1, 2}, ByFirst, "", false}, {[]int{3}, ByContent, "", false}},
			reason: "patient label changes on page 3",
		},
		{
			name:   "blank page between documents",
			pages:  []Page{content(1, labB), blankPage(2), content(3, dsA1), blankPage(4), content(5, dsA2)},
			want:   []want{{[]int{1}, ByFirst, "", false}, {[]int{3, 5}, ByContent, "", false}},
			reason: "title on top of page 3",
		},
		{
			name: "noise",
			pages: []Page{content(1, noisy(1, dsA1)), content(2, noisy(2, dsA2)), content(3, noisy(3, pnB1)),
				content(4, noisy(4, pnB2)), content(5, noisy(5, labB))},
			want: []want{{[]int{1, 2}, ByFirst, "", false}, {[]int{3, 4}, ByContent, "", false}, {[]int{5}, ByContent, "", false}},
		},
		{
			name:  "garbage page inside a document",
			pages: []Page{content(1, dsA1), content(2, garbage(rand.New(rand.NewPCG(1, 1)))), content(3, labB)},
			want:  []want{{[]int{1, 2}, ByFirst, "", false}, {[]int{3}, ByContent, "", false}},
		},
		{
			name:  "no pages",
			pages: nil,
			want:  nil,
		},
		{
			name:  "only blank pages and sheets",
			pages: []Page{blankPage(1), separatorPage(2), blankPage(3)},
			want:  nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Split(context.Background(), tc.pages)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d documents %v, want %d", len(got), summary(got), len(tc.want))
			}
			for i, w := range tc.want {
				d := got[i]
				if !slices.Equal(d.Pages, w.pages) || d.By != w.by || d.Review != w.review {
					t.Errorf("document %d: got pages %v by %s review %v (confidence %.3f, %q), want pages %v by %s review %v",
						i+1, d.Pages, d.By, d.Review, d.Confidence, d.Reasons, w.pages, w.by, w.review)
				}
				switch {
				case w.mrn == "" && d.Cover != nil:
					t.Errorf("document %d: unexpected cover %+v", i+1, *d.Cover)
				case w.mrn != "" && (d.Cover == nil || d.Cover.MRN != w.mrn):
					t.Errorf("document %d: cover %v, want MRN %s", i+1, d.Cover, w.mrn)
				}
				if d.Confidence < 0 || d.Confidence > 1 || d.Review != (d.Confidence < s.Threshold()) && !slices.Contains(d.Reasons, "no cover sheet before it") {
					t.Errorf("document %d: confidence %.3f, review %v", i+1, d.Confidence, d.Review)
				}
				if len(d.Reasons) == 0 {
					t.Errorf("document %d: no reasons", i+1)
				}
				for _, r := range d.Doubts {
					if !slices.Contains(d.Reasons, r) {
						t.Errorf("document %d: doubt %q not among its reasons", i+1, r)
					}
				}

				if (d.By == ByCover || d.By == BySeparator) && !d.Review && d.Confidence < 0.99 {
					t.Errorf("document %d: sheet document with confidence %.3f", i+1, d.Confidence)
				}
				for _, r := range d.Reasons {
					for _, secret := range []string{"DOE", "Doe", "ROE", "Roe", "123456", "987654", "1961", "1948"} {
						if strings.Contains(r, secret) {
							t.Errorf("document %d: reason %q holds patient data", i+1, r)
						}
					}
				}
			}
			if tc.reason != "" && (len(got) < 2 || !slices.Contains(got[1].Reasons, tc.reason)) {
				t.Errorf("second document's reasons %q, want %q among them", got[1].Reasons, tc.reason)
			}
		})
	}
}

func summary(docs []Document) [][]int {
	var out [][]int
	for _, d := range docs {
		out = append(out, d.Pages)
	}
	return out
}

func TestSplitErrors(t *testing.T) {
	s := newTest(t)
	for _, tc := range []struct {
		name  string
		pages []Page
	}{
		{"page numbers not increasing", []Page{content(2, labB), content(2, dsA1)}},
		{"page number zero", []Page{content(0, labB)}},
		{"sheet of another kind", []Page{{No: 1, IsSheet: true, Sheet: sheets.Sheet{Kind: sheets.Label, MRN: "123456"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Split(context.Background(), tc.pages)
			if !errors.Is(err, ErrInvalidPages) {
				t.Fatalf("error %v, want ErrInvalidPages", err)
			}
			if strings.Contains(err.Error(), "123456") {
				t.Errorf("error %q holds patient data", err)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Split(ctx, []Page{content(1, labB)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
}

func TestNew(t *testing.T) {
	for _, th := range []float64{-0.1, 1.5} {
		if _, err := New(Config{Extractor: testExtractor, Classifier: testClassifier, Threshold: th}); err == nil {
			t.Errorf("threshold %g accepted", th)
		}
	}
	s, err := New(Config{Extractor: testExtractor, Classifier: testClassifier, Threshold: 0.5})
	if err != nil || s.Threshold() != 0.5 {
		t.Fatalf("New: %v, threshold %v", err, s.Threshold())
	}
}

// TestWeightsMatchFeatures catches features changed without retraining.
func TestWeightsMatchFeatures(t *testing.T) {
	if got := strings.Join(featureNames[:], ","); got != trainedFeatures {
		t.Fatalf("weights.go was fitted for features %q, the code has %q: retrain with go test ./separate -run TestTrain -retrain", trainedFeatures, got)
	}
}

func TestParsePageNum(t *testing.T) {
	for _, tc := range []struct {
		line string
		k, n int
	}{
		{"Page 1 of 2", 1, 2}, {"Page 2 of 2", 2, 2}, {"PAGE 3 OF 12", 3, 12}, {"Page 4", 4, 0},
		{"Pagc l of 2", 1, 2}, {"Page 1 0f2", 1, 2}, {"Pge 2 of 3", 2, 3}, {"Page1of1", 1, 1}, {"Page 2/3", 2, 3},
		{"Page 3 of 2", 0, 0}, {"Pages 1 and 2 were faxed", 0, 0}, {"Plan 1 of 2", 0, 0}, {"Page 0", 0, 0},
	} {
		got := parsePageNum(tc.line)
		if got.k != tc.k || got.n != tc.n || got.ok != (tc.k > 0) {
			t.Errorf("parsePageNum(%q) = %+v, want %d of %d", tc.line, got, tc.k, tc.n)
		}
	}
}

func TestSignals(t *testing.T) {
	for _, tc := range []struct {
		line string
		f    func(string) bool
		want bool
	}{
		{"DOE, JANE  MRN: 1  DISCHARGE SUMMARY (continued)", hasContinued, true},
		{"DOE, JANE  MRN: 1  DISCHARGE SUMMARY (contlnucd)", hasContinued, true},
		{"The patient continued to improve", hasContinued, true}, // fuzzy: the model weighs it
		{"DOE, JANE  MRN: 1", hasContinued, false},
		{"Electronically signed by Alan Smith, MD", isSignature, true},
		{"Sincere1y,", isSignature, true},
		{"Follow up in two weeks.", isSignature, false},
		{"ST. AURELIA MEDICAL CENTER", hasFacilityWord, true},
		{"RIVERBEND C0MMUNITY H0SPITAL", hasFacilityWord, true},
		{"DOE, JANE", hasFacilityWord, false},
	} {
		if got := tc.f(tc.line); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.line, got, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b       string
		same, diff bool
		far        bool // farMRN: further apart than two edits
	}{
		{"26412656", "26412656", true, false, false},
		{"00410001", "410001", true, false, false},   // leading zeros
		{"0O410001", "00410001", true, false, false}, // O read for 0
		{"00410S01", "00410501", true, false, false}, // S for 5
		{"0041000l", "00410001", true, false, false}, // l for 1
		{"00410001", "00410002", false, true, false}, // one digit: another patient
		{"00410001", "00410006", false, true, false},
		{"00410003", "00410004", false, true, false},
		{"26412656", "2642656", false, true, false},  // a dropped digit
		{"26412656", "26421656", false, true, false}, // swapped digits
		{"0O41000l", "00410001", true, false, false}, // two OCR confusions: still one number misread (chart.CompareMRN)
		{"1745599", "17465969", false, true, false},  // two digits misread
		{"17455969", "17465860", false, true, true},  // three digits apart
		{"26412656", "81230975", false, true, true},
		{"14923", "4701423", false, true, true},
	} {
		s, d := sameMRN(tc.a, tc.b)
		if s != tc.same || d != tc.diff {
			t.Errorf("sameMRN(%s, %s) = %v, %v, want %v, %v", tc.a, tc.b, s, d, tc.same, tc.diff)
		}
		if _, f := farMRN(tc.a, tc.b); f != tc.far {
			t.Errorf("farMRN(%s, %s) far = %v, want %v", tc.a, tc.b, f, tc.far)
		}
	}
	if s, _ := sameDate(ymd{1961, 3, 14}, ymd{1961, 3, 15}); !s {
		t.Error("birth dates a day apart differ")
	}
	if s, _ := sameDate(ymd{1961, 3, 4}, ymd{1961, 4, 3}); !s {
		t.Error("day and month swapped differ")
	}
	if _, d := sameDate(ymd{1961, 3, 14}, ymd{1948, 7, 22}); !d {
		t.Error("different birth dates are the same")
	}
}

func TestFaxHeader(t *testing.T) {
	for _, tc := range []struct {
		line   string
		ok     bool
		k, n   int
		sender string
	}{
		{"11/04/2021 17:31 FROM: (555) 013-9712 GRANITE PEAK CARDIOLOGY TO: 5550141903 P.002/005", true, 2, 5, "5550139712"},
		{"NOV-04-2021 17:31  GRANITE PEAK CARDIOLOGY  (555) 013-9712  PAGE 2/5  FAX", true, 2, 5, "04202117315550139712"},
		{"Received: 06/14/2017 7:53AM; From: (555) 015-2241; To: Northfield Family Clinic; Page 1 of 6", true, 1, 6, "5550152241"},
		{"FAX FROM (555) 013-9712 TO 5550141903  11/04/2021 17:31  #1217  P. 3", true, 3, 0, "5550139712"},
		{"Fax (555) 013-9712  Page 7 of 5 as printed by a broken machine", false, 0, 0, ""},
		{"RIVERBEND COMMUNITY HOSPITAL  Tel (555) 010-2345  Fax (555) 010-2346", false, 0, 0, ""},
		{"Page 2 of 3", false, 0, 0, ""},
	} {
		h, ok := parseFaxHeader(tc.line)
		if ok != tc.ok || h.k != tc.k || h.n != tc.n || h.sender != tc.sender {
			t.Errorf("parseFaxHeader(%q) = %+v, %v; want k %d n %d sender %q, %v", tc.line, h, ok, tc.k, tc.n, tc.sender, tc.ok)
		}
	}
}

func TestTextRunsOver(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		open  bool
	}{
		{"cut mid-sentence", []string{"PLAN:", "Continue lisinopril and recheck the basic metabolic panel at the next visit in"}, true},
		{"cut mid-sentence before a footer", []string{"Continue lisinopril and recheck the basic metabolic panel at the next visit in", "Page 1"}, true},
		{"full stop", []string{"Continue lisinopril and recheck the basic metabolic panel at the next visit."}, false},
		{"short last line", []string{"Continue lisinopril and recheck", "in two weeks"}, false},
		{"signature", []string{"Electronically signed by Ann Lee, MD on 03/05/2021 at 10:02"}, false},
		{"printed footer", []string{"Continue lisinopril and recheck the basic metabolic panel at the next visit.", "Printed 03/14/2024 10:42 - Riverbend Community Hospital"}, false},
	} {
		if got := endsOpen(tc.lines); got != tc.open {
			t.Errorf("%s: endsOpen = %v, want %v", tc.name, got, tc.open)
		}
	}
	for line, want := range map[string]bool{
		"three months. Home blood pressure monitoring.": true,
		"(Continued) Patient tolerated":                 false,
		"PLAN:":                                         false,
		"- and the patient":                             true,
		"2 weeks":                                       false,
	} {
		if got := startsLower(line); got != want {
			t.Errorf("startsLower(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestCoverPages(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"FAX COVER SHEET\nTo: Medical Records\nNumber of pages including cover: 4\nRegarding: Jane Roe", 4},
		{"FACSIMILE\nFrom: Dr. Lee\nPages: 3 (including cover)", 3},
		{"Fax Transmittal\nNo. of pages (incl. cover) 2", 2},
		{"Fax: (555) 010-2346\n# of Pages: 12", 12},
		{"FAX\nTotal pages: 1", 0},                                       // a cover alone links nothing
		{"DISCHARGE SUMMARY\nPages: 3\nThe patient was admitted", 0},     // no fax
		{"FAX COVER SHEET\nTo: Medical Records\nRegarding: Jane Roe", 0}, // no count
		{"Fax (555) 010-2346\nThe pages 4 to 6 were missing", 0},
	} {
		if got := coverPages(strings.Split(tc.text, "\n")); got != tc.want {
			t.Errorf("coverPages(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

// TestFaxNextBehindCover: pages sent behind a fax cover sheet that counts
// them are one transmission, though they carry no fax header; the page
// after the count is not.
func TestFaxNextBehindCover(t *testing.T) {
	s := newTest(t)
	cover := "FAX COVER SHEET\nDate: 03/14/2024\nTo: Health Information Management\nFrom: Dr. Ann Lee\n" +
		"Number of pages including cover: 2\nRegarding: Jane Roe\nComments:\nPlease find the requested records attached."
	got, err := s.Split(context.Background(), []Page{content(1, cover), content(2, labB), content(3, dsA1), content(4, dsA2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got documents %v, want 3", summary(got))
	}
	for i, want := range []bool{true, false, false} {
		if got[i].FaxNext != want {
			t.Errorf("document %d (pages %v): FaxNext %v, want %v", i+1, got[i].Pages, got[i].FaxNext, want)
		}
	}
}
