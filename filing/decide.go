package filing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"paperchart/classify"
	"paperchart/extract"
	"paperchart/match"
	"paperchart/patients"
	"paperchart/separate"
	"paperchart/storage"
)

// Candidate is one patient proposed for a document, as stored with it and
// shown in the review queue. Reasons hold patient data (nicknames): show
// them to people, never log them.
type Candidate struct {
	PatientID   int64    `json:"patient_id"`
	Probability float64  `json:"probability"` // P(same person), from the match model
	Weight      float64  `json:"weight"`      // evidence in bits
	Reasons     []string `json:"reasons"`     // which fields agreed, in plain words
	FoundBy     []string `json:"found_by"`    // how the index found it: mrn, birth_date, family_similar, ...
}

// Identifiers is what was read on a document's pages: patient data.
type Identifiers struct {
	MRN         string   `json:"mrn,omitempty"`
	OtherMRNs   []string `json:"other_mrns,omitempty"`
	LabelMRNs   []string `json:"label_mrns,omitempty"` // from patient-label barcodes
	CoverMRN    string   `json:"cover_mrn,omitempty"`  // from the cover sheet
	Family      string   `json:"family,omitempty"`
	Given       string   `json:"given,omitempty"`
	Middle      string   `json:"middle,omitempty"`
	BirthDate   string   `json:"birth_date,omitempty"`
	ServiceDate string   `json:"service_date,omitempty"`
	Facility    string   `json:"facility,omitempty"`
}

// mrnConfidence is the confidence an extracted MRN needs to count; weaker
// ones are too likely to be another number.
const mrnConfidence = 0.5

// decide makes the type and patient decisions for one separated document
// and says whether it files itself.
func (f *Filer) decide(ctx context.Context, part separate.Document, texts, labels []string) (storage.NewDocument, error) {
	d := storage.NewDocument{
		Pages:           part.Pages,
		SeparatedBy:     part.By,
		SplitConfidence: part.Confidence,
		SplitReview:     part.Review,
		SplitReasons:    part.Reasons,
	}
	var reasons []string
	if part.Review {
		reasons = append(reasons, "where this document starts or ends is not certain")
	}

	// Type: a cover sheet's, else the classifier's.
	var coverType classify.Type
	if part.Cover != nil && part.Cover.Type != "" {
		coverType, _ = lookupType(part.Cover.Type)
	}
	pred := f.cls.Predict(strings.Join(texts, "\n\n"))
	d.TypeRanked = pred.Ranked
	switch {
	case coverType.Code != "":
		d.TypeSuggested, d.TypeConfidence = coverType.Code, 1
	case part.Cover != nil && part.Cover.Type != "":
		d.TypeSuggested, d.TypeConfidence, d.TypeReview = pred.Type, pred.Probability, true
		reasons = append(reasons, "the cover sheet names a document type paperchart does not know")
	default:
		d.TypeSuggested, d.TypeConfidence, d.TypeReview = pred.Type, pred.Probability, pred.Review
		if pred.Review {
			reasons = append(reasons, fmt.Sprintf("document type uncertain (%.0f%% sure)", 100*pred.Probability))
		}
	}
	if t, ok := classify.Lookup(d.TypeSuggested); ok {
		d.Type, d.LOINC, d.Title = t.Code, t.LOINC, t.Name
	}

	// Identifiers read on the pages.
	found := f.ext.Document(texts)
	ids := identifiers(found, labels)
	if len(found.ServiceDates) > 0 {
		sd := found.ServiceDates[0]
		t := time.Date(sd.Year, time.Month(sd.Month), sd.Day, 0, 0, 0, 0, time.UTC)
		d.ServiceDate = &t
	}
	d.Facility = found.Facility

	// Patient: a cover sheet's MRN, else a search of the index.
	var pr patientDecision
	var err error
	if part.Cover != nil {
		ids.CoverMRN = part.Cover.MRN
		pr, err = f.coverPatient(ctx, part, ids)
	} else {
		pr, err = f.matchPatient(ctx, ids)
	}
	if err != nil {
		return d, err
	}
	d.Identifiers = ids
	d.Candidates = pr.candidates
	if pr.candidates == nil {
		d.Candidates = []Candidate{} // [] rather than null in the row
	}
	d.PatientConfidence = pr.confidence
	d.PatientReview = !pr.sure
	if len(pr.candidates) > 0 {
		best := pr.candidates[0].PatientID
		d.PatientSuggested = &best
	}
	if !pr.sure {
		reasons = append(reasons, pr.why...)
	}

	d.ReviewReasons = reasons
	if !d.SplitReview && !d.TypeReview && pr.sure && d.Type != "" {
		d.State = storage.DocFiled
		id := pr.candidates[0].PatientID
		d.PatientID = &id
	} else {
		d.State = storage.DocReview
	}
	return d, nil
}

