package match

import (
	"fmt"
	"log/slog"
	"sort"
)

// Ranked is one candidate in a Decision, best first.
type Ranked struct {
	Index  int // position in the slice given to Decide
	Result Result
}

// Decision ranks the candidates for one document and says whether the best is sure enough to file
// automatically. Reasons are plain words for the technician reviewing the document; they may name
// the patient's names (nicknames) and describe the patient's data, so they are patient data:
// show them in the review UI, never log them (String and LogValue leave them out).
type Decision struct {
	Ranked []Ranked // every candidate, best first (ties keep input order)
	// Margin is the best candidate's weight minus the runner-up's, in bits (0 when there is no
	// runner-up: see RunnerUp).
	Margin float64
	// ProbabilityMargin is the best candidate's probability minus the runner-up's (or the best
	// probability when alone).
	ProbabilityMargin float64
	RunnerUp          bool    // there was more than one candidate
	View              View    // which fields the best comparison rested on
	Threshold         float64 // the weight the best candidate needed (bits)
	AutoFile          bool
	Reasons           []string
}

// Best returns the best candidate and true, or false when there was none.
func (d Decision) Best() (Ranked, bool) {
	if len(d.Ranked) == 0 {
		return Ranked{}, false
	}
	return d.Ranked[0], true
}

// Decide ranks candidates with the default model; see Model.Decide.
func Decide(candidates []Result) Decision { return DefaultModel().Decide(candidates) }

// Decide ranks the candidates (each the Score of the document's identifiers against one patient)
// by weight and applies the auto-file rule: the best candidate is filed automatically only when
//
//  1. its weight reaches the threshold of its view (Thresholds.Full when the address was compared,
//     Thresholds.DocumentView otherwise),
//  2. it beats the runner-up, if any, by at least Thresholds.Margin bits, and
//  3. two identifiers agree — two of: the MRN (exact, OCR slip or leading zeros), the name
//     (family and given names both agree at some level, or are swapped), the birth date (exact or
//     day and month swapped) — the two-identifier rule of patient identification, and
//  4. the birth date, when both records have one, does not disagree.
//
// Otherwise the document goes to review with the ranking and the reasons.
func (m *Model) Decide(candidates []Result) Decision {
	d := Decision{Ranked: make([]Ranked, len(candidates))}
	for i, c := range candidates {
		d.Ranked[i] = Ranked{Index: i, Result: c}
	}
	sort.SliceStable(d.Ranked, func(i, j int) bool { return d.Ranked[i].Result.Weight > d.Ranked[j].Result.Weight })
	if len(d.Ranked) == 0 {
		d.Reasons = []string{"no candidate patient found"}
		return d
	}
	top := d.Ranked[0].Result
	th := m.params.Thresholds
	d.View = top.View
	d.Threshold = th.DocumentView
	if top.View == ViewFull {
		d.Threshold = th.Full
	}
	d.ProbabilityMargin = top.Probability
	if len(d.Ranked) > 1 {
		d.RunnerUp = true
		d.Margin = top.Weight - d.Ranked[1].Result.Weight
		d.ProbabilityMargin = top.Probability - d.Ranked[1].Result.Probability
	}
	var why []string
	gateOK, gateWhy := Eligible(top)
	switch {
	case !gateOK:
		why = append(why, "not filed automatically: "+gateWhy)
	case top.Weight < d.Threshold:
		why = append(why, fmt.Sprintf("not filed automatically: match probability %.4f is below what automatic filing needs", top.Probability))
	case d.RunnerUp && d.Margin < th.Margin:
		why = append(why, fmt.Sprintf("not filed automatically: the next candidate scores almost as well (%.1f bits apart, %.1f needed)", d.Margin, th.Margin))
	default:
		d.AutoFile = true
		why = append(why, fmt.Sprintf("filed automatically: match probability %.4f", top.Probability))
	}
	d.Reasons = append(why, FieldReasons(top)...)
	return d
}

// Eligible applies the rules of identification that no weight overrides: two identifiers
// agree among MRN, full name and birth date, and the birth date, when both records have one,
// does not disagree. It says why not in plain words (no patient data). Only an eligible result
// may be filed automatically, so the thresholds are measured on eligible pairs.
func Eligible(r Result) (bool, string) {
	switch {
	case identifiersAgreeing(r) < 2:
		return false, "fewer than two identifiers (MRN, name, birth date) agree"
	case r.Field(FieldBirth).Level == LevelDisagree:
		return false, "the birth date differs"
	}
	return true, ""
}

// Agreeing counts the identifiers of a result that agree, among MRN, full name and birth date:
// Eligible asks for two.
func Agreeing(r Result) int { return identifiersAgreeing(r) }

