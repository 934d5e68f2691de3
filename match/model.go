package match

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
)

// Params are a model's parameters as stored in params.json: for each field and agreement level
// m = P(level | same person) and u = P(level | different people), the prior, and the auto-file
// thresholds. Estimate produces them from labelled pairs.
type Params struct {
	GeneratedBy string                 `json:"generated_by"`
	Prior       float64                `json:"prior"` // P(same person) for a candidate pair before comparing fields
	Fields      map[string]FieldParams `json:"fields"`
	Thresholds  Thresholds             `json:"thresholds"`
	Training    map[string]float64     `json:"training,omitempty"` // figures of the estimation run, for the record
}

// FieldParams are one field's level parameters.
type FieldParams struct {
	// Source is "data" when m and u were estimated from labelled pairs, "assumed" when they are
	// stated assumptions (the training data lacks the field).
	Source string `json:"source"`
	// VetoOnly fields can lower a score but never raise it: their positive weights are dropped,
	// because the thresholds were not validated with them.
	VetoOnly bool                   `json:"veto_only,omitempty"`
	Levels   map[string]LevelParams `json:"levels"`
}

// LevelParams are one agreement level's probabilities and the counts they came from.
type LevelParams struct {
	M       float64 `json:"m"`
	U       float64 `json:"u"`
	Matches int     `json:"matches,omitempty"`     // training pairs of one person at this level
	NonPair int     `json:"non_matches,omitempty"` // training pairs of different people at this level
	Assumed bool    `json:"assumed,omitempty"`     // m (and u when never counted) set by assumption
	Pooled  bool    `json:"pooled,omitempty"`      // u raised so the level does not outweigh a better one
}

// Thresholds are the auto-file rule's limits, on the total weight in bits (log2 of the
// likelihood ratio), chosen on training data for TargetPrecision.
type Thresholds struct {
	TargetPrecision float64 `json:"target_precision"`
	// Full applies when the address (street, city or postal code) was compared; DocumentView when
	// only identifiers, names, birth date and sex were.
	Full         float64 `json:"full"`
	DocumentView float64 `json:"document_view"`
	// Margin is the least weight, in bits, by which the best candidate must beat the runner-up.
	Margin float64 `json:"margin"`
}

// View says which fields a comparison rested on, and so which threshold applies.
type View uint8

const (
	// ViewDocument: identifiers, names, birth date, sex — what a scanned document carries.
	ViewDocument View = iota
	// ViewFull: the address was compared as well.
	ViewFull
)

func (v View) String() string {
	if v == ViewFull {
		return "full"
	}
	return "document"
}

// Model scores and decides with one set of parameters. It is immutable and safe for concurrent
// use.
type Model struct {
	params   Params
	weight   [numFields][numLevels]float64
	vetoOnly [numFields]bool
	logOdds  float64 // log2(prior / (1-prior))
}

//go:embed params.json
var paramsJSON []byte

// defaultModel is built once from the read-only embedded parameters.
var defaultModel = sync.OnceValues(func() (*Model, error) {
	var p Params
	if err := json.Unmarshal(paramsJSON, &p); err != nil {
		return nil, fmt.Errorf("match: embedded params.json: %w", err)
	}
	return NewModel(p)
})

// DefaultModel returns the model built from the parameters shipped in the package (params.json,
// estimated on Febrl datasets 1 and 2; see the package documentation). It panics if the embedded
// file is invalid, which the package's tests rule out.
func DefaultModel() *Model {
	m, err := defaultModel()
	if err != nil {
		panic(err)
	}
	return m
}

// ErrParams is wrapped by NewModel's errors.
var ErrParams = errors.New("match: invalid parameters")

// NewModel checks p and builds a model from it. Every field of the package needs parameters for
// every one of its levels.
func NewModel(p Params) (*Model, error) {
	if !(p.Prior > 0 && p.Prior < 1) {
		return nil, fmt.Errorf("%w: prior must be in (0, 1)", ErrParams)
	}
	if !(p.Thresholds.TargetPrecision > 0 && p.Thresholds.TargetPrecision < 1) {
		return nil, fmt.Errorf("%w: target precision must be in (0, 1)", ErrParams)
	}
	m := &Model{params: p, logOdds: math.Log2(p.Prior / (1 - p.Prior))}
	for name := range p.Fields {
		if _, ok := parseField(name); !ok {
			return nil, fmt.Errorf("%w: unknown field %q", ErrParams, name)
		}
	}
	for f := range numFields {
		fp, ok := p.Fields[f.String()]
		if !ok {
			return nil, fmt.Errorf("%w: no parameters for field %s", ErrParams, f)
		}
		m.vetoOnly[f] = fp.VetoOnly
		for name := range fp.Levels {
			if _, ok := parseLevel(name); !ok {
				return nil, fmt.Errorf("%w: field %s: unknown level %q", ErrParams, f, name)
			}
		}
		for _, l := range FieldLevels(f) {
			lp, ok := fp.Levels[l.String()]
			if !ok {
				return nil, fmt.Errorf("%w: field %s: no level %s", ErrParams, f, l)
			}
			if !(lp.M > 0 && lp.M <= 1 && lp.U > 0 && lp.U <= 1) {
				return nil, fmt.Errorf("%w: field %s level %s: m and u must be in (0, 1]", ErrParams, f, l)
			}
			m.weight[f][l] = math.Log2(lp.M / lp.U)
		}
	}
	return m, nil
}

