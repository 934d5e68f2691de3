package classify

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"paperchart/chart"
	"slices"
	"sync"
)

// formatName and formatVersion identify the saved model format. Bump
// formatVersion whenever the meaning of a saved model changes.
const (
	formatName    = "paperchart-classify-model"
	formatVersion = 2
)

// DefaultBuckets is the number of hash buckets features fall into.
const DefaultBuckets = 1 << 18

// Model is a trained classifier. It is safe for concurrent use.
type Model struct {
	spec        featureSpec
	codes       []string  // type codes, in weight order
	weights     []int8    // bucket-major: weights[b*K+k]
	scales      []float32 // per type: weight = int8 * scale
	bias        []float32
	temperature float64
	bonus       bonuses
	threshold   float64
	meta        Meta
	pool        sync.Pool // *featurizer
}

// Meta says how a model was made.
type Meta struct {
	TrainedAt string  `json:"trained_at"`
	Source    string  `json:"source"` // for example "scangen.NoisyCorpus seed 1, 400 per type, noise 0.03"
	Docs      int     `json:"docs"`
	Report    Summary `json:"report"`
}

// Summary is the part of a training Report kept in the model.
type Summary struct {
	Accuracy  float64 `json:"held_out_accuracy"`
	MacroF1   float64 `json:"held_out_macro_f1"`
	ECEBefore float64 `json:"ece_before"`
	ECEAfter  float64 `json:"ece_after"`
	Coverage  float64 `json:"share_above_threshold"`
}

// Prediction is what the classifier says about one document.
type Prediction struct {
	Type         string            `json:"type"`        // the most probable type's code
	Probability  float64           `json:"probability"` // calibrated: of predictions at 0.9, about 90% are right
	Ranked       chart.RankedTypes `json:"ranked"`      // every type, most probable first
	TitleMatched bool              `json:"title_matched"`
	Title        string            `json:"title_type,omitempty"` // the type the title rule found, if any
	// Letter and ConsultRequest say which layout rule (rules.go) matched.
	Letter         bool `json:"letter,omitempty"`
	ConsultRequest bool `json:"consult_request,omitempty"`
	// Review is true when Probability is under the model's threshold: a
	// person must decide the type.
	Review bool `json:"review"`
}

// Threshold is the probability under which a prediction goes to review.
func (m *Model) Threshold() float64 { return m.threshold }

// Meta says how the model was made.
func (m *Model) Meta() Meta { return m.meta }

// Types returns the type codes the model knows, in its order.
func (m *Model) Types() []string { return slices.Clone(m.codes) }

func (m *Model) featurizer() *featurizer {
	if f, ok := m.pool.Get().(*featurizer); ok {
		return f
	}
	return newFeaturizer(m.spec)
}

// rawScores are the uncalibrated class scores of a feature vector.
func (m *Model) rawScores(v sparse, out []float64) {
	k := len(m.codes)
	acc := make([]float32, k)
	for i, b := range v.idx {
		x := v.val[i]
		row := m.weights[int(b)*k : int(b)*k+k]
		for c, w := range row {
			acc[c] += x * float32(w)
		}
	}
	for c := range out {
		out[c] = float64(acc[c]*m.scales[c] + m.bias[c])
	}
}

// logits are the calibrated log-odds: raw scores plus the rules' bonuses,
// divided by the temperature.
func logits(raw []float64, h layoutHits, b bonuses, temperature float64, out []float64) {
	copy(out, raw)
	if h.title >= 0 {
		out[h.title] += b.title
	}
	if h.consult {
		out[consultIndex] += b.consult
	}
	if h.letter {
		for _, i := range letterIndex {
			out[i] += b.letter
		}
	}
	for c := range out {
		out[c] /= temperature
	}
}

func softmax(z []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range z {
		z[i] = math.Exp(v - mx)
		sum += z[i]
	}
	for i := range z {
		z[i] /= sum
	}
}

// Predict classifies the text of a document (its pages' OCR text, in
// order, joined by newlines).
func (m *Model) Predict(text string) Prediction {
	f := m.featurizer()
	v := f.vector(text)
	m.pool.Put(f)
	raw := make([]float64, len(m.codes))
	m.rawScores(v, raw)
	h := matchRules(text)
	p := make([]float64, len(raw))
	logits(raw, h, m.bonus, m.temperature, p)
	softmax(p)
	return predictionFrom(m, p, h)
}

// savedModel is the JSON form of a Model.
type savedModel struct {
	Format       string      `json:"format"`
	Version      int         `json:"version"`
	Types        []string    `json:"types"`
	Features     featureSpec `json:"features"`
	Temperature  float64     `json:"temperature"`
	TitleBonus   float64     `json:"title_bonus"`
	ConsultBonus float64     `json:"consult_bonus"`
	LetterBonus  float64     `json:"letter_bonus"`
	Threshold    float64     `json:"threshold"`
	Scales       []float32   `json:"scales"`
	Bias         []float32   `json:"bias"`
	Weights      string      `json:"weights"` // base64 of int8, bucket-major
	Meta         Meta        `json:"meta"`
}

