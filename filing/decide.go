package filing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"paperchart/chart"
	"paperchart/classify"
	"paperchart/extract"
	"paperchart/match"
	"paperchart/patients"
	"paperchart/separate"
	"paperchart/storage"
)

// splitDoubt begins the review reason of a document whose split is in doubt.
const splitDoubt = "where this document starts or ends is not certain"

// mrnConfidence is the confidence an extracted MRN needs to count; weaker
// ones are too likely to be another number.
const mrnConfidence = 0.5

// decide makes the type and patient decisions for one separated document
// and says whether it files itself. texts and labels are its pages' text
// and label MRNs; what separation found on each page is part.Findings, or,
// where part has none (a person's edit), read here.
func (f *Filer) decide(ctx context.Context, part separate.Document, texts, labels []string) (storage.NewDocument, patientDecision, error) {
	var pd patientDecision
	d, err := f.decideDocument(ctx, part, texts, labels, &pd)
	return d, pd, err
}

// decideDocument is decide, leaving the patient decision in *pr.
func (f *Filer) decideDocument(ctx context.Context, part separate.Document, texts, labels []string, out *patientDecision) (storage.NewDocument, error) {
	finds := part.Findings
	if len(finds) != len(texts) {
		finds = make([]separate.Findings, len(texts))
		for i, t := range texts {
			finds[i] = f.sep.Read(t)
		}
	}
	d := storage.NewDocument{
		Pages:           part.Pages,
		SeparatedBy:     part.By,
		SplitConfidence: part.Confidence,
		SplitReview:     part.Review,
		SplitReasons:    part.Reasons,
	}
	var reasons []string
	if part.Review {
		why := splitDoubt
		if len(part.Doubts) > 0 {
			why += ": " + strings.Join(part.Doubts, "; ")
		}
		reasons = append(reasons, why)
	}

	// Type: a cover sheet's, else the classifier's.
	var coverType classify.Type
	if part.Cover != nil && part.Cover.Type != "" {
		coverType, _ = lookupType(part.Cover.Type)
	}
	// A document of one page is that page: separation has classified it.
	var pred classify.Prediction
	if len(finds) == 1 {
		pred = finds[0].Type
	}
	if pred.Type == "" {
		pred = f.cls.Predict(strings.Join(texts, "\n\n"))
	}
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
	pages := make([]extract.Found, len(finds))
	for i, fd := range finds {
		pages[i] = fd.Found
	}
	found := extract.Merge(pages)
	ids := identifiers(found, labels)
	if !ids.ServiceDate.IsZero() {
		t := ids.ServiceDate.Time()
		d.ServiceDate = &t
	}
	d.Facility = found.Facility

	// Patient: a cover sheet's MRN, else a search of the index.
	var pr patientDecision
	var err error
	if part.Cover != nil {
		ids.CoverMRN = chart.MRN(part.Cover.MRN)
		pr, err = f.coverPatient(ctx, part, ids)
	} else {
		pr, err = f.matchPatient(ctx, ids)
	}
	if err != nil {
		return d, err
	}
	*out = pr
	d.Identifiers = ids
	d.Candidates = pr.candidates
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
	f.settle(&d, pr)
	return d, nil
}

