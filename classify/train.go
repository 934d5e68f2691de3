package classify

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"paperchart/chart"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Labelled is one training or evaluation document: its text and its type
// code.
type Labelled struct {
	Type string
	Text string
	// Weight scales the document's part in training and calibration; 0
	// means 1. Real documents, far fewer than generated ones, weigh more.
	Weight float64
	// Source names where the document came from ("generated",
	// "realtext/train", ...): Train reports its held-out figures per source.
	Source string
}

func (d Labelled) weight() float64 {
	if d.Weight > 0 {
		return d.Weight
	}
	return 1
}

// TrainOptions control Train. The zero value is sensible.
type TrainOptions struct {
	Buckets      int     // hash buckets, a power of two; 0 means DefaultBuckets
	Epochs       int     // passes of stochastic gradient descent; 0 means 6
	LearningRate float64 // initial step; 0 means 0.5 (it decays as 1/(1+epoch))
	HeldOut      float64 // share of each type held out for calibration and the threshold; 0 means 0.2
	// TargetAccuracy is the accuracy the accepted held-out predictions
	// must reach; the threshold is the lowest probability that achieves
	// it. 0 means 0.99.
	TargetAccuracy float64
	MinThreshold   float64 // the threshold is never lower; 0 means 0.5
	Seed           uint64  // shuffling and the held-out split
	Workers        int     // feature extraction; 0 means GOMAXPROCS
	Source         string  // where the documents came from, recorded in the model
	// StructureWeight is the weight of the layout features (structure.go)
	// against the words; 0 means DefaultStructureWeight, a negative value
	// none at all.
	StructureWeight float64
}

// maxStructureWeight bounds TrainOptions.StructureWeight.
const maxStructureWeight = 4

func (o *TrainOptions) normalise() error {
	if o.Buckets == 0 {
		o.Buckets = DefaultBuckets
	}
	if o.Buckets < 1<<10 || o.Buckets > 1<<24 || o.Buckets&(o.Buckets-1) != 0 {
		return fmt.Errorf("classify: %d buckets: want a power of two from 1024 to 16777216", o.Buckets)
	}
	if o.Epochs == 0 {
		o.Epochs = 6
	}
	if o.LearningRate == 0 {
		o.LearningRate = 0.5
	}
	if o.HeldOut == 0 {
		o.HeldOut = 0.2
	}
	if o.HeldOut <= 0 || o.HeldOut >= 0.9 {
		return fmt.Errorf("classify: held-out share %g out of range (0, 0.9)", o.HeldOut)
	}
	if o.TargetAccuracy == 0 {
		o.TargetAccuracy = 0.99
	}
	if o.MinThreshold == 0 {
		o.MinThreshold = 0.5
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case o.StructureWeight == 0:
		o.StructureWeight = DefaultStructureWeight
	case o.StructureWeight < 0:
		o.StructureWeight = 0
	case o.StructureWeight > maxStructureWeight:
		return fmt.Errorf("classify: structure weight %g out of range (at most %d)", o.StructureWeight, maxStructureWeight)
	}
	return nil
}

