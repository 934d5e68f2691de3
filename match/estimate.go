package match

import (
	"errors"
	"fmt"
)

// LabelledPair is two records whose truth (same person or not) is known: training data for
// Estimate.
type LabelledPair struct {
	A, B  Record
	Match bool
}

// EstimateOptions tune Estimate; the zero value gives the defaults.
type EstimateOptions struct {
	// Pseudocount is added to every level's count before dividing (additive smoothing); 0.5 by
	// default.
	Pseudocount float64
	// Floor is the least m or u any level gets, 1e-4 by default: no agreement is treated as
	// impossible between different people (data-entry errors happen), which bounds every weight.
	Floor float64
}

// ErrEstimate is wrapped by Estimate's errors.
var ErrEstimate = errors.New("match: cannot estimate")

// Estimate counts, for every field and agreement level, how often the labelled pairs of one
// person (m) and of different people (u) fall at that level, and returns the smoothed
// proportions. Missing comparisons are not counted. The pairs should be what the scorer will
// see in production: candidates found by blocking (see BlockingKeys), not random pairs.
// Fields the data never has (sex, middle name, phone) and the MRN's OCR and leading-zero levels
// get the stated assumptions of assumedLevels; sex, middle name and phone are veto-only. The
// prior is the share of matches among the pairs. Thresholds are left zero for the caller
// (ChooseThreshold).
func Estimate(pairs []LabelledPair, opt EstimateOptions) (Params, error) {
	if opt.Pseudocount <= 0 {
		opt.Pseudocount = 0.5
	}
	if opt.Floor <= 0 {
		opt.Floor = 1e-4
	}
	var countM, countU [numFields][numLevels]int
	matches := 0
	for _, p := range pairs {
		lv := CompareAll(p.A, p.B)
		if p.Match {
			matches++
		}
		for f, l := range lv {
			if p.Match {
				countM[f][l]++
			} else {
				countU[f][l]++
			}
		}
	}
	if matches == 0 || matches == len(pairs) {
		return Params{}, fmt.Errorf("%w: need both matching and non-matching pairs", ErrEstimate)
	}
	p := Params{
		Prior:  float64(matches) / float64(len(pairs)),
		Fields: make(map[string]FieldParams, numFields),
		Training: map[string]float64{
			"pairs": float64(len(pairs)), "matching_pairs": float64(matches),
			"pseudocount": opt.Pseudocount, "floor": opt.Floor,
		},
	}
	for f := range numFields {
		levels := FieldLevels(f)
		var nM, nU int
		for _, l := range levels {
			nM += countM[f][l]
			nU += countU[f][l]
		}
		fp := FieldParams{Source: "data", Levels: make(map[string]LevelParams, len(levels))}
		assumed := assumedLevels(f)
		if nM == 0 || nU == 0 {
			if len(assumed) != len(levels) {
				return Params{}, fmt.Errorf("%w: no compared pairs for field %s", ErrEstimate, f)
			}
			fp.Source, fp.VetoOnly = "assumed", true
		}
		k := opt.Pseudocount
		for _, l := range levels {
			m := (float64(countM[f][l]) + k) / (float64(nM) + k*float64(len(levels)))
			u := (float64(countU[f][l]) + k) / (float64(nU) + k*float64(len(levels)))
			lp := LevelParams{M: max(m, opt.Floor), U: max(u, opt.Floor), Matches: countM[f][l], NonPair: countU[f][l]}
			if a, ok := assumed[l]; ok && (fp.Source == "assumed" || countM[f][l] == 0) {
				// The data never shows this level for one person: m is the stated assumption,
				// u is counted when the data has it.
				lp.M, lp.Assumed = a.M, true
				if fp.Source == "assumed" || countU[f][l] == 0 {
					lp.U = a.U
				}
			}
			fp.Levels[l.String()] = lp
		}
		monotone(f, fp.Levels)
		p.Fields[f.String()] = fp
	}
	// The MRN levels the data cannot show: an OCR slip or dropped zeros still name the same
	// identifier, so u is that of exact agreement; m is a stated 1%.
	mrn := p.Fields[FieldMRN.String()]
	exactU := mrn.Levels[LevelExact.String()].U
	for _, l := range []Level{LevelOCR, LevelLeadingZero} {
		lp := mrn.Levels[l.String()]
		if lp.Assumed {
			lp.U = exactU
			mrn.Levels[l.String()] = lp
		}
	}
	return p, nil
}