// Params returns a copy of the model's parameters (maps shared: do not modify them).
func (m *Model) Params() Params { return m.params }

// Thresholds returns the model's auto-file thresholds.
func (m *Model) Thresholds() Thresholds { return m.params.Thresholds }

// Weight returns the weight in bits, log2(m/u), of a field at a level; 0 for LevelMissing and for
// levels the field does not use.
func (m *Model) Weight(f Field, l Level) float64 {
	if f >= numFields || l >= numLevels {
		return 0
	}
	return m.weight[f][l]
}

// FieldResult is one field's comparison.
type FieldResult struct {
	Field  Field
	Level  Level
	Weight float64 // bits; 0 when missing; never positive for veto-only fields
	Agrees bool    // the level is evidence for the same person (positive weight)
	// Note holds the two values for a nickname match ("bill / william"), for the reasons shown to
	// technicians. It is patient data: never log it.
	Note string
}

// Result is the comparison of two records. Fields holds patient-derived detail (Note); log a
// Result only through its String or LogValue methods, which leave that out.
type Result struct {
	Weight      float64 // sum of the field weights, bits (log2 likelihood ratio)
	Probability float64 // posterior P(same person) with the model's prior
	Fields      []FieldResult
	View        View
}

// Score compares two records with the default model.
func Score(a, b Record) Result { return DefaultModel().Score(a, b) }

// Score compares two records field by field and sums the Fellegi–Sunter weights. Missing fields
// weigh 0; veto-only fields (sex, middle name, phone) count only when they disagree.
func (m *Model) Score(a, b Record) Result {
	levels := CompareAll(a, b)
	r := Result{Fields: make([]FieldResult, 0, numFields)}
	for f, l := range levels {
		w := m.weight[f][l]
		if m.vetoOnly[f] && w > 0 {
			w = 0
		}
		fr := FieldResult{Field: Field(f), Level: l, Weight: w, Agrees: w > 0}
		if Field(f) == FieldGiven && l == LevelNickname {
			fr.Note = NormalizeName(a.Given) + " / " + NormalizeName(b.Given)
		}
		r.Weight += w
		r.Fields = append(r.Fields, fr)
		if l != LevelMissing && (Field(f) == FieldAddress || Field(f) == FieldCity || Field(f) == FieldPostal) {
			r.View = ViewFull
		}
	}
	r.Probability = m.Posterior(r.Weight)
	return r
}

// CompareAll runs every field's comparator on two records.
func CompareAll(a, b Record) [numFields]Level {
	fam, giv := CompareNames(a.Family, a.Given, b.Family, b.Given)
	return [numFields]Level{
		FieldMRN:     CompareMRN(a.MRN, b.MRN),
		FieldFamily:  fam,
		FieldGiven:   giv,
		FieldMiddle:  CompareMiddle(a.Middle, b.Middle),
		FieldBirth:   CompareBirth(a.Birth, b.Birth),
		FieldSex:     CompareSex(a.Sex, b.Sex),
		FieldAddress: CompareAddress(a.Address, b.Address),
		FieldCity:    CompareCity(a.City, b.City),
		FieldPostal:  ComparePostal(a.Postal, b.Postal),
		FieldPhone:   ComparePhone(a.Phone, b.Phone),
	}
}

// Posterior turns a total weight into P(same person) with the model's prior:
// odds = prior/(1-prior) · 2^weight.
func (m *Model) Posterior(weight float64) float64 {
	return 1 / (1 + math.Exp2(-(m.logOdds + weight)))
}

// Field returns the result for one field.
func (r Result) Field(f Field) FieldResult {
	for _, fr := range r.Fields {
		if fr.Field == f {
			return fr
		}
	}
	return FieldResult{Field: f}
}

// String describes the result without patient data: weight, probability and each field's level.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "weight=%.2f p=%.6f view=%s", r.Weight, r.Probability, r.View)
	for _, fr := range r.Fields {
		if fr.Level != LevelMissing {
			fmt.Fprintf(&b, " %s=%s", fr.Field, fr.Level)
		}
	}
	return b.String()
}

// GoString is String: %#v must not print the notes either.
func (r Result) GoString() string { return r.String() }

// LogValue logs weight, probability and levels, never the notes.
func (r Result) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Float64("weight", r.Weight), slog.Float64("probability", r.Probability), slog.String("view", r.View.String())}
	for _, fr := range r.Fields {
		if fr.Level != LevelMissing {
			attrs = append(attrs, slog.String(fr.Field.String(), fr.Level.String()))
		}
	}
	return slog.GroupValue(attrs...)
}
