package match

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"paperchart/chart"
	"strings"
	"testing"
	"time"
)

func TestJaroWinkler(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.961},
		{"dwayne", "duane", 0.840},
		{"dixon", "dicksonx", 0.813},
		{"same", "same", 1},
		{"abc", "xyz", 0},
		{"", "abc", 0},
	} {
		if got := JaroWinkler(c.a, c.b); math.Abs(got-c.want) > 0.0005 {
			t.Errorf("JaroWinkler(%q, %q) = %.4f, want %.3f", c.a, c.b, got, c.want)
		}
		if got := JaroWinkler(c.b, c.a); math.Abs(got-c.want) > 0.0005 {
			t.Errorf("JaroWinkler(%q, %q) = %.4f, want %.3f (symmetry)", c.b, c.a, got, c.want)
		}
	}
}

func TestSoundex(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"robert", "R163"}, {"rupert", "R163"}, {"rubin", "R150"}, {"ashcraft", "A261"},
		{"tymczak", "T522"}, {"pfister", "P236"}, {"honeyman", "H555"}, {"lee", "L000"}, {"", ""},
	} {
		if got := Soundex(c.in); got != c.want {
			t.Errorf("Soundex(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"O'Brien", "obrien"}, {"  Smith,  Jr. ", "smith"}, {"García-López", "garcia-lopez"},
		{"Dr. John  PAUL", "john paul"}, {"Müller", "muller"}, {"", ""},
	} {
		if got := NormalizeName(c.in); got != c.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCompareMRN(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want Level
	}{
		{"123456", "123456", LevelExact},
		{"mrn-12 34", "MRN1234", LevelExact},
		{"12O456", "120456", LevelOCR},
		{"1234S6", "123456", LevelOCR},
		{"l23456", "123456", LevelOCR},
		{"B23456", "823456", LevelOCR},
		{"Z23456", "223456", LevelOCR},
		{"0012345", "12345", LevelLeadingZero},
		{"123457", "123456", LevelDisagree}, // a neighbouring MRN is another patient
		{"12O45S", "120456", LevelDisagree}, // two substitutions
		{"", "123", LevelMissing},
	} {
		if got := CompareMRN(chart.MRN(c.a), chart.MRN(c.b)); got != c.want {
			t.Errorf("CompareMRN(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestCompareNames(t *testing.T) {
	for _, c := range []struct {
		af, ag, bf, bg   string
		wantFam, wantGiv Level
	}{
		{"Smith", "John", "SMITH", "john", LevelExact, LevelExact},
		{"Smith", "Bill", "Smith", "William", LevelExact, LevelNickname},
		{"Jones", "Peggy", "Jones", "Margaret", LevelExact, LevelNickname},
		{"Smith", "J", "Smith", "John", LevelExact, LevelInitial},
		{"Smith", "K", "Smith", "John", LevelExact, LevelDisagree},
		{"Garcia-Lopez", "Maria", "Garcia", "Maria", LevelCompound, LevelExact},
		{"Mc Carthy", "Ann", "McCarthy", "Ann", LevelExact, LevelExact},
		{"Smith", "Mary Ann", "Smith", "Mary", LevelExact, LevelCompound},
		{"Martha", "Ann", "Marhta", "Ann", LevelTypo, LevelExact},
		{"Stevens", "Ann", "Stephens", "Ann", LevelSimilar, LevelExact},
		{"Dixon", "Ann", "Dickson", "Ann", LevelDisagree, LevelExact}, // Jaro–Winkler 0.83
		{"John", "Smith", "Smith", "John", LevelSwapped, LevelSwapped},
		{"Brown", "Alice", "Green", "Alice", LevelDisagree, LevelExact},
		{"", "Alice", "Green", "Alice", LevelMissing, LevelExact},
	} {
		f, g := CompareNames(c.af, c.ag, c.bf, c.bg)
		if f != c.wantFam || g != c.wantGiv {
			t.Errorf("CompareNames(%q %q, %q %q) = %v, %v; want %v, %v", c.af, c.ag, c.bf, c.bg, f, g, c.wantFam, c.wantGiv)
		}
	}
}

func TestIsNickname(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Bill", "William", true}, {"billy", "will", true}, {"Peggy", "Margaret", true},
		{"Bob", "Robert", true}, {"Dick", "Richard", true}, {"Sandy", "Alexander", true},
		{"Sandy", "Alexandra", true}, {"Liz", "Elizabeth", true}, {"Jack", "John", true},
		{"Ted", "Edward", true}, {"Ted", "Theodore", true}, {"Kate", "Katherine", true},
		{"Bill", "Robert", false}, {"William", "William", false}, {"", "William", false},
	} {
		if got := IsNickname(c.a, c.b); got != c.want {
			t.Errorf("IsNickname(%q, %q) = %t, want %t", c.a, c.b, got, c.want)
		}
	}
	if n := len(nicknameGroups()); n < 300 {
		t.Errorf("nickname table has %d names, want a few hundred", n)
	}
}

func TestCompareBirth(t *testing.T) {
	d := func(y, m, dd int) chart.Date { return chart.Date{Year: y, Month: time.Month(m), Day: dd} }
	for _, c := range []struct {
		a, b chart.Date
		want Level
	}{
		{d(1994, 9, 15), d(1994, 9, 15), LevelExact},
		{d(1994, 3, 7), d(1994, 7, 3), LevelDayMonthSwapped},
		{d(1994, 9, 15), d(1994, 9, 16), LevelOneDigit},
		{d(1994, 9, 15), d(1949, 9, 15), LevelOneDigit}, // transposed digits
		{d(1994, 9, 15), d(1984, 9, 15), LevelOneDigit},
		{d(1994, 9, 15), d(1994, 9, 27), LevelSameYearMonth},
		{d(1994, 9, 15), d(1961, 2, 3), LevelDisagree},
		{d(1994, 9, 15), chart.Date{}, LevelMissing},
	} {
		if got := CompareBirth(c.a, c.b); got != c.want {
			t.Errorf("CompareBirth(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestOtherComparators(t *testing.T) {
	for _, c := range []struct {
		name string
		got  Level
		want Level
	}{
		{"sex", CompareSex("F", "female"), LevelExact},
		{"sex differs", CompareSex("M", "F"), LevelDisagree},
		{"sex unknown", CompareSex("U", "F"), LevelMissing},
		{"postal", ComparePostal("02115", "02115-1234"), LevelExact},
		{"postal typo", ComparePostal("02115", "02151"), LevelOneEdit},
		{"postal differs", ComparePostal("02115", "90210"), LevelDisagree},
		{"phone", ComparePhone("(617) 555-0142", "617.555.0142"), LevelExact},
		{"phone area", ComparePhone("617 555 0142", "1-508-555-0142"), LevelLast7},
		{"phone differs", ComparePhone("617 555 0142", "617 555 0143"), LevelDisagree},
		{"phone short", ComparePhone("555", "617 555 0142"), LevelMissing},
		{"address order", CompareAddress("21 Woralul St, Flt 68", "flat 68 21 woralul street"), LevelExact},
		{"address typo", CompareAddress("177 Pridham Street Milton", "177 pridhamstreet milton"), LevelExact},
		{"address high", CompareAddress("177 Pridham Street Milton", "177 pridhamp street miltoh"), LevelExact},
		{"address medium", CompareAddress("12 Main Street", "40 Main Street Unit 5"), LevelMedium},
		{"address differs", CompareAddress("12 Main Street", "9 Elm Road"), LevelDisagree},
		{"city", CompareCity("St. James", "st james"), LevelExact},
		{"city typo", CompareCity("Canterbury", "Cantebrury"), LevelTypo},
		{"middle initial", CompareMiddle("Q", "Quentin"), LevelInitial},
		{"middle differs", CompareMiddle("Ann", "Rose"), LevelDisagree},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultModelParams(t *testing.T) {
	m := DefaultModel()
	p := m.Params()
	if p.Prior <= 0 || p.Thresholds.TargetPrecision != 0.999 || p.Thresholds.DocumentView <= 0 || p.Thresholds.Full <= 0 {
		t.Fatalf("unexpected parameters: prior %v thresholds %+v", p.Prior, p.Thresholds)
	}
	// Agreement must weigh more than disagreement for every field.
	for _, f := range Fields() {
		if m.Weight(f, LevelExact) <= m.Weight(f, LevelDisagree) {
			t.Errorf("%v: exact %.2f ≤ disagree %.2f", f, m.Weight(f, LevelExact), m.Weight(f, LevelDisagree))
		}
	}
	if _, err := NewModel(Params{Prior: 0.5, Thresholds: Thresholds{TargetPrecision: 0.999}}); err == nil {
		t.Error("NewModel accepted parameters without fields")
	}
}

// fixtures: a small patient index with look-alikes.
var index = []Record{
	{MRN: "100234", Family: "Smith", Given: "William", Birth: chart.Date{Year: 1956, Month: 4, Day: 9}, Sex: "M", Address: "7 Wallaby Place", City: "Cleveland", Postal: "44101"},
	{MRN: "100235", Family: "Smith", Given: "Willa", Birth: chart.Date{Year: 1956, Month: 4, Day: 9}, Sex: "F", Address: "7 Wallaby Place", City: "Cleveland", Postal: "44101"},
	{MRN: "200871", Family: "Smyth", Given: "William", Birth: chart.Date{Year: 1965, Month: 4, Day: 9}, Sex: "M", Address: "18 Oak Road", City: "Akron", Postal: "44301"},
	{MRN: "301442", Family: "Garcia-Lopez", Given: "Maria", Birth: chart.Date{Year: 1980, Month: 11, Day: 3}, Sex: "F"},
	{MRN: "301443", Family: "Garcia", Given: "Mario", Birth: chart.Date{Year: 1980, Month: 11, Day: 3}, Sex: "M"},
	{MRN: "412000", Family: "McCarthy", Given: "Margaret", Birth: chart.Date{Year: 1941, Month: 2, Day: 7}, Sex: "F"},
	{MRN: "412001", Family: "McCarthy", Given: "Mary", Birth: chart.Date{Year: 1941, Month: 7, Day: 2}, Sex: "F"},
}

func TestScoreRanksTrueRecordFirst(t *testing.T) {
	for _, c := range []struct {
		name     string
		doc      Record
		want     int
		autoFile bool
	}{
		{"nickname, OCR'd MRN", Record{MRN: "1OO234", Family: "SMITH", Given: "Bill", Birth: chart.Date{Year: 1956, Month: 4, Day: 9}}, 0, true},
		{"no MRN, look-alike at the same address", Record{Family: "Smiht", Given: "William", Birth: chart.Date{Year: 1956, Month: 4, Day: 9}}, 0, false},
		{"no MRN, typos in both names", Record{Family: "McCarthy", Given: "Margret", Birth: chart.Date{Year: 1941, Month: 2, Day: 7}}, 5, true},
		{"compound family name", Record{MRN: "301442", Family: "Garcia", Given: "Maria", Birth: chart.Date{Year: 1980, Month: 11, Day: 3}}, 3, true},
		{"day and month swapped", Record{MRN: "412000", Family: "Mc Carthy", Given: "Peggy", Birth: chart.Date{Year: 1941, Month: 7, Day: 2}}, 5, true},
		{"names swapped", Record{MRN: "200871", Family: "William", Given: "Smyth", Birth: chart.Date{Year: 1965, Month: 4, Day: 9}}, 2, true},
		{"name only: too weak", Record{Family: "Smith", Given: "William"}, 0, false},
		{"birth date contradicts", Record{MRN: "100234", Family: "Smith", Given: "William", Birth: chart.Date{Year: 1971, Month: 1, Day: 30}}, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			results := make([]Result, len(index))
			for i, r := range index {
				results[i] = Score(c.doc, r)
			}
			d := Decide(results)
			best, ok := d.Best()
			if !ok || best.Index != c.want {
				t.Fatalf("best = %d, want %d (%v)", best.Index, c.want, d)
			}
			if d.AutoFile != c.autoFile {
				t.Errorf("AutoFile = %t, want %t; reasons %q", d.AutoFile, c.autoFile, d.Reasons)
			}
			if len(d.Reasons) < 2 {
				t.Errorf("reasons %q", d.Reasons)
			}
		})
	}
}

func TestReasonsAndRedaction(t *testing.T) {
	doc := Record{MRN: "100234", Family: "Smith", Given: "Bill", Birth: chart.Date{Year: 1956, Month: 4, Day: 9}}
	d := Decide([]Result{Score(doc, index[0]), Score(doc, index[2])})
	all := strings.Join(d.Reasons, "; ")
	for _, want := range []string{"MRN agrees", "birth date agrees", "given name is a nickname of the other (bill / william)", "filed automatically"} {
		if !strings.Contains(all, want) {
			t.Errorf("reasons %q lack %q", all, want)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("decided", "decision", d, "result", d.Ranked[0].Result)
	for _, s := range []string{buf.String(), fmt.Sprintf("%v %+v %#v %s", d, d, d, d.Ranked[0].Result)} {
		for _, secret := range []string{"bill", "william", "smith", "100234", "1956"} {
			if strings.Contains(strings.ToLower(s), secret) {
				t.Errorf("patient data %q in log output: %s", secret, s)
			}
		}
	}
	if d := Decide(nil); d.AutoFile || len(d.Reasons) != 1 {
		t.Errorf("no candidates: %v %q", d, d.Reasons)
	}
}

func TestChooseThreshold(t *testing.T) {
	s := func(score float64, match bool) LabelledScore { return LabelledScore{score, match} }
	for _, c := range []struct {
		name       string
		in         []LabelledScore
		target     float64
		wantTh     float64
		wantRecall float64
	}{
		{"clean split", []LabelledScore{s(10, true), s(9, true), s(8, true), s(3, false), s(2, false)}, 0.999, 8, 1},
		{"precision may dip to the target", []LabelledScore{s(10, true), s(9, true), s(8, false), s(7, true), s(1, false)}, 0.6, 1, 1},
		{"precision must not dip below it", []LabelledScore{s(10, true), s(9, true), s(8, false), s(7, true), s(1, false)}, 0.7, 9, 2.0 / 3},
		{"strict target stops at the first error", []LabelledScore{s(10, true), s(9, true), s(8, false), s(7, true)}, 0.999, 9, 2.0 / 3},
		{"ties go together", []LabelledScore{s(10, true), s(5, true), s(5, false)}, 0.9, 10, 0.5},
		{"best is a non-match", []LabelledScore{s(10, false), s(9, true)}, 0.999, math.Inf(1), 0},
	} {
		th, rec := ChooseThreshold(c.in, c.target)
		if th != c.wantTh || math.Abs(rec-c.wantRecall) > 1e-9 {
			t.Errorf("%s: got %v, %v; want %v, %v", c.name, th, rec, c.wantTh, c.wantRecall)
		}
	}
	if lb := PrecisionLowerBound(0, 3000, 0.95); math.Abs(lb-0.999) > 0.00005 {
		t.Errorf("PrecisionLowerBound(0, 3000) = %.6f, want ≈ 0.999", lb)
	}
	bins := Reliability([]LabelledScore{s(0.05, false), s(0.95, true), s(1, true), s(0.9, false)}, []float64{0, 0.5, 1})
	if bins[0].Pairs != 1 || bins[1].Pairs != 3 || bins[1].Matches != 2 {
		t.Errorf("Reliability bins %+v", bins)
	}
}

func BenchmarkScore(b *testing.B) {
	doc := Record{MRN: "1OO234", Family: "Smiht", Given: "Bill", Birth: chart.Date{Year: 1956, Month: 4, Day: 9}}
	m := DefaultModel()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range index {
			m.Score(doc, r)
		}
	}
}

func BenchmarkScoreFull(b *testing.B) {
	doc := index[0]
	doc.Given, doc.Address = "Bill", "7 Wallaby Pl"
	m := DefaultModel()
	b.ReportAllocs()
	for b.Loop() {
		m.Score(doc, index[1])
	}
}
