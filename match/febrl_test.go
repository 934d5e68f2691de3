package match

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"paperchart/chart"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Febrl data sit beside the repository (../shared/data/febrl); they are read from there and
// never copied in. Tests that need them skip when they are absent.
const febrlDir = "../../shared/data/febrl"

var estimateFlag = flag.Bool("estimate", false, "re-estimate the parameters on Febrl datasets 1 and 2 and write params.json")

// febrlRec is one Febrl record: its person (cluster) number and whether it is the original.
type febrlRec struct {
	Cluster int
	Org     bool
	Rec     Record
}

// loadFebrl reads a Febrl CSV, or reports fs.ErrNotExist.
func loadFebrl(t testing.TB, name string) []febrlRec {
	t.Helper()
	f, err := os.Open(filepath.Join(febrlDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("Febrl data not present (%s): skipping", febrlDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []febrlRec
	for _, row := range rows[1:] {
		for i := range row {
			row[i] = strings.TrimSpace(row[i])
		}
		parts := strings.Split(row[0], "-") // rec-12-org, rec-12-dup-0
		var cl int
		fmt.Sscan(parts[1], &cl)
		var birth chart.Date
		if d := row[9]; len(d) == 8 && strings.Trim(d, "0123456789") == "" {
			birth = chart.Date{Year: atoi(d[:4]), Month: time.Month(atoi(d[4:6])), Day: atoi(d[6:])}
		}
		out = append(out, febrlRec{
			Cluster: cl,
			Org:     parts[2] == "org",
			Rec: Record{
				MRN: chart.MRN(row[10]), Given: row[1], Family: row[2], Birth: birth,
				Address: strings.Join(nonEmpty(row[3], row[4], row[5]), " "),
				City:    row[6], Postal: row[7],
			},
		})
	}
	return out
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// documentView keeps what a scanned document carries: identifier, names, birth date.
func documentView(r Record) Record {
	return Record{MRN: r.MRN, Family: r.Family, Given: r.Given, Middle: r.Middle, Birth: r.Birth, Sex: r.Sex}
}

// evaluationKeys are wider than BlockingKeys, to find many hard non-matches in a data set much
// smaller than a hospital's index: same birth year or same postal code, besides the production
// blocking keys (which bring pairs with similar names and equal birth dates).
func evaluationKeys(r Record) []string {
	keys := BlockingKeys(r)
	if !r.Birth.IsZero() {
		keys = append(keys, fmt.Sprintf("y:%d", r.Birth.Year))
	}
	if p := normalizePostal(r.Postal); p != "" {
		keys = append(keys, "p:"+p)
	}
	return keys
}

// nameBirthView keeps names and birth date: a document without an MRN.
func nameBirthView(r Record) Record {
	return Record{Family: r.Family, Given: r.Given, Middle: r.Middle, Birth: r.Birth, Sex: r.Sex}
}

// mrnNameView is a document that prints the MRN and the name, no birth date.
func mrnNameView(r Record) Record {
	return Record{MRN: r.MRN, Family: r.Family, Given: r.Given, Middle: r.Middle, Sex: r.Sex}
}

// mrnBirthView is a document that prints the MRN and the birth date, no name (a lab label).
func mrnBirthView(r Record) Record {
	return Record{MRN: r.MRN, Birth: r.Birth, Sex: r.Sex}
}

// views are the combinations of identifiers documents print, whose auto-file precision the
// thresholds are set by.
var views = []struct {
	name string
	view func(Record) Record
}{
	{"full (with address)", func(r Record) Record { return r }},
	{"document view (MRN, name, birth date)", documentView},
	{"name and birth date only", nameBirthView},
	{"MRN and name", mrnNameView},
	{"MRN and birth date", mrnBirthView},
}

// scoreView scores every pair as the view shows both records. A pair the identification rules
// keep from automatic filing (Eligible) scores -Inf: it is never auto-filed, whatever its weight.
func scoreView(m *Model, pairs []LabelledPair, view func(Record) Record) []LabelledScore {
	out := make([]LabelledScore, len(pairs))
	for i, p := range pairs {
		r := m.Score(view(p.A), view(p.B))
		out[i] = LabelledScore{r.Weight, p.Match}
		if ok, _ := Eligible(r); !ok {
			out[i].Score = math.Inf(-1)
		}
	}
	return out
}

// candidatePairs returns every pair of records (i < j) sharing an evaluation key.
func candidatePairs(recs []febrlRec) [][2]int {
	byKey := map[string][]int{}
	for i, r := range recs {
		for _, k := range evaluationKeys(r.Rec) {
			byKey[k] = append(byKey[k], i)
		}
	}
	seen := map[[2]int]bool{}
	var out [][2]int
	for _, idx := range byKey {
		for x := 0; x < len(idx); x++ {
			for y := x + 1; y < len(idx); y++ {
				p := [2]int{idx[x], idx[y]}
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}

func truePairCount(recs []febrlRec) int {
	n := map[int]int{}
	for _, r := range recs {
		n[r.Cluster]++
	}
	total := 0
	for _, k := range n {
		total += k * (k - 1) / 2
	}
	return total
}

func labelledPairs(recs []febrlRec) []LabelledPair {
	var out []LabelledPair
	for _, p := range candidatePairs(recs) {
		a, b := recs[p[0]], recs[p[1]]
		out = append(out, LabelledPair{A: a.Rec, B: b.Rec, Match: a.Cluster == b.Cluster})
	}
	return out
}

// scorePairs scores labelled pairs in the full and the document view, as weights.
func scorePairs(m *Model, pairs []LabelledPair) (full, doc []LabelledScore) {
	full, doc = make([]LabelledScore, len(pairs)), make([]LabelledScore, len(pairs))
	done := make(chan struct{})
	go func() { // the two views on two cores: Model is safe for concurrent use
		for i, p := range pairs {
			full[i] = LabelledScore{m.Score(p.A, p.B).Weight, p.Match}
		}
		close(done)
	}()
	for i, p := range pairs {
		doc[i] = LabelledScore{m.Score(documentView(p.A), documentView(p.B)).Weight, p.Match}
	}
	<-done
	return full, doc
}

// filingOutcome counts what the decision rule does when each query is matched against an index.
type filingOutcome struct {
	Queries, AutoRight, AutoWrong, Review int
}

func (o filingOutcome) String() string {
	return fmt.Sprintf("queries %d: auto-filed right %d (%.1f%%), auto-filed wrong %d, review %d",
		o.Queries, o.AutoRight, 100*float64(o.AutoRight)/float64(max(o.Queries, 1)), o.AutoWrong, o.Review)
}

// simulateFiling treats the original records as the patient index (one record per person) and
// every duplicate as a document to file: candidates are the index records sharing a blocking key.
// When absent is true the query's own person is removed from the index, so any auto-file is
// wrong (a new patient's first document); the originals are then also queried.
func simulateFiling(m *Model, recs []febrlRec, view func(Record) Record, absent bool) filingOutcome {
	byKey := map[string][]int{}
	for i, r := range recs {
		if r.Org {
			for _, k := range BlockingKeys(r.Rec) {
				byKey[k] = append(byKey[k], i)
			}
		}
	}
	var o filingOutcome
	for qi, q := range recs {
		if q.Org && !absent {
			continue
		}
		doc := view(q.Rec)
		seen := map[int]bool{}
		var cands []int
		for _, k := range BlockingKeys(doc) {
			for _, i := range byKey[k] {
				if i == qi || seen[i] || (absent && recs[i].Cluster == q.Cluster) {
					continue
				}
				seen[i] = true
				cands = append(cands, i)
			}
		}
		sort.Ints(cands)
		results := make([]Result, len(cands))
		for j, i := range cands {
			results[j] = m.Score(doc, recs[i].Rec)
		}
		d := m.Decide(results)
		o.Queries++
		switch {
		case !d.AutoFile:
			o.Review++
		case recs[cands[d.Ranked[0].Index]].Cluster == q.Cluster:
			o.AutoRight++
		default:
			o.AutoWrong++
		}
	}
	return o
}

func probabilities(m *Model, s []LabelledScore) []LabelledScore {
	out := make([]LabelledScore, len(s))
	for i, x := range s {
		out[i] = LabelledScore{m.Posterior(x.Score), x.Match}
	}
	return out
}

var reliabilityEdges = []float64{0, 0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999, 1}

func reliabilityTable(bins []ReliabilityBin) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %8s %8s %10s %10s\n", "predicted", "pairs", "matches", "mean pred", "observed")
	for _, x := range bins {
		fmt.Fprintf(&b, "[%.3f, %.3f)   %8d %8d %10.4f %10.4f\n", x.Lo, x.Hi, x.Pairs, x.Matches, x.MeanPredicted, x.ObservedShare)
	}
	return b.String()
}

// TestEstimate re-estimates the parameters on the training data (Febrl datasets 1 and 2) and
// checks that the shipped params.json matches; with -estimate it writes params.json instead:
//
//	go test ./match/ -run TestEstimate -estimate
func TestEstimate(t *testing.T) {
	t.Parallel()
	var pairs []LabelledPair
	var recsAll [][]febrlRec
	for _, name := range []string{"dataset1.csv", "dataset2.csv"} {
		recs := loadFebrl(t, name)
		recsAll = append(recsAll, recs)
		lp := labelledPairs(recs)
		nm := 0
		for _, p := range lp {
			if p.Match {
				nm++
			}
		}
		t.Logf("%s: %d records, %d candidate pairs, blocking found %d of %d true pairs", name, len(recs), len(lp), nm, truePairCount(recs))
		pairs = append(pairs, lp...)
	}
	p, err := Estimate(pairs, EstimateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.GeneratedBy = "go test ./match/ -run TestEstimate -estimate (Febrl datasets 1 and 2, blocked candidate pairs)"
	p.Thresholds = Thresholds{TargetPrecision: 0.999, Margin: 0}
	m, err := NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	// The threshold is set on filing simulated as documents arrive (calibrate_test.go).
	pooled, byView, meanCands := calibrationScores(m, trainingRecords(t), estimateSeed)
	th, floor, measured := chooseThreshold(pooled, meanCands, p.Thresholds.TargetPrecision)
	t.Logf("calibration: %d documents, %.1f candidates each: posterior %.3f at %.2f bits, measured lower bound reaches it from %.0f bits: threshold %.0f",
		len(pooled), meanCands, p.Thresholds.TargetPrecision, floor, measured, th)
	for i, v := range calibrationViews {
		f := figuresAt(byView[i][0], byView[i][1], th)
		t.Logf("training, %s: %v", v.name, f)
		p.Training["recall_"+strings.ReplaceAll(strings.ReplaceAll(v.name, ",", ""), " ", "_")] = math.Round(f.Recall*1e4) / 1e4
	}
	p.Training["calibration_documents"] = float64(len(pooled))
	p.Training["calibration_mean_candidates"] = math.Round(meanCands*100) / 100
	p.Thresholds.Full, p.Thresholds.DocumentView = th, th
	full, doc := scorePairs(m, pairs)
	_, _, _, rf := PrecisionAt(full, th)
	_, _, _, rd := PrecisionAt(doc, th)
	p.Training["recall_full"], p.Training["recall_document_view"] = math.Round(rf*1e4)/1e4, math.Round(rd*1e4)/1e4
	p.Thresholds.Margin = marginBits
	t.Logf("thresholds: %+v", p.Thresholds)
	m, err = NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, recs := range recsAll {
		t.Logf("training filing, document view: %v", simulateFiling(m, recs, documentView, false))
		t.Logf("training filing, document view, patient absent: %v", simulateFiling(m, recs, documentView, true))
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *estimateFlag {
		if err := os.WriteFile("params.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote params.json")
		return
	}
	if string(got) != string(paramsJSON) {
		t.Errorf("params.json is not what the estimation gives; run: go test ./match/ -run TestEstimate -estimate")
	}
}

// marginBits is the least weight by which the best candidate must beat the runner-up.
const marginBits = 5

// TestHeldOut evaluates the shipped parameters on Febrl dataset 3, never used for estimation.
func TestHeldOut(t *testing.T) {
	t.Parallel()
	recs := loadFebrl(t, "dataset3.csv")
	m := DefaultModel()
	th := m.Thresholds()
	pairs := labelledPairs(recs)
	t.Logf("dataset3: %d records, %d candidate pairs, %d true pairs", len(recs), len(pairs), truePairCount(recs))
	for _, v := range views {
		sc := scoreView(m, pairs, v.view)
		tp, fp, prec, rec := PrecisionAt(sc, th.DocumentView)
		lb := PrecisionLowerBound(fp, tp+fp, 0.95)
		t.Logf("%s: threshold %.0f bits: %d true, %d false auto-matches: precision %.5f (95%% lower bound %.5f), recall %.4f",
			v.name, th.DocumentView, tp, fp, prec, lb, rec)
		if lb < th.TargetPrecision {
			t.Errorf("%s: precision %.5f, 95%% lower bound %.5f below %.3f", v.name, prec, lb, th.TargetPrecision)
		}
		t.Logf("%s reliability (pairs, prior %.4f):\n%s", v.name, m.Params().Prior, reliabilityTable(Reliability(probabilities(m, sc), reliabilityEdges)))
	}
	for _, v := range []struct {
		name string
		view func(Record) Record
	}(views) {
		present := simulateFiling(m, recs, v.view, false)
		absent := simulateFiling(m, recs, v.view, true)
		t.Logf("filing %s, patient in index: %v", v.name, present)
		t.Logf("filing %s, patient absent: %v", v.name, absent)
		if wrong := present.AutoWrong + absent.AutoWrong; float64(wrong) > 0.001*float64(present.AutoRight) {
			t.Errorf("filing %s: %d wrong auto-files for %d right", v.name, wrong, present.AutoRight)
		}
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
