package review

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/classify"
	"paperchart/search"
	"paperchart/users"
)

// docSearchData is what the document search page shows.
type docSearchData struct {
	Q, MRN, Type, From, To, Batch string
	Types                         []classify.Type
	Searched                      bool
	Error                         string
	Total                         int
	More                          bool
	Hits                          []docSearchHit
}

type docSearchHit struct {
	search.Hit
	TypeName string
	Patient  string // "FAMILY, Given", or "" when the index has no name
}

// searchDocuments is the document search page (`/` from the queue): the
// OCR text of filed documents, by words and phrases, with filters. A
// person finds only the documents they may read (Server.Access), and every
// search is audited with the query text (package search); nothing of it is
// logged. A hit links to the document at its best page.
func (a *app) searchDocuments(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	data := docSearchData{Q: v.Get("q"), MRN: strings.TrimSpace(v.Get("mrn")), Type: v.Get("type"),
		From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to")), Batch: strings.TrimSpace(v.Get("batch")),
		Types: classify.Types()}
	if strings.TrimSpace(data.Q) != "" {
		a.runDocSearch(w, r, &data)
		if data.Error == "" && !data.Searched {
			return // failed and answered
		}
	}
	a.render(w, r, http.StatusOK, "search.html", a.view(r, "Search documents", "search", "search", data))
}

// runDocSearch reads the filters, searches and fills data; on a failure
// it answers itself and leaves data.Searched false.
func (a *app) runDocSearch(w http.ResponseWriter, r *http.Request, data *docSearchData) {
	q := search.Query{Text: data.Q, MRN: chart.ParseMRN(data.MRN), Type: data.Type}
	if q.Type != "" {
		if _, ok := classify.Lookup(q.Type); !ok {
			data.Error = "Pick a document type from the list."
			return
		}
	}
	for _, d := range []struct {
		v  string
		to *chart.Date
	}{{data.From, &q.From}, {data.To, &q.To}} {
		if d.v == "" {
			continue
		}
		day, err := chart.ParseDate(d.v)
		if err != nil {
			data.Error = "A date of service must be a date such as 2024-03-14."
			return
		}
		*d.to = day
	}
	if data.Batch != "" {
		n, err := strconv.ParseInt(data.Batch, 10, 64)
		if err != nil || n < 1 {
			data.Error = "A batch is its number."
			return
		}
		q.BatchID = n
	}
	sess, _ := users.FromContext(r.Context())
	who := search.Who{Actor: audit.UserActor(sess.User.Name), Remote: remoteIP(r)}
	if a.Access != nil {
		u := sess.User
		who.User = &u
	}
	s := &search.Searcher{Pool: a.DB.Pool(), Access: a.Access, Audit: a.Audit}
	res, err := s.Search(r.Context(), who, q)
	switch {
	case errors.Is(err, search.ErrEmptyQuery):
		data.Error = "Type words to search for: common words such as \"the\" are not searched."
		return
	case errors.Is(err, search.ErrTooLong):
		data.Error = err.Error() + "."
		return
	case err != nil:
		a.fail(w, r, "search documents", err)
		return
	}
	data.Searched, data.Total, data.More = true, res.Total, res.More
	for _, h := range res.Hits {
		row := docSearchHit{Hit: h, TypeName: h.Type}
		if t, ok := classify.Lookup(h.Type); ok {
			row.TypeName = t.Name
		}
		if p, err := a.Patients.ByID(r.Context(), h.PatientID); err == nil && p.Family != "" {
			row.Patient = p.Family + ", " + p.Given
		}
		data.Hits = append(data.Hits, row)
	}
}