// lookupType finds a type by its code or its LOINC code, as a cover sheet
// may carry either.
func lookupType(s string) (classify.Type, bool) {
	if t, ok := classify.Lookup(s); ok {
		return t, true
	}
	for _, t := range classify.Types() {
		if t.LOINC == s {
			return t, true
		}
	}
	return classify.Type{}, false
}

// identifiers picks the best of each identifier read on a document.
func identifiers(found extract.Found, labels []string) Identifiers {
	var ids Identifiers
	for _, m := range found.MRNs {
		if m.Confidence < mrnConfidence {
			continue
		}
		if ids.MRN == "" {
			ids.MRN = m.Value
		} else if m.Value != ids.MRN && !contains(ids.OtherMRNs, m.Value) {
			ids.OtherMRNs = append(ids.OtherMRNs, m.Value)
		}
	}
	for _, l := range labels {
		if !contains(ids.LabelMRNs, l) {
			ids.LabelMRNs = append(ids.LabelMRNs, l)
		}
	}
	if len(found.Names) > 0 {
		n := found.Names[0]
		ids.Family, ids.Given, ids.Middle = n.Family, n.Given, n.Middle
	}
	if len(found.BirthDates) > 0 {
		ids.BirthDate = found.BirthDates[0].ISO()
	}
	if len(found.ServiceDates) > 0 {
		ids.ServiceDate = found.ServiceDates[0].ISO()
	}
	ids.Facility = found.Facility
	return ids
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// record is the document's side of a comparison.
func (ids Identifiers) record() match.Record {
	r := match.Record{MRN: ids.MRN, Family: ids.Family, Given: ids.Given, Middle: ids.Middle}
	if len(ids.LabelMRNs) > 0 {
		// A label barcode is read without OCR errors.
		r.MRN = ids.LabelMRNs[0]
	}
	if ids.BirthDate != "" {
		if d, err := match.ParseDate(ids.BirthDate); err == nil {
			r.Birth = d
		}
	}
	return r
}

func patientRecord(p patients.Patient) match.Record {
	r := match.Record{MRN: p.MRN, Family: p.Family, Given: p.Given, Sex: p.Sex,
		Address: p.Address, City: p.City, Postal: p.PostalCode, Phone: p.Phone}
	if !p.BirthDate.IsZero() {
		r.Birth = match.Date{Year: p.BirthDate.Year, Month: int(p.BirthDate.Month), Day: p.BirthDate.Day}
	}
	return r
}

// patientDecision is the outcome of the patient decision.
type patientDecision struct {
	candidates []Candidate // best first
	confidence float64
	sure       bool
	why        []string // plain words, when not sure
}

// conflicts lists the reasons the pages' own identifiers make a document
// ambiguous, whoever it is matched to.
func (ids Identifiers) conflicts() []string {
	var out []string
	mrns := append([]string{}, ids.LabelMRNs...)
	if ids.MRN != "" {
		mrns = append(mrns, ids.MRN)
	}
	mrns = append(mrns, ids.OtherMRNs...)
	for i := range mrns {
		for j := i + 1; j < len(mrns); j++ {
			if match.CompareMRN(mrns[i], mrns[j]) == match.LevelDisagree {
				return append(out, "the pages carry more than one MRN")
			}
		}
	}
	return out
}

// matchPatient searches the index for the document's patient and scores
// every candidate.
func (f *Filer) matchPatient(ctx context.Context, ids Identifiers) (patientDecision, error) {
	rec := ids.record()
	q := patients.Query{Authority: f.cfg.Authority, MRN: rec.MRN, Family: rec.Family, Given: rec.Given}
	if !rec.Birth.IsZero() {
		bd, err := patients.MakeDate(rec.Birth.Year, time.Month(rec.Birth.Month), rec.Birth.Day)
		if err == nil {
			q.BirthDate = bd
		}
	}
	if q.MRN == "" && q.Family == "" && q.Given == "" && q.BirthDate.IsZero() {
		return patientDecision{why: []string{"no patient identifiers (MRN, name, birth date) were found on the pages"}}, nil
	}
	found, err := f.index.Candidates(ctx, q, f.cfg.Candidates)
	if err != nil && !errors.Is(err, patients.ErrEmptyQuery) {
		return patientDecision{}, err
	}
	results := make([]match.Result, len(found))
	for i, p := range found {
		results[i] = f.match.Score(rec, patientRecord(p))
	}
	dec := f.match.Decide(results)
	pd := patientDecision{candidates: make([]Candidate, len(dec.Ranked))}
	for i, r := range dec.Ranked {
		p := found[r.Index]
		c := Candidate{PatientID: p.ID, Probability: r.Result.Probability, Weight: r.Result.Weight,
			Reasons: match.FieldReasons(r.Result)}
		for _, w := range p.Why {
			c.FoundBy = append(c.FoundBy, string(w))
		}
		pd.candidates[i] = c
	}
	if len(pd.candidates) == 0 {
		pd.why = []string{"no patient in the index resembles the identifiers on the pages"}
		return pd, nil
	}
	pd.confidence = pd.candidates[0].Probability
	pd.sure = dec.AutoFile
	if !pd.sure {
		pd.why = append(pd.why, dec.Reasons[0])
	}
	if c := ids.conflicts(); len(c) > 0 {
		pd.sure = false
		pd.why = append(pd.why, c...)
	}
	return pd, nil
}

// coverPatient takes the patient a cover sheet names, and checks that the
// pages do not name somebody else.
func (f *Filer) coverPatient(ctx context.Context, part separate.Document, ids Identifiers) (patientDecision, error) {
	if part.Cover.MRN == "" {
		// A sheet whose barcodes disagreed: fall back to the pages.
		pd, err := f.matchPatient(ctx, ids)
		pd.sure = false
		pd.why = append([]string{"the cover sheet's barcodes name different patients"}, pd.why...)
		return pd, err
	}
	authority := part.Cover.Authority
	if authority == "" {
		authority = f.cfg.Authority
	}
	p, err := f.index.ByMRN(ctx, authority, part.Cover.MRN)
	if errors.Is(err, patients.ErrNotFound) {
		pd, err := f.matchPatient(ctx, ids)
		pd.sure = false
		pd.why = append([]string{"the cover sheet's MRN is not in the patient index"}, pd.why...)
		return pd, err
	}
	if err != nil {
		return patientDecision{}, err
	}
	if p.MergedInto != nil {
		if p, err = f.index.Resolve(ctx, p.ID); err != nil {
			return patientDecision{}, err
		}
	}
	pd := patientDecision{confidence: 1, sure: true}
	if !p.Active {
		pd.sure = false
		pd.why = append(pd.why, "the cover sheet's patient record is inactive")
	}
	c := Candidate{PatientID: p.ID, Probability: 1, Reasons: []string{"named by the cover sheet"}, FoundBy: []string{"cover_sheet"}}
	// The pages' own identifiers must not contradict the sheet: a sheet put
	// on the wrong pile is caught here.
	rec := ids.record()
	rec.MRN = firstNonEmpty(append(append([]string{}, ids.LabelMRNs...), ids.MRN)...)
	res := f.match.Score(rec, patientRecord(p))
	c.Weight = res.Weight
	c.Reasons = append(c.Reasons, match.FieldReasons(res)...)
	pd.candidates = []Candidate{c}
	if res.Field(match.FieldMRN).Level == match.LevelDisagree {
		pd.sure = false
		pd.why = append(pd.why, "the pages carry another MRN than the cover sheet")
	}
	if res.Field(match.FieldBirth).Level == match.LevelDisagree {
		pd.sure = false
		pd.why = append(pd.why, "the pages carry another birth date than the cover sheet's patient")
	}
	if cs := ids.conflicts(); len(cs) > 0 {
		pd.sure = false
		pd.why = append(pd.why, cs...)
	}
	if !pd.sure {
		pd.confidence = res.Probability
	}
	return pd, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