// identifiersAgreeing counts the agreeing identifiers among MRN, full name and birth date.
func identifiersAgreeing(r Result) int {
	n := 0
	switch r.Field(FieldMRN).Level {
	case LevelExact, LevelOCR, LevelLeadingZero:
		n++
	}
	fam, giv := r.Field(FieldFamily), r.Field(FieldGiven)
	if fam.Level == LevelSwapped || (fam.Agrees && giv.Agrees) {
		n++
	}
	switch r.Field(FieldBirth).Level {
	case LevelExact, LevelDayMonthSwapped:
		n++
	}
	return n
}

// FieldReasons describes in plain words how each compared field of a result agreed, strongest
// evidence first. The words are for technicians; they may contain names: never log them.
func FieldReasons(r Result) []string {
	frs := append([]FieldResult(nil), r.Fields...)
	sort.SliceStable(frs, func(i, j int) bool { return abs64(frs[i].Weight) > abs64(frs[j].Weight) })
	var out []string
	for _, fr := range frs {
		if s := reason(fr); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func reason(fr FieldResult) string {
	l := fr.Level
	if l == LevelMissing {
		return ""
	}
	switch fr.Field {
	case FieldMRN:
		switch l {
		case LevelExact:
			return "MRN agrees"
		case LevelOCR:
			return "MRN agrees but for one character that scanning often misreads (O/0, I/1, S/5, B/8, Z/2)"
		case LevelLeadingZero:
			return "MRN agrees but for leading zeros"
		}
		return "MRN differs"
	case FieldFamily, FieldGiven, FieldMiddle:
		name := map[Field]string{FieldFamily: "family name", FieldGiven: "given name", FieldMiddle: "middle name"}[fr.Field]
		switch l {
		case LevelExact:
			return name + " agrees"
		case LevelNickname:
			if fr.Note != "" {
				return name + " is a nickname of the other (" + fr.Note + ")"
			}
			return name + " is a nickname of the other"
		case LevelCompound:
			return name + " is part of the other's compound name"
		case LevelTypo:
			return name + " similar (typo)"
		case LevelSimilar:
			return name + " somewhat similar"
		case LevelInitial:
			return name + " agrees with an initial"
		case LevelSwapped:
			return name + " agrees with the other record's " + map[Field]string{FieldFamily: "given name", FieldGiven: "family name"}[fr.Field] + " (names swapped)"
		}
		return name + " differs"
	case FieldBirth:
		switch l {
		case LevelExact:
			return "birth date agrees"
		case LevelDayMonthSwapped:
			return "birth date agrees with day and month swapped"
		case LevelOneDigit:
			return "birth date differs by one digit or two swapped digits"
		case LevelSameYearMonth:
			return "birth date has the same year and month, another day"
		}
		return "birth date differs"
	case FieldSex:
		if l == LevelExact {
			return "sex agrees"
		}
		return "sex differs"
	case FieldAddress:
		switch l {
		case LevelExact:
			return "address agrees"
		case LevelHigh:
			return "address mostly agrees"
		case LevelMedium:
			return "address partly agrees"
		}
		return "address differs"
	case FieldCity:
		switch l {
		case LevelExact:
			return "city agrees"
		case LevelTypo:
			return "city similar (typo)"
		}
		return "city differs"
	case FieldPostal:
		switch l {
		case LevelExact:
			return "postal code agrees"
		case LevelOneEdit:
			return "postal code differs by one character"
		}
		return "postal code differs"
	case FieldPhone:
		switch l {
		case LevelExact:
			return "phone number agrees"
		case LevelLast7:
			return "phone number agrees but for the area code"
		}
		return "phone number differs"
	}
	return ""
}

// String describes the decision without patient data (no reasons, no notes).
func (d Decision) String() string {
	s := fmt.Sprintf("autofile=%t candidates=%d view=%s threshold=%.2f margin=%.2f", d.AutoFile, len(d.Ranked), d.View, d.Threshold, d.Margin)
	if len(d.Ranked) > 0 {
		s += " best={" + d.Ranked[0].Result.String() + "}"
	}
	return s
}

// GoString is String: %#v must not print the reasons either.
func (d Decision) GoString() string { return d.String() }

// LogValue logs the decision without reasons or notes.
func (d Decision) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Bool("autofile", d.AutoFile), slog.Int("candidates", len(d.Ranked)),
		slog.String("view", d.View.String()), slog.Float64("margin", d.Margin),
	}
	if len(d.Ranked) > 0 {
		attrs = append(attrs, slog.Any("best", d.Ranked[0].Result))
	}
	return slog.GroupValue(attrs...)
}
