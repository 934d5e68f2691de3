package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"paperchart/chart"
)

// The auto-file threshold is set by measured precision on filing simulated the way documents
// arrive: Febrl's own duplicates (typos, missing and swapped fields) plus copies of every
// original with the errors paper adds (nicknames, initials, OCR slips in names and MRNs, day and
// month swapped, fields missing), against an index that also holds look-alikes of one person in
// eight — twins (same family name, birth date and address), namesakes (same name, another birth
// date) and full namesakes (same name and birth date, another MRN) — and, for every document, once
// with its person in the index and once without (a new patient's first document: any auto-file
// is wrong). Look-alikes come at rates a hospital's index has (a twin for one person in 60, a
// namesake with another birth date for one in 30, a full namesake for one in 1,000), and one
// document in ten belongs to a person not in the index. Datasets 1 and 2 set the threshold;
// dataset 3, with another seed, checks it.

// calibrationViews are the identifier combinations documents print.
var calibrationViews = []struct {
	name string
	view func(Record) Record
}{
	{"MRN, name and birth date", documentView},
	{"name and birth date only", nameBirthView},
	{"MRN and name", mrnNameView},
	{"MRN and birth date", mrnBirthView},
}

// lookalikes adds to the index twins, namesakes and full namesakes of some originals, each a
// different person (a new cluster) with an MRN of its own.
func lookalikes(recs []febrlRec, rng *rand.Rand) []febrlRec {
	var originals []febrlRec
	maxCluster := 0
	for _, r := range recs {
		maxCluster = max(maxCluster, r.Cluster)
		if r.Org {
			originals = append(originals, r)
		}
	}
	out := append([]febrlRec(nil), recs...)
	for i, o := range originals {
		if o.Rec.Birth.IsZero() || o.Rec.Family == "" {
			continue
		}
		kind := -1
		switch x := rng.Float64(); {
		case x < 1.0/60:
			kind = 0
		case x < 1.0/60+1.0/30:
			kind = 1
		case x < 1.0/60+1.0/30+1.0/1000:
			kind = 2
		}
		if kind < 0 {
			continue
		}
		maxCluster++
		other := originals[(i+1+rng.IntN(len(originals)-1))%len(originals)].Rec
		l := o.Rec
		l.MRN = chart.MRN(fmt.Sprintf("9%08d", maxCluster))
		switch kind {
		case 0: // twin: another given name, same family, birth date and address
			if other.Given == "" || other.Given == l.Given {
				continue
			}
			l.Given = other.Given
		case 1: // namesake: another birth date, another address
			l.Birth = chart.Date{Year: 1920 + rng.IntN(85), Month: time.Month(1 + rng.IntN(12)), Day: 1 + rng.IntN(28)}
			l.Address, l.City, l.Postal = other.Address, other.City, other.Postal
		default: // full namesake: the same name and birth date, another person
			l.Address, l.City, l.Postal = other.Address, other.City, other.Postal
		}
		out = append(out, febrlRec{Cluster: maxCluster, Org: true, Rec: l})
	}
	return out
}