// settle sets the document's state from its decisions: filed, with its
// patient, when the split and the patient are sure, else for review.
func (f *Filer) settle(d *storage.NewDocument, pr patientDecision) {
	switch {
	case d.SplitReview || !pr.sure || d.Type == "":
		d.State = storage.DocReview
	case d.TypeReview && f.cfg.TypeDoubt == TypeDoubtReview:
		d.State = storage.DocReview
	default:
		// A sure split and patient file the document: a doubtful type
		// never hides it from the chart. It is filed preliminary, with the
		// best type, and waits for a person in the type-check queue.
		d.State = storage.DocFiled
		d.DocStatus = storage.DocStatusFinal
		if d.TypeReview {
			d.DocStatus = storage.DocStatusPreliminary
		}
		id := pr.candidates[0].PatientID
		d.PatientID = &id
	}
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
func identifiers(found extract.Found, labels []string) chart.Identifiers {
	var ids chart.Identifiers
	for _, m := range found.MRNs {
		if m.Confidence < mrnConfidence {
			continue
		}
		if ids.MRN.IsZero() {
			ids.MRN = m.Value
		} else if m.Value != ids.MRN && !slices.Contains(ids.OtherMRNs, m.Value) {
			ids.OtherMRNs = append(ids.OtherMRNs, m.Value)
		}
	}
	for _, l := range labels {
		if m := chart.MRN(l); !slices.Contains(ids.LabelMRNs, m) {
			ids.LabelMRNs = append(ids.LabelMRNs, m)
		}
	}
	if len(found.Names) > 0 {
		n := found.Names[0]
		ids.Family, ids.Given, ids.Middle = n.Family, n.Given, n.Middle
	}
	if len(found.BirthDates) > 0 {
		ids.BirthDate = found.BirthDates[0].Date
	}
	if len(found.ServiceDates) > 0 {
		ids.ServiceDate = found.ServiceDates[0].Date
	}
	ids.Facility = found.Facility
	return ids
}

// documentRecord is the document's side of a comparison.
func documentRecord(ids chart.Identifiers) match.Record {
	r := match.Record{MRN: ids.MRN, Family: ids.Family, Given: ids.Given, Middle: ids.Middle, Birth: ids.BirthDate}
	if len(ids.LabelMRNs) > 0 {
		// A label barcode is read without OCR errors.
		r.MRN = ids.LabelMRNs[0]
	}
	return r
}

func patientRecord(p patients.Patient) match.Record {
	return match.Record{MRN: chart.MRN(p.MRN), Family: p.Family, Given: p.Given, Birth: p.BirthDate, Sex: p.Sex,
		Address: p.Address, City: p.City, Postal: p.PostalCode, Phone: p.Phone}
}

// mrnDiffers reports whether the pages carry an MRN that is not the
// patient's. Such a document is never filed to that patient automatically,
// whether or not the other MRN is in the index: a namesake with the same
// birth date is a real case. (An MRN of a record since merged into the
// patient also counts as another: old paper of a merged patient is
// reviewed once.)
func mrnDiffers(ids chart.Identifiers, p patients.Patient) bool {
	for _, m := range ids.PageMRNs() {
		if !chart.CompareMRN(m, chart.MRN(p.MRN)).Same() {
			return true
		}
	}
	return false
}

// patientDecision is the outcome of the patient decision.
type patientDecision struct {
	candidates chart.Candidates // best first
	confidence float64
	sure       bool
	why        []string // plain words, when not sure
	// linkable lists the candidates to whom the document may be filed
	// when a document it was faxed with is filed to them (see linkable).
	linkable map[int64]bool
}

// conflicts lists the reasons the pages' own identifiers make a document
// ambiguous, whoever it is matched to.
func conflicts(ids chart.Identifiers) []string {
	var out []string
	mrns := ids.PageMRNs()
	for i := range mrns {
		for j := i + 1; j < len(mrns); j++ {
			if chart.CompareMRN(mrns[i], mrns[j]) == chart.MRNDiffer {
				return append(out, "the pages carry more than one MRN")
			}
		}
	}
	return out
}

// matchPatient searches the index for the document's patient and scores
// every candidate.
func (f *Filer) matchPatient(ctx context.Context, ids chart.Identifiers) (patientDecision, error) {
	rec := documentRecord(ids)
	q := patients.Query{Authority: f.cfg.Authority, MRN: string(rec.MRN), Family: rec.Family, Given: rec.Given, BirthDate: rec.Birth}
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
	pd := patientDecision{candidates: make(chart.Candidates, len(dec.Ranked))}
	for i, r := range dec.Ranked {
		p := found[r.Index]
		c := chart.Candidate{PatientID: p.ID, Probability: r.Result.Probability, Weight: r.Result.Weight,
			Reasons: match.FieldReasons(r.Result)}
		if mrnDiffers(ids, p) {
			c.MRNDiffers = true
		}
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
	if pd.candidates[0].MRNDiffers {
		pd.sure = false
		pd.why = append(pd.why, "the pages carry an MRN that is not this patient's")
	}
	cs := conflicts(ids)
	if len(cs) > 0 {
		pd.sure = false
		pd.why = append(pd.why, cs...)
	}
	if !pd.sure && len(cs) == 0 && len(dec.Ranked) > 0 {
		pd.linkable = f.linkable(ids, found, dec)
	}
	return pd, nil
}

// linkable returns the candidates to whom a document that could not be
// filed on its own may be filed with the document it was faxed with, when
// only this held it:
//
//   - exactly one identifier agrees and nothing disagrees (no other MRN on
//     the pages, no other birth date): a fax cover sheet that names the
//     patient alone, or gives the birth date with the family name and an
//     initial ("Ford, L."). A birth date without the family name is too
//     common to count;
//   - or two agree, the candidate's weight reaches the threshold, and the
//     only doubt is another candidate scoring almost as well (two records
//     of one person in the index, a namesake with the same birth date).
func (f *Filer) linkable(ids chart.Identifiers, found []patients.Patient, dec match.Decision) map[int64]bool {
	out := map[int64]bool{}
	top := dec.Ranked[0].Result.Weight
	for _, r := range dec.Ranked {
		c := found[r.Index]
		if mrnDiffers(ids, c) {
			continue
		}
		birth := r.Result.Field(match.FieldBirth).Level
		birthAgrees := birth == match.LevelExact || birth == match.LevelDayMonthSwapped
		// The family name with the given name's initial ("Ford, L.").
		family := r.Result.Field(match.FieldFamily).Agrees && r.Result.Field(match.FieldGiven).Level != match.LevelDisagree
		eligible, _ := match.Eligible(r.Result)
		switch {
		case !eligible && match.Agreeing(r.Result) == 1 && birth != match.LevelDisagree && (!birthAgrees || family):
			out[c.ID] = true
		case eligible && dec.RunnerUp && r.Result.Weight >= dec.Threshold && top-r.Result.Weight < f.match.Thresholds().Margin:
			out[c.ID] = true
		}
	}
	return out
}

// coverPatient takes the patient a cover sheet names, and checks that the
// pages do not name somebody else.
func (f *Filer) coverPatient(ctx context.Context, part separate.Document, ids chart.Identifiers) (patientDecision, error) {
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
	c := chart.Candidate{PatientID: p.ID, Probability: 1, Reasons: []string{"named by the cover sheet"}, FoundBy: []string{"cover_sheet"}}
	// The pages' own identifiers must not contradict the sheet: a sheet put
	// on the wrong pile is caught here.
	rec := documentRecord(ids)
	res := f.match.Score(rec, patientRecord(p))
	c.Weight = res.Weight
	c.Reasons = append(c.Reasons, match.FieldReasons(res)...)
	pd.candidates = chart.Candidates{c}
	if res.Field(match.FieldMRN).Level == match.LevelDisagree {
		pd.sure = false
		pd.why = append(pd.why, "the pages carry another MRN than the cover sheet")
	}
	if res.Field(match.FieldBirth).Level == match.LevelDisagree {
		pd.sure = false
		pd.why = append(pd.why, "the pages carry another birth date than the cover sheet's patient")
	}
	if cs := conflicts(ids); len(cs) > 0 {
		pd.sure = false
		pd.why = append(pd.why, cs...)
	}
	if !pd.sure {
		pd.confidence = res.Probability
	}
	return pd, nil
}