// TypeScore is one type's precision, recall and F1.
type TypeScore struct {
	Type      string  `json:"type"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // documents of the type
}

// Evaluation is how a model does on labelled documents.
type Evaluation struct {
	Docs      int         `json:"docs"`
	Accuracy  float64     `json:"accuracy"`
	MacroF1   float64     `json:"macro_f1"`
	PerType   []TypeScore `json:"per_type"`
	Confusion [][]int     `json:"confusion"` // [true type][predicted type], in Types() order
	ECE       float64     `json:"ece"`       // expected calibration error of the top probability, 15 bins
	// Coverage is the share of documents at or above the threshold (filed
	// without review); AcceptedAccuracy is the accuracy among them.
	Coverage         float64 `json:"coverage"`
	AcceptedAccuracy float64 `json:"accepted_accuracy"`
	TitleMatched     float64 `json:"title_matched"` // share of documents whose title a rule recognised
}

// Report is what Train measured on its held-out split.
type Report struct {
	Docs        int        `json:"docs"`
	TrainDocs   int        `json:"train_docs"`
	HeldOutDocs int        `json:"held_out_docs"`
	HeldOut     Evaluation `json:"held_out"` // with the calibrated model
	// HeldOutBySource is HeldOut for each Labelled.Source.
	HeldOutBySource map[string]Evaluation `json:"held_out_by_source"`
	ECEBefore       float64               `json:"ece_before"`
	ECEAfter        float64               `json:"ece_after"`
	Temperature     float64               `json:"temperature"`
	TitleBonus      float64               `json:"title_bonus"`
	ConsultBonus    float64               `json:"consult_bonus"`
	LetterBonus     float64               `json:"letter_bonus"`
	Threshold       float64               `json:"threshold"`
	Elapsed         time.Duration         `json:"elapsed_ns"`
}

// Train fits a model to docs: logistic regression on a share of each type,
// calibration and the review threshold on the rest (see the package
// documentation). Every type needs documents.
func Train(docs []Labelled, opt TrainOptions) (*Model, Report, error) {
	start := time.Now()
	if err := opt.normalise(); err != nil {
		return nil, Report{}, err
	}
	k := len(types)
	byType := make([][]int, k)
	for i, d := range docs {
		t := typeIndex(d.Type)
		if t < 0 {
			return nil, Report{}, fmt.Errorf("classify: document %d has unknown type %q", i, d.Type)
		}
		byType[t] = append(byType[t], i)
	}
	var missing []string
	for t, ix := range byType {
		if len(ix) < 2 {
			missing = append(missing, types[t].Code)
		}
	}
	if len(missing) > 0 {
		return nil, Report{}, fmt.Errorf("classify: need at least two documents of every type; too few of %s", strings.Join(missing, ", "))
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0x7e57))
	var train, held []int
	for _, ix := range byType {
		r.Shuffle(len(ix), func(i, j int) { ix[i], ix[j] = ix[j], ix[i] })
		n := max(1, int(math.Round(float64(len(ix))*opt.HeldOut)))
		held = append(held, ix[:n]...)
		train = append(train, ix[n:]...)
	}
	spec := newSpec(opt.Buckets, opt.StructureWeight)
	vecs := featurize(spec, docs, opt.Workers)
	label := func(i int) int { return typeIndex(docs[i].Type) }

	// Stochastic gradient descent on the softmax cross-entropy.
	w := make([]float32, opt.Buckets*k)
	bias := make([]float32, k)
	p := make([]float64, k)
	acc := make([]float32, k)
	order := slices.Clone(train)
	for epoch := range opt.Epochs {
		lr := float32(opt.LearningRate / (1 + float64(epoch)))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			v := vecs[i]
			clear(acc)
			for j, b := range v.idx {
				x := v.val[j]
				row := w[int(b)*k : int(b)*k+k]
				for c := range row {
					acc[c] += x * row[c]
				}
			}
			for c := range p {
				p[c] = float64(acc[c] + bias[c])
			}
			softmax(p)
			y := label(i)
			step := lr * float32(docs[i].weight())
			g := acc // reuse: gradient of each class's score
			for c := range g {
				g[c] = float32(p[c])
				if c == y {
					g[c]--
				}
				g[c] *= step
				bias[c] -= g[c]
			}
			for j, b := range v.idx {
				x := v.val[j]
				row := w[int(b)*k : int(b)*k+k]
				for c := range row {
					row[c] -= x * g[c]
				}
			}
		}
	}
	m := &Model{spec: spec, codes: make([]string, k), bias: bias, temperature: 1}
	for i, t := range types {
		m.codes[i] = t.Code
	}
	m.quantise(w)

	// Calibrate on the held-out split: raw scores and title matches once,
	// then the title bonus and temperature that minimise the log loss.
	raws := make([][]float64, len(held))
	hits := make([]layoutHits, len(held))
	ys := make([]int, len(held))
	ws := make([]float64, len(held))
	parallel(len(held), opt.Workers, func(j int) {
		i := held[j]
		raws[j] = make([]float64, k)
		m.rawScores(vecs[i], raws[j])
		hits[j] = matchRules(docs[i].Text)
		ys[j] = label(i)
		ws[j] = docs[i].weight()
	})
	rep := Report{Docs: len(docs), TrainDocs: len(train), HeldOutDocs: len(held)}
	rep.ECEBefore = ece(calibrated(raws, hits, bonuses{}, 1), ys)
	bestNLL := math.Inf(1)
	grid := []float64{0, 0.5, 1, 2, 3, 4, 6}
	for _, tb := range []float64{0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6} {
		for _, cb := range grid {
			for _, lb := range grid {
				b := bonuses{tb, cb, lb}
				t, nll := fitTemperature(raws, hits, ys, ws, b)
				if nll < bestNLL-1e-9 {
					bestNLL, m.bonus, m.temperature = nll, b, t
				}
			}
		}
	}
	probs := calibrated(raws, hits, m.bonus, m.temperature)
	rep.ECEAfter = ece(probs, ys)
	m.threshold = chooseThreshold(probs, ys, opt.TargetAccuracy, opt.MinThreshold)
	rep.Temperature, rep.TitleBonus, rep.Threshold = m.temperature, m.bonus.title, m.threshold
	rep.ConsultBonus, rep.LetterBonus = m.bonus.consult, m.bonus.letter
	preds := make([]Prediction, len(held))
	for j := range held {
		preds[j] = predictionFrom(m, probs[j], hits[j])
	}
	rep.HeldOut = evaluate(preds, ys, m.threshold)
	bySource := map[string][]int{}
	for j, i := range held {
		bySource[docs[i].Source] = append(bySource[docs[i].Source], j)
	}
	if len(bySource) > 1 {
		rep.HeldOutBySource = map[string]Evaluation{}
		for src, js := range bySource {
			ps, y := make([]Prediction, len(js)), make([]int, len(js))
			for n, j := range js {
				ps[n], y[n] = preds[j], ys[j]
			}
			rep.HeldOutBySource[src] = evaluate(ps, y, m.threshold)
		}
	}
	rep.Elapsed = time.Since(start)
	m.meta = Meta{TrainedAt: time.Now().UTC().Format(time.RFC3339), Source: opt.Source, Docs: len(docs),
		Report: Summary{Accuracy: rep.HeldOut.Accuracy, MacroF1: rep.HeldOut.MacroF1, ECEBefore: rep.ECEBefore,
			ECEAfter: rep.ECEAfter, Coverage: rep.HeldOut.Coverage}}
	return m, rep, nil
}

// quantise stores w as 8-bit weights with one scale per type.
func (m *Model) quantise(w []float32) {
	k := len(m.codes)
	m.scales = make([]float32, k)
	for i, x := range w {
		m.scales[i%k] = max(m.scales[i%k], float32(math.Abs(float64(x))))
	}
	for c := range m.scales {
		m.scales[c] /= 127
		if m.scales[c] == 0 {
			m.scales[c] = 1
		}
	}
	m.weights = make([]int8, len(w))
	for i, x := range w {
		m.weights[i] = int8(math.Round(float64(x / m.scales[i%k])))
	}
}

func featurize(spec featureSpec, docs []Labelled, workers int) []sparse {
	out := make([]sparse, len(docs))
	fs := make(chan *featurizer, workers)
	for range workers {
		fs <- newFeaturizer(spec)
	}
	parallel(len(docs), workers, func(i int) {
		f := <-fs
		out[i] = f.vector(docs[i].Text)
		fs <- f
	})
	return out
}

// parallel calls fn(0..n-1) on up to workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func calibrated(raws [][]float64, hits []layoutHits, b bonuses, temperature float64) [][]float64 {
	out := make([][]float64, len(raws))
	for j, raw := range raws {
		out[j] = make([]float64, len(raw))
		logits(raw, hits[j], b, temperature, out[j])
		softmax(out[j])
	}
	return out
}

// smoothing is the label smoothing of the calibration loss: without it a
// held-out split the model gets entirely right drives the temperature to
// zero and every probability to exactly 1, which no new document deserves.
const smoothing = 0.002

// nll is the weighted mean log loss (ws are the documents' weights).
func nll(raws [][]float64, hits []layoutHits, ys []int, ws []float64, b bonuses, temperature float64) float64 {
	z := make([]float64, len(raws[0]))
	var sum, total float64
	other := smoothing / float64(len(z)-1)
	for j, raw := range raws {
		logits(raw, hits[j], b, temperature, z)
		softmax(z)
		for c, p := range z {
			y := other
			if c == ys[j] {
				y = 1 - smoothing
			}
			sum -= ws[j] * y * math.Log(max(p, 1e-300))
		}
		total += ws[j]
	}
	return sum / total
}

// fitTemperature minimises the held-out log loss over the temperature by
// golden-section search on its logarithm.
func fitTemperature(raws [][]float64, hits []layoutHits, ys []int, ws []float64, bn bonuses) (float64, float64) {
	f := func(lt float64) float64 { return nll(raws, hits, ys, ws, bn, math.Exp(lt)) }
	lo, hi := math.Log(0.02), math.Log(50.0)
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := f(a), f(b)
	for range 60 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = f(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = f(b)
		}
	}
	t := (lo + hi) / 2
	return math.Exp(t), f(t)
}

// ece is the expected calibration error of the top probability, in 15
// equal-width bins.
func ece(probs [][]float64, ys []int) float64 {
	const bins = 15
	var conf, acc [bins]float64
	var n [bins]int
	for j, p := range probs {
		top := argmax(p)
		b := min(bins-1, int(p[top]*bins))
		conf[b] += p[top]
		if top == ys[j] {
			acc[b]++
		}
		n[b]++
	}
	var e float64
	for b := range bins {
		if n[b] > 0 {
			e += math.Abs(acc[b]-conf[b]) / float64(len(probs))
		}
	}
	return e
}

func argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// chooseThreshold returns the lowest top probability at which the
// predictions at or above it are at least target accurate, and never less
// than floor.
func chooseThreshold(probs [][]float64, ys []int, target, floor float64) float64 {
	type pc struct {
		p  float64
		ok bool
	}
	s := make([]pc, len(probs))
	for j, p := range probs {
		top := argmax(p)
		s[j] = pc{p[top], top == ys[j]}
	}
	sort.Slice(s, func(i, j int) bool { return s[i].p > s[j].p })
	threshold, right := 1.0, 0
	for i, x := range s {
		if x.ok {
			right++
		}
		// Only between distinct probabilities can a threshold separate.
		if float64(right)/float64(i+1) >= target && (i+1 == len(s) || s[i+1].p < x.p) {
			threshold = x.p
		}
	}
	return max(threshold, floor)
}

func predictionFrom(m *Model, p []float64, h layoutHits) Prediction {
	pr := Prediction{Ranked: make(chart.RankedTypes, len(p)), TitleMatched: h.title >= 0, Letter: h.letter, ConsultRequest: h.consult}
	if h.title >= 0 {
		pr.Title = m.codes[h.title]
	}
	for i, c := range m.codes {
		pr.Ranked[i] = chart.RankedType{Type: c, Probability: p[i]}
	}
	sort.SliceStable(pr.Ranked, func(i, j int) bool { return pr.Ranked[i].Probability > pr.Ranked[j].Probability })
	pr.Type, pr.Probability = pr.Ranked[0].Type, pr.Ranked[0].Probability
	pr.Review = pr.Probability < m.threshold
	return pr
}

// Evaluate classifies docs and measures the answers against their labels.
func (m *Model) Evaluate(docs []Labelled) (Evaluation, error) {
	ys := make([]int, len(docs))
	for i, d := range docs {
		if ys[i] = slices.Index(m.codes, d.Type); ys[i] < 0 {
			return Evaluation{}, fmt.Errorf("classify: document %d has unknown type %q", i, d.Type)
		}
	}
	if len(docs) == 0 {
		return Evaluation{}, errors.New("classify: no documents to evaluate")
	}
	preds := make([]Prediction, len(docs))
	parallel(len(docs), runtime.GOMAXPROCS(0), func(i int) { preds[i] = m.Predict(docs[i].Text) })
	return evaluate(preds, ys, m.threshold), nil
}

func evaluate(preds []Prediction, ys []int, threshold float64) Evaluation {
	k := len(types)
	e := Evaluation{Docs: len(preds), Confusion: make([][]int, k)}
	for i := range e.Confusion {
		e.Confusion[i] = make([]int, k)
	}
	probs := make([][]float64, len(preds))
	var right, accepted, acceptedRight, titled int
	for j, pr := range preds {
		got := typeIndex(pr.Type)
		e.Confusion[ys[j]][got]++
		ok := got == ys[j]
		if ok {
			right++
		}
		if pr.Probability >= threshold {
			accepted++
			if ok {
				acceptedRight++
			}
		}
		if pr.TitleMatched {
			titled++
		}
		probs[j] = make([]float64, k)
		for _, s := range pr.Ranked {
			probs[j][typeIndex(s.Type)] = s.Probability
		}
	}
	n := float64(len(preds))
	e.Accuracy = float64(right) / n
	e.Coverage = float64(accepted) / n
	if accepted > 0 {
		e.AcceptedAccuracy = float64(acceptedRight) / float64(accepted)
	}
	e.TitleMatched = float64(titled) / n
	e.ECE = ece(probs, ys)
	var f1s float64
	present := 0
	for c := range k {
		tp, fp, fn := e.Confusion[c][c], 0, 0
		for o := range k {
			if o != c {
				fp += e.Confusion[o][c]
				fn += e.Confusion[c][o]
			}
		}
		s := TypeScore{Type: types[c].Code, Support: tp + fn}
		if tp+fp > 0 {
			s.Precision = float64(tp) / float64(tp+fp)
		}
		if tp+fn > 0 {
			s.Recall = float64(tp) / float64(tp+fn)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		e.PerType = append(e.PerType, s)
		if s.Support > 0 {
			f1s += s.F1
			present++
		}
	}
	if present > 0 {
		e.MacroF1 = f1s / float64(present)
	}
	return e
}

// ConfusionTable renders the confusion matrix and per-type scores as text
// (type codes and counts only).
func (e Evaluation) ConfusionTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s", "true \\ predicted")
	for i := range types {
		fmt.Fprintf(&b, " %4d", i+1)
	}
	b.WriteString("    prec   rec    F1\n")
	for i, t := range types {
		fmt.Fprintf(&b, "%2d %-15s", i+1, t.Code)
		for j := range types {
			fmt.Fprintf(&b, " %4d", e.Confusion[i][j])
		}
		s := e.PerType[i]
		fmt.Fprintf(&b, "   %.3f %.3f %.3f\n", s.Precision, s.Recall, s.F1)
	}
	return b.String()
}