// monotone makes a field's weights respect the order of its levels: a worse agreement never
// weighs more than a better one. Ordered chains are pooled where they are out of order (pool
// adjacent violators on m and u); the side levels (nickname, initial, OCR, ...) are capped at the
// exact level's weight. Pooled or capped levels keep m and get u raised to give the pooled ratio.
func monotone(f Field, levels map[string]LevelParams) {
	chain, side := orderedLevels(f)
	w := func(lp LevelParams) float64 { return lp.M / lp.U }
	type block struct {
		ls   []Level
		m, u float64
	}
	var blocks []block
	for _, l := range chain {
		lp := levels[l.String()]
		blocks = append(blocks, block{[]Level{l}, lp.M, lp.U})
		for len(blocks) > 1 {
			a, b := blocks[len(blocks)-2], blocks[len(blocks)-1]
			if a.m/a.u >= b.m/b.u {
				break
			}
			blocks = append(blocks[:len(blocks)-2], block{append(a.ls, b.ls...), a.m + b.m, a.u + b.u})
		}
	}
	for _, b := range blocks {
		if len(b.ls) == 1 {
			continue
		}
		for _, l := range b.ls {
			lp := levels[l.String()]
			lp.U, lp.Pooled = lp.M*b.u/b.m, true
			levels[l.String()] = lp
		}
	}
	if len(chain) == 0 {
		return
	}
	top := w(levels[chain[0].String()])
	for _, l := range side {
		lp := levels[l.String()]
		if w(lp) > top {
			lp.U, lp.Pooled = lp.M/top, true
			levels[l.String()] = lp
		}
	}
}

// orderedLevels gives a field's levels from best to worst agreement, and the levels outside that
// order, which must not outweigh exact agreement.
func orderedLevels(f Field) (chain, side []Level) {
	switch f {
	case FieldMRN:
		return []Level{LevelExact, LevelDisagree}, []Level{LevelOCR, LevelLeadingZero}
	case FieldFamily:
		return []Level{LevelExact, LevelCompound, LevelTypo, LevelSimilar, LevelDisagree}, []Level{LevelSwapped}
	case FieldGiven:
		return []Level{LevelExact, LevelTypo, LevelSimilar, LevelDisagree}, []Level{LevelNickname, LevelCompound, LevelInitial, LevelSwapped}
	case FieldBirth:
		return []Level{LevelExact, LevelOneDigit, LevelSameYearMonth, LevelDisagree}, []Level{LevelDayMonthSwapped}
	case FieldAddress:
		return []Level{LevelExact, LevelHigh, LevelMedium, LevelDisagree}, nil
	case FieldCity:
		return []Level{LevelExact, LevelTypo, LevelDisagree}, nil
	case FieldPostal:
		return []Level{LevelExact, LevelOneEdit, LevelDisagree}, nil
	}
	return FieldLevels(f), nil
}

// assumedLevels are the stated parameters of levels the training data cannot estimate.
func assumedLevels(f Field) map[Level]LevelParams {
	a := func(m, u float64) LevelParams { return LevelParams{M: m, U: u, Assumed: true} }
	switch f {
	case FieldMRN:
		return map[Level]LevelParams{LevelOCR: a(0.01, 1e-4), LevelLeadingZero: a(0.01, 1e-4)}
	case FieldFamily: // a double-barrelled name written in part: rare, and rarer by chance
		return map[Level]LevelParams{LevelCompound: a(0.01, 0.0005)}
	case FieldGiven: // nicknames on 2% of documents; an initial agreeing 95% vs 7% by chance
		return map[Level]LevelParams{LevelNickname: a(0.02, 0.0005), LevelCompound: a(0.01, 0.0005), LevelInitial: a(0.0095, 0.0007)}
	case FieldBirth: // US and European order confused on 0.5% of documents
		return map[Level]LevelParams{LevelDayMonthSwapped: a(0.005, 0.0006)}
	case FieldSex: // recorded wrongly on 3% of one person's records; half of other people agree
		return map[Level]LevelParams{LevelExact: a(0.97, 0.5), LevelDisagree: a(0.03, 0.5)}
	case FieldMiddle:
		return map[Level]LevelParams{LevelExact: a(0.7, 0.05), LevelInitial: a(0.15, 0.1), LevelDisagree: a(0.15, 0.85)}
	case FieldPhone: // phone numbers change: a different number is weak evidence
		return map[Level]LevelParams{LevelExact: a(0.6, 0.001), LevelLast7: a(0.1, 0.0005), LevelDisagree: a(0.3, 0.9985)}
	}
	return nil
}

// BlockingKeys returns the keys under which a record is filed for candidate search: two records
// are compared when they share a key. The keys use only what documents carry (identifier, names,
// birth date), so the same search serves documents and index records:
//
//	m:<the MRN's chart.MRN.Key: OCR-confusable characters as digits, leading zeros dropped>
//	b:<birth date YYYYMMDD>
//	fy:<Soundex of family name><birth year>
//	fg:<Soundex of family name><Soundex of first given name>
//	gm:<Soundex of first given name><birth year and month>   (family name changed)
//
// In PostgreSQL the same candidates come from indexes on MRN, birth date and
// soundex()/dmetaphone() of the names (fuzzystrmatch).
func BlockingKeys(r Record) []string {
	var keys []string
	if k := r.MRN.Key(); k != "" {
		keys = append(keys, "m:"+k)
	}
	fam, giv := Soundex(squash(NormalizeName(r.Family))), Soundex(firstWord(NormalizeName(r.Given)))
	if !r.Birth.IsZero() {
		d := r.Birth.Digits()
		keys = append(keys, "b:"+string(d[:]))
		if fam != "" {
			keys = append(keys, "fy:"+fam+string(d[:4]))
		}
		if giv != "" {
			keys = append(keys, "gm:"+giv+string(d[:6]))
		}
	}
	if fam != "" && giv != "" {
		keys = append(keys, "fg:"+fam+giv)
	}
	return keys
}