// Save writes the model as JSON to w.
func (m *Model) Save(w io.Writer) error {
	b := make([]byte, len(m.weights))
	for i, x := range m.weights {
		b[i] = byte(x)
	}
	s := savedModel{Format: formatName, Version: formatVersion, Types: m.codes, Features: m.spec,
		Temperature: m.temperature, TitleBonus: m.bonus.title, ConsultBonus: m.bonus.consult, LetterBonus: m.bonus.letter, Threshold: m.threshold,
		Scales: m.scales, Bias: m.bias, Weights: base64.StdEncoding.EncodeToString(b), Meta: m.meta}
	if err := json.NewEncoder(w).Encode(s); err != nil {
		return fmt.Errorf("classify: save model: %w", err)
	}
	return nil
}

// SaveGzip writes the model as gzip-compressed JSON to w.
func (m *Model) SaveGzip(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("classify: save model: %w", err)
	}
	if err := m.Save(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("classify: save model: %w", err)
	}
	return nil
}

// ErrIncompatible is wrapped by Load's error when a model was made by
// another version of this package (other format, types or features).
var ErrIncompatible = errors.New("model does not match this version of paperchart; retrain it with: paperchart classify train")

// Load reads a model written by Save or SaveGzip (gzip is detected). It
// refuses, wrapping ErrIncompatible, a model whose format version, type
// list or feature settings differ from this build's.
func Load(r io.Reader) (*Model, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("classify: load model: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	var s savedModel
	if err := json.NewDecoder(src).Decode(&s); err != nil {
		return nil, fmt.Errorf("classify: load model: %w", err)
	}
	if s.Format != formatName {
		return nil, fmt.Errorf("classify: load model: format %q is not %q: %w", s.Format, formatName, ErrIncompatible)
	}
	if s.Version != formatVersion {
		return nil, fmt.Errorf("classify: load model: format version %d, this build reads version %d: %w", s.Version, formatVersion, ErrIncompatible)
	}
	want := make([]string, len(types))
	for i, t := range types {
		want[i] = t.Code
	}
	if !slices.Equal(s.Types, want) {
		return nil, fmt.Errorf("classify: load model: its types %v differ from this build's %v: %w", s.Types, want, ErrIncompatible)
	}
	if spec := newSpec(s.Features.Buckets, s.Features.StructureWeight); s.Features != spec || s.Features.Buckets <= 0 ||
		s.Features.Buckets&(s.Features.Buckets-1) != 0 || s.Features.StructureWeight < 0 || s.Features.StructureWeight > maxStructureWeight {
		return nil, fmt.Errorf("classify: load model: feature settings %+v differ from this build's %+v: %w", s.Features, spec, ErrIncompatible)
	}
	k := len(want)
	b, err := base64.StdEncoding.DecodeString(s.Weights)
	if err != nil {
		return nil, fmt.Errorf("classify: load model: weights: %w", err)
	}
	if len(b) != s.Features.Buckets*k || len(s.Scales) != k || len(s.Bias) != k {
		return nil, fmt.Errorf("classify: load model: %d weights, %d scales, %d biases for %d buckets and %d types: corrupt model",
			len(b), len(s.Scales), len(s.Bias), s.Features.Buckets, k)
	}
	if !(s.Temperature > 0) || s.Threshold < 0 || s.Threshold > 1 {
		return nil, fmt.Errorf("classify: load model: temperature %g, threshold %g out of range: corrupt model", s.Temperature, s.Threshold)
	}
	m := &Model{spec: s.Features, codes: s.Types, weights: make([]int8, len(b)), scales: s.Scales, bias: s.Bias,
		temperature: s.Temperature, bonus: bonuses{s.TitleBonus, s.ConsultBonus, s.LetterBonus}, threshold: s.Threshold, meta: s.Meta}
	for i, x := range b {
		m.weights[i] = int8(x)
	}
	return m, nil
}

//go:embed model/default.json.gz
var defaultModel []byte

// Default loads the shipped model, trained from the project's generated
// corpus and the real text in realtext/train (see the package doc). Each call loads it anew (about a tenth of a second): load it once
// and keep it. An error means the shipped file does not match this build,
// which the package's tests catch before a release does.
func Default() (*Model, error) {
	m, err := Load(bytes.NewReader(defaultModel))
	if err != nil {
		return nil, fmt.Errorf("classify: the shipped default model (classify/model/default.json.gz): %w", err)
	}
	return m, nil
}