// nicknameOf returns another name of the given name's nickname group, or "".
func nicknameOf(given string, rng *rand.Rand) string {
	g := NormalizeName(given)
	groups := nicknameGroups()[g]
	if len(groups) == 0 {
		return ""
	}
	line := strings.Split(nicknameText, "\n")[groups[0]]
	var names []string
	for _, n := range strings.Fields(line) {
		if n != g {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return names[rng.IntN(len(names))]
}

// typo makes one keying or OCR error in s: a substitution, a dropped or a doubled letter, or
// two neighbours swapped.
func typo(s string, rng *rand.Rand) string {
	if len(s) < 3 {
		return s
	}
	b := []byte(s)
	i := 1 + rng.IntN(len(b)-2)
	switch rng.IntN(4) {
	case 0:
		b[i] = "aeioulnrst"[rng.IntN(10)]
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b = append(b[:i+1], b[i:]...)
	default:
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}

// ocrSlip turns one digit of the MRN into a letter OCR reads for it, when it has one.
func ocrSlip(m chart.MRN, rng *rand.Rand) chart.MRN {
	b := []byte(m)
	var at []int
	for i, c := range b {
		if c == '0' || c == '1' || c == '5' || c == '8' { // the digits OCR most often reads as letters
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return m
	}
	i := at[rng.IntN(len(at))]
	b[i], _ = chart.LetterFor(b[i])
	return chart.MRN(b)
}

// onPaper is the record as a document prints it, with the errors paper adds.
func onPaper(r Record, rng *rand.Rand) Record {
	if rng.Float64() < 0.10 {
		r.Family = typo(r.Family, rng)
	}
	switch x := rng.Float64(); {
	case x < 0.10:
		if n := nicknameOf(r.Given, rng); n != "" {
			r.Given = n
		}
	case x < 0.15:
		if r.Given != "" {
			r.Given = r.Given[:1]
		}
	case x < 0.25:
		r.Given = typo(r.Given, rng)
	case x < 0.28:
		r.Family, r.Given = r.Given, r.Family
	}
	switch x := rng.Float64(); {
	case x < 0.05:
		if s, ok := r.Birth.Swapped(); ok {
			r.Birth = s
		}
	case x < 0.12:
		r.Birth = chart.Date{}
	}
	if rng.Float64() < 0.05 {
		r.MRN = ocrSlip(r.MRN, rng)
	}
	return r
}

// autoFileScore is what the decision rule makes of one document: the best candidate's weight
// when every rule but the threshold lets it file (identifiers eligible, the margin over the
// runner-up, no MRN on the document that differs from the candidate's), else -Inf; and whether
// that candidate is the document's person.
func autoFileScore(m *Model, doc Record, cands []Record, truth []bool) LabelledScore {
	if len(cands) == 0 {
		return LabelledScore{Score: math.Inf(-1)}
	}
	results := make([]Result, len(cands))
	for i, c := range cands {
		results[i] = m.Score(doc, c)
	}
	d := m.Decide(results)
	top := d.Ranked[0]
	s := LabelledScore{Score: top.Result.Weight, Match: truth[top.Index]}
	if ok, _ := Eligible(top.Result); !ok || (d.RunnerUp && d.Margin < m.Thresholds().Margin) ||
		top.Result.Field(FieldMRN).Level == LevelDisagree {
		s.Score = math.Inf(-1)
	}
	return s
}

// calibrationRun files every document of recs (Febrl's duplicates, and one paper copy of each
// original) in one view, against the originals plus look-alikes; for one document in ten the
// person is taken out of the index. present holds one score per document whose person is in the
// index; absent one per document whose person is not (any auto-file is wrong).
func calibrationRun(m *Model, recs []febrlRec, seed uint64, view func(Record) Record) (present, absent []LabelledScore, candidates int) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	index := lookalikes(recs, rng)
	byKey := map[string][]int{}
	for i, r := range index {
		if r.Org {
			for _, k := range BlockingKeys(r.Rec) {
				byKey[k] = append(byKey[k], i)
			}
		}
	}
	var docs []febrlRec
	for _, r := range recs {
		if r.Org {
			docs = append(docs, febrlRec{Cluster: r.Cluster, Rec: onPaper(r.Rec, rng)})
		} else {
			docs = append(docs, r)
		}
	}
	for _, q := range docs {
		doc := view(q.Rec)
		without := rng.IntN(10) == 0 // one document in ten: its person is not in the index
		{
			seen := map[int]bool{}
			var cands []Record
			var truth []bool
			for _, k := range BlockingKeys(doc) {
				for _, i := range byKey[k] {
					if seen[i] || (without && index[i].Cluster == q.Cluster) {
						continue
					}
					seen[i] = true
					cands = append(cands, index[i].Rec)
					truth = append(truth, index[i].Cluster == q.Cluster)
				}
			}
			candidates += len(cands)
			s := autoFileScore(m, doc, cands, truth)
			if without {
				absent = append(absent, LabelledScore{Score: s.Score})
			} else {
				present = append(present, s)
			}
		}
	}
	return present, absent, candidates
}

// thresholdByLowerBound returns the lowest whole weight t at which the auto-filed documents
// (score ≥ t) have precision ≥ target at t and at every higher whole weight, and the one-sided 95%
// lower confidence bound of that precision reaches target; +Inf when no weight qualifies.
func thresholdByLowerBound(scored []LabelledScore, target float64) float64 {
	s := append([]LabelledScore(nil), scored...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score > s[j].Score })
	best := math.Inf(1)
	for t := 40.0; t >= 0; t-- {
		tp, fp := 0, 0
		for _, x := range s {
			if x.Score < t {
				break
			}
			if x.Match {
				tp++
			} else {
				fp++
			}
		}
		if tp+fp > 0 && float64(tp) < target*float64(tp+fp) {
			break
		}
		if PrecisionLowerBound(fp, tp+fp, 0.95) >= target {
			best = t
		}
	}
	return best
}

// calibrationFigures is what one view's filing gives at a threshold.
type calibrationFigures struct {
	Documents, AutoRight, AutoWrong, AbsentWrong int
	Precision, LowerBound, Recall                float64
}

func figuresAt(present, absent []LabelledScore, th float64) calibrationFigures {
	f := calibrationFigures{Documents: len(present)}
	for _, s := range present {
		if s.Score >= th {
			if s.Match {
				f.AutoRight++
			} else {
				f.AutoWrong++
			}
		}
	}
	for _, s := range absent {
		if s.Score >= th {
			f.AbsentWrong++
		}
	}
	n, wrong := f.AutoRight+f.AutoWrong+f.AbsentWrong, f.AutoWrong+f.AbsentWrong
	f.Precision = 1
	if n > 0 {
		f.Precision = float64(f.AutoRight) / float64(n)
	}
	f.LowerBound = PrecisionLowerBound(wrong, n, 0.95)
	f.Recall = float64(f.AutoRight) / float64(max(f.Documents, 1))
	return f
}

func (f calibrationFigures) String() string {
	return fmt.Sprintf("%d documents: %d auto-filed right (recall %.4f), %d wrong, %d wrong of documents whose person is not in the index; precision %.5f, 95%% lower bound %.5f",
		f.Documents, f.AutoRight, f.Recall, f.AutoWrong, f.AbsentWrong, f.Precision, f.LowerBound)
}

// calibrationScores pools the views: a document's person present or absent alike. meanCands is
// how many candidates the index proposes per document, on average.
func calibrationScores(m *Model, recs []febrlRec, seed uint64) (pooled []LabelledScore, byView [][2][]LabelledScore, meanCands float64) {
	cands := 0
	for i, v := range calibrationViews {
		present, absent, c := calibrationRun(m, recs, seed+uint64(i), v.view)
		byView = append(byView, [2][]LabelledScore{present, absent})
		pooled = append(append(pooled, present...), absent...)
		cands += c
	}
	return pooled, byView, float64(cands) / float64(max(len(pooled), 1))
}

// productionCandidates is how many candidates the patient index proposes per document in
// production (filing's default); Febrl's small data sets propose far fewer.
const productionCandidates = 20

// chooseThreshold sets the auto-file threshold: the lowest weight at which the measured
// precision's 95% lower bound reaches the target (thresholdByLowerBound), but never below the
// weight at which the model's posterior reaches the target when a document's person is one of
// max(meanCands, productionCandidates) candidates — the simulated index is far smaller than a
// hospital's — rounded up to a whole bit.
func chooseThreshold(pooled []LabelledScore, meanCands, target float64) (threshold, posteriorFloor, measured float64) {
	prior := 1 / max(meanCands, productionCandidates)
	posteriorFloor = math.Log2(target / (1 - target) * (1 - prior) / prior)
	measured = thresholdByLowerBound(pooled, target)
	return math.Ceil(max(posteriorFloor, measured)), posteriorFloor, measured
}

// trainingRecords are Febrl datasets 1 and 2 as one set, their clusters kept apart.
func trainingRecords(t *testing.T) []febrlRec {
	var recs []febrlRec
	off := 0
	for _, name := range []string{"dataset1.csv", "dataset2.csv"} {
		r := loadFebrl(t, name)
		next := off
		for i := range r {
			r[i].Cluster += off
			next = max(next, r[i].Cluster+1)
		}
		off = next
		recs = append(recs, r...)
	}
	return recs
}

// TestCalibrationHeldOut checks the shipped threshold on dataset 3 with a seed no estimation
// used: in every view, precision's 95% lower bound reaches the target, and it reports the recall.
func TestCalibrationHeldOut(t *testing.T) {
	t.Parallel()
	recs := loadFebrl(t, "dataset3.csv")
	m := DefaultModel()
	th := m.Thresholds()
	pooled, byView, _ := calibrationScores(m, recs, heldOutSeed)
	for i, v := range calibrationViews {
		f := figuresAt(byView[i][0], byView[i][1], th.DocumentView)
		t.Logf("held out, %s, threshold %.0f bits: %v", v.name, th.DocumentView, f)
		if f.Precision < th.TargetPrecision {
			t.Errorf("%s: precision %.5f under %.3f", v.name, f.Precision, th.TargetPrecision)
		}
	}
	tp, fp, prec, _ := PrecisionAt(pooled, th.DocumentView)
	lb := PrecisionLowerBound(fp, tp+fp, 0.95)
	t.Logf("held out, every view: %d auto-filed, %d wrong: precision %.5f, 95%% lower bound %.5f", tp+fp, fp, prec, lb)
	if lb < th.TargetPrecision {
		t.Errorf("every view: 95%% lower bound of precision %.5f under %.3f", lb, th.TargetPrecision)
	}
}

// Seeds of the simulated paper errors: estimation and the held-out check differ.
const (
	estimateSeed = 1
	heldOutSeed  = 9_000_001
)
