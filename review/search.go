package review

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"paperchart/audit"

	"paperchart/chart"
	"paperchart/patients"
)

type patientHit struct {
	ID        int64    `json:"id"`
	MRN       string   `json:"mrn"`
	Family    string   `json:"family"`
	Given     string   `json:"given"`
	BirthDate string   `json:"birth_date,omitempty"`
	Sex       string   `json:"sex,omitempty"`
	Why       []string `json:"why"`
}

// searchPatients searches the patient index: one box (q) that takes an MRN,
// a name ("FAMILY, Given" or "Given Family") and a birth date in any order,
// or the fields mrn, family, given and birth_date.
func (a *app) searchPatients(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := parseSearch(v.Get("q"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if s := strings.TrimSpace(v.Get("mrn")); s != "" {
		q.MRN = s
	}
	if s := strings.TrimSpace(v.Get("family")); s != "" {
		q.Family = s
	}
	if s := strings.TrimSpace(v.Get("given")); s != "" {
		q.Given = s
	}
	if s := strings.TrimSpace(v.Get("birth_date")); s != "" {
		bd, err := chart.ParseDate(s)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the birth date must be a date such as 1958-03-14"})
			return
		}
		q.BirthDate = bd
	}
	found, err := a.Patients.Candidates(r.Context(), q, 20)
	if errors.Is(err, patients.ErrEmptyQuery) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "type an MRN, a name or a birth date"})
		return
	}
	if err != nil {
		a.fail(w, r, "search patients", err)
		return
	}
	// The search is audited by the fields given and the patients found,
	// never by what was typed.
	var fields, ids []string
	for k, set := range map[string]bool{"mrn": q.MRN != "", "family": q.Family != "", "given": q.Given != "", "birth_date": !q.BirthDate.IsZero()} {
		if set {
			fields = append(fields, k)
		}
	}
	slices.Sort(fields)
	for _, p := range found {
		ids = append(ids, strconv.FormatInt(p.ID, 10))
	}
	if err := a.record(r, audit.Entry{Action: audit.ActionPatientSearch,
		Detail: "by " + strings.Join(fields, ",") + "; found Patient/" + strings.Join(ids, ",")}); err != nil {
		a.fail(w, r, "audit patient search", err)
		return
	}
	out := make([]patientHit, 0, len(found))
	for _, p := range found {
		h := patientHit{ID: p.ID, MRN: p.MRN, Family: p.Family, Given: p.Given, Sex: p.Sex, Why: []string{}}
		if !p.BirthDate.IsZero() {
			h.BirthDate = p.BirthDate.String()
		}
		for _, w := range p.Why {
			h.Why = append(h.Why, whyLabel(w))
		}
		out = append(out, h)
	}
	writeJSON(w, http.StatusOK, out)
}

func whyLabel(r patients.Reason) string {
	switch r {
	case patients.ReasonMRN:
		return "MRN"
	case patients.ReasonMRNVariant:
		return "MRN as misread"
	case patients.ReasonBirthDate:
		return "birth date"
	case patients.ReasonBirthDateSwapped:
		return "birth date, day and month swapped"
	case patients.ReasonFamilySimilar:
		return "family name"
	case patients.ReasonFamilySoundsLike:
		return "family name sounds alike"
	case patients.ReasonGivenSimilar:
		return "given name"
	case patients.ReasonNamesSwapped:
		return "names swapped"
	case patients.ReasonMerged:
		return "through a merged record"
	}
	return string(r)
}

// parseSearch reads the one-box search: a word with digits is an MRN, a
// date is the birth date, "FAMILY, Given" or "Given Family" a name (one word
// alone is a family name).
func parseSearch(s string) (patients.Query, error) {
	var q patients.Query
	s = strings.TrimSpace(s)
	if s == "" {
		return q, nil
	}
	if len(s) > 200 {
		return q, errors.New("the search is too long")
	}
	var names []string
	for _, word := range strings.Fields(strings.NewReplacer(",", " , ", ";", " ").Replace(s)) {
		digits := strings.IndexFunc(word, func(r rune) bool { return r >= '0' && r <= '9' }) >= 0
		switch {
		case word == ",":
			names = append(names, word)
		case digits && strings.Contains(word, "/"), digits && len(word) == 10 && word[4] == '-' && word[7] == '-':
			bd, err := chart.ParseDate(word)
			if err != nil {
				return q, errors.New("the birth date must be a date such as 1958-03-14 or 03/14/1958")
			}
			q.BirthDate = bd
		case digits:
			q.MRN = word
		default:
			names = append(names, word)
		}
	}
	joined := strings.Trim(strings.Join(names, " "), " ,")
	if family, given, ok := strings.Cut(joined, ","); ok {
		q.Family, q.Given = strings.TrimSpace(family), strings.TrimSpace(strings.ReplaceAll(given, ",", " "))
	} else if f := strings.Fields(joined); len(f) == 1 {
		q.Family = f[0]
	} else if len(f) > 1 {
		q.Given, q.Family = strings.Join(f[:len(f)-1], " "), f[len(f)-1]
	}
	return q, nil
}
