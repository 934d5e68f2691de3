package chart

import (
	"encoding/json"
	"slices"
)

// Identifiers is what was read on a document's pages, as stored with the
// document (JSON column documents.identifiers). It is patient data.
type Identifiers struct {
	MRN         MRN    `json:"mrn,omitempty"`         // the best MRN read in the text
	OtherMRNs   []MRN  `json:"other_mrns,omitempty"`  // other MRNs read in the text
	LabelMRNs   []MRN  `json:"label_mrns,omitempty"`  // from patient-label barcodes
	CoverMRN    MRN    `json:"cover_mrn,omitempty"`   // from the cover sheet
	Family      string `json:"family,omitempty"`      // upper case, as the index stores names
	Given       string `json:"given,omitempty"`       //
	Middle      string `json:"middle,omitempty"`      //
	BirthDate   Date   `json:"birth_date,omitzero"`   // YYYY-MM-DD
	ServiceDate Date   `json:"service_date,omitzero"` // YYYY-MM-DD
	Facility    string `json:"facility,omitempty"`    // from the letterhead
}

// Empty reports whether nothing identifying a patient was read.
func (ids Identifiers) Empty() bool {
	return ids.MRN.IsZero() && len(ids.OtherMRNs) == 0 && len(ids.LabelMRNs) == 0 && ids.CoverMRN.IsZero() &&
		ids.Family == "" && ids.Given == "" && ids.BirthDate.IsZero()
}

// PageMRNs returns every MRN read on the pages (labels first, then the
// text's), without the cover sheet's.
func (ids Identifiers) PageMRNs() []MRN {
	out := slices.Clone(ids.LabelMRNs)
	if !ids.MRN.IsZero() {
		out = append(out, ids.MRN)
	}
	return append(out, ids.OtherMRNs...)
}

// Candidate is one patient proposed for a document, as stored with it
// (JSON column documents.candidates) and shown in the review queue. Reasons
// hold patient data (nicknames): show them to people, never log them.
type Candidate struct {
	PatientID   int64    `json:"patient_id"`
	Probability float64  `json:"probability"` // P(same person), from the match model
	Weight      float64  `json:"weight"`      // evidence in bits
	Reasons     []string `json:"reasons"`     // which fields agreed, in plain words
	FoundBy     []string `json:"found_by"`    // how the index found it: mrn, birth_date, family_similar, ...
	// MRNDiffers is set when the pages carry an MRN that is not this
	// patient's: such a candidate is never filed automatically.
	MRNDiffers bool `json:"mrn_differs,omitempty"`
}

// Candidates is a document's ranked candidates, best first. It encodes as
// [] rather than null when empty.
type Candidates []Candidate

// MarshalJSON writes the candidates, [] when there are none.
func (cs Candidates) MarshalJSON() ([]byte, error) { return jsonList([]Candidate(cs)) }

// Best returns the best candidate and true, or false when there is none.
func (cs Candidates) Best() (Candidate, bool) {
	if len(cs) == 0 {
		return Candidate{}, false
	}
	return cs[0], true
}

// RankedType is one document type with the classifier's probability for it
// (JSON column documents.type_ranked holds a list, most probable first).
type RankedType struct {
	Type        string  `json:"type"` // a type code of package classify
	Probability float64 `json:"probability"`
}

// RankedTypes is a document's types, most probable first. It encodes as []
// rather than null when empty.
type RankedTypes []RankedType

// MarshalJSON writes the ranking, [] when empty.
func (rs RankedTypes) MarshalJSON() ([]byte, error) { return jsonList([]RankedType(rs)) }

// jsonList encodes a list, [] rather than null when it is nil.
func jsonList[T any](s []T) ([]byte, error) {
	if s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(s)
}

// Probability returns the probability of the type, 0 when not ranked.
func (rs RankedTypes) Probability(code string) float64 {
	for _, r := range rs {
		if r.Type == code {
			return r.Probability
		}
	}
	return 0
}
