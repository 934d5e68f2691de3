package fhir

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"paperchart/chart"
	"paperchart/classify"
	"paperchart/search"
)

// ContentSearcher searches the text of filed documents
// (DocumentReference?_content=), as search.Searcher does; it audits each
// search with its text itself.
type ContentSearcher interface {
	Search(ctx context.Context, who search.Who, q search.Query) (search.Result, error)
}

// contentParams are the parameters a _content search takes.
var contentParams = map[string]bool{"_content": true, "patient": true, "subject": true, "type": true, "date": true, "_count": true, "_format": true}

// searchContent answers DocumentReference?_content=words: the filed
// documents whose text has the words (stemmed, "phrases"), best first,
// optionally of one patient (patient, subject), of LOINC types (type) and
// dates of service (date with ge, gt, le, lt, eq). The search and its text
// are in the audit trail (package search), and the disclosure is audited as
// every FHIR search is, by the IDs found.
func (s *Server) searchContent(w http.ResponseWriter, r *http.Request, rq request) {
	if s.Content == nil {
		s.outcome(w, http.StatusBadRequest, "not-supported", "_content is not supported by this server")
		return
	}
	v := r.URL.Query()
	for k := range v {
		if !contentParams[k] {
			s.outcome(w, http.StatusBadRequest, "not-supported",
				fmt.Sprintf("search parameter %q is not supported with _content (patient, type, date, _count)", k))
			return
		}
	}
	q := search.Query{Text: strings.Join(v["_content"], " "), Limit: search.DefaultLimit}
	patient := v.Get("patient")
	if patient == "" {
		patient = v.Get("subject")
	}
	if patient != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(patient, "Patient/"), 10, 64)
		if err != nil || id < 1 {
			s.outcome(w, http.StatusBadRequest, "invalid", "patient must be a Patient id")
			return
		}
		q.PatientID = id
	}
	loinc, err := loincCodes(v["type"])
	if err != nil {
		s.outcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	for _, d := range v["date"] {
		b, err := parseDateParam(d)
		if err != nil {
			s.outcome(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		// Dates of service are days: the bounds as days.
		switch b.Op {
		case "ge", "gt", "eq":
			from := b.At
			if b.Op == "gt" {
				from = b.End
			}
			q.From = laterDate(q.From, chart.DateOf(from))
		}
		switch b.Op {
		case "le", "lt", "eq":
			to := b.End
			if b.Op == "lt" {
				to = b.At
			}
			q.To = earlierDate(q.To, chart.DateOf(to.Add(-time.Nanosecond)))
		}
	}
	if c := v.Get("_count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			s.outcome(w, http.StatusBadRequest, "invalid", "_count must be a whole number")
			return
		}
		q.Limit = min(max(n, 1), search.MaxLimit)
	}
	who := search.Who{Actor: "token:" + rq.caller.Name, Remote: rq.remote}
	var res search.Result
	// One search per type asked for (a LOINC code may be several types),
	// or one for all.
	types := []string{""}
	if len(loinc) > 0 {
		types = nil
		for _, t := range classify.Types() {
			for _, l := range loinc {
				if t.LOINC == l {
					types = append(types, t.Code)
				}
			}
		}
		if len(types) == 0 {
			s.writeEmpty(w, r, rq, "type")
			return
		}
	}
	for _, t := range types {
		q.Type = t
		one, err := s.Content.Search(r.Context(), who, q)
		switch {
		case errors.Is(err, search.ErrEmptyQuery), errors.Is(err, search.ErrTooLong):
			s.outcome(w, http.StatusBadRequest, "invalid", "_content: "+err.Error())
			return
		case err != nil:
			s.internal(w, "search document text", err)
			return
		}
		res.Total += one.Total
		res.Hits = append(res.Hits, one.Hits...)
	}
	if len(types) > 1 {
		// Best first across the types, at most the count asked for.
		slices.SortStableFunc(res.Hits, func(a, b search.Hit) int { return cmp.Compare(b.Rank, a.Rank) })
		res.Hits = res.Hits[:min(len(res.Hits), q.Limit)]
	}
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: res.Total, Meta: &Meta{LastUpdated: instant(time.Now())},
		Link: []BundleLink{{Relation: "self", URL: rq.base + "/DocumentReference?" + r.URL.RawQuery}}}
	ids := make([]string, 0, len(res.Hits))
	var pid *int64
	for i, h := range res.Hits {
		d, err := s.Documents.Document(r.Context(), h.DocumentID)
		if err != nil {
			s.internal(w, "search document text", err)
			return
		}
		b.Entry = append(b.Entry, BundleEntry{FullURL: fmt.Sprintf("%s/DocumentReference/%d", rq.base, d.ID),
			Resource: s.documentResource(d, rq.base), Search: &EntrySearch{Mode: "match"}})
		ids = append(ids, strconv.FormatInt(d.ID, 10))
		if i == 0 || (pid != nil && *pid == h.PatientID) {
			p := h.PatientID
			pid = &p
		} else {
			pid = nil
		}
	}
	if q.PatientID > 0 {
		pid = &q.PatientID
	}
	e := Event{Actor: who.Actor, Action: "fhir.search", Resource: "DocumentReference", Remote: rq.remote, Outcome: "ok",
		PatientID: pid, Detail: "by _content; DocumentReference/" + strings.Join(ids, ",")}
	if s.audited(w, r, e) {
		writeResource(w, http.StatusOK, b)
	}
}

func laterDate(a, b chart.Date) chart.Date {
	if a.IsZero() || a.Before(b) {
		return b
	}
	return a
}

func earlierDate(a, b chart.Date) chart.Date {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
