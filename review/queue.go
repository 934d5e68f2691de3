package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"paperchart/classify"
	"paperchart/storage"
	"paperchart/users"
)

// queueFilter is the queue's filter, carried from the queue into the
// documents opened from it so that "next" keeps to it.
type queueFilter struct {
	Source string
	Reason string
}

func filterOf(v url.Values) queueFilter {
	f := queueFilter{Source: v.Get("source"), Reason: v.Get("reason")}
	if _, ok := reasonLabels[f.Reason]; !ok {
		f.Reason = ""
	}
	if len(f.Source) > 200 {
		f.Source = ""
	}
	return f
}

// query is the filter as URL parameters, with extra ones added.
func (f queueFilter) query(extra ...string) string {
	v := url.Values{}
	if f.Source != "" {
		v.Set("source", f.Source)
	}
	if f.Reason != "" {
		v.Set("reason", f.Reason)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Review reasons as the queue shows them, in the order it lists them.
var reasonOrder = []string{storage.ReasonPatient, storage.ReasonIdentifiers, storage.ReasonType, storage.ReasonSplit}

var reasonLabels = map[string]string{
	"":                        "any reason",
	storage.ReasonPatient:     "low patient match",
	storage.ReasonIdentifiers: "no identifiers",
	storage.ReasonType:        "unsure type",
	storage.ReasonSplit:       "unsure boundary",
}

type tag struct {
	Code, Label string
}

// tags says why a document waits, as the queue filter counts it.
func tags(d storage.Document) []tag {
	var out []tag
	if d.PatientReview {
		if d.Identifiers.Empty() {
			out = append(out, tag{storage.ReasonIdentifiers, reasonLabels[storage.ReasonIdentifiers]})
		} else if len(d.Candidates) == 0 {
			out = append(out, tag{storage.ReasonPatient, "no patient found"})
		} else {
			out = append(out, tag{storage.ReasonPatient, reasonLabels[storage.ReasonPatient]})
		}
	}
	if d.TypeReview {
		out = append(out, tag{storage.ReasonType, reasonLabels[storage.ReasonType]})
	}
	if d.SplitReview {
		out = append(out, tag{storage.ReasonSplit, reasonLabels[storage.ReasonSplit]})
	}
	return out
}

type queueRow struct {
	ID         int64
	Seq        int
	BatchID    int64
	Source     string
	BatchName  string
	Pages      int
	Tags       []tag
	Reasons    []string
	TypeName   string
	TypePct    string
	Created    time.Time
	ClaimedBy  string // a live claim of someone else
	ClaimUntil time.Time
	Mine       bool // a live claim of the viewer
}

type queueData struct {
	Rows     []queueRow
	Waiting  int // in the whole queue
	Filtered bool
	Filter   queueFilter
	Query    string // the filter as URL parameters
	Sources  []string
	Reasons  []tag
	After    int64
	More     int64 // after= of the next page; 0 at the end
	Empty    bool  // "next" found nothing
	Filed    int64 // a document just filed
	Rejected int64 // a document just rejected
	Release  bool  // the viewer may release others' claims
}

const queuePage = 100

func (a *app) queue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	f := filterOf(q)
	d := queueData{Filter: f, Query: f.query(), Empty: q.Has("empty"), Filtered: f.Source != "" || f.Reason != "",
		Release: role(r).Allows(users.Supervisor)}
	d.Filed, _ = strconv.ParseInt(q.Get("filed"), 10, 64)
	d.Rejected, _ = strconv.ParseInt(q.Get("rejected"), 10, 64)
	d.After, _ = strconv.ParseInt(q.Get("after"), 10, 64)
	for _, code := range reasonOrder {
		d.Reasons = append(d.Reasons, tag{code, reasonLabels[code]})
	}
	rows, err := a.DB.ReviewList(ctx, storage.ReviewFilter{Limit: queuePage, AfterID: d.After, Source: f.Source, Reason: f.Reason})
	if err != nil {
		a.fail(w, r, "read the review queue", err)
		return
	}
	if d.Waiting, err = a.DB.ReviewCount(ctx); err != nil {
		a.fail(w, r, "count the review queue", err)
		return
	}
	if d.Sources, err = a.sources(ctx, f.Source); err != nil {
		a.fail(w, r, "list drop folders", err)
		return
	}
	now, me := time.Now(), user(r)
	for _, rs := range rows {
		row := queueRow{ID: rs.ID, Seq: rs.Seq, BatchID: rs.BatchID, Source: rs.Source, BatchName: rs.BatchName,
			Pages: len(rs.Pages), Tags: tags(rs.Document), Reasons: rs.ReviewReasons, Created: rs.CreatedAt}
		if t, ok := classify.Lookup(rs.TypeSuggested); ok {
			row.TypeName = t.Name
			row.TypePct = pct(rs.TypeConfidence)
		}
		if rs.ClaimedBy != "" && rs.ClaimedUntil != nil && rs.ClaimedUntil.After(now) {
			if rs.ClaimedBy == me {
				row.Mine = true
			} else {
				row.ClaimedBy, row.ClaimUntil = rs.ClaimedBy, *rs.ClaimedUntil
			}
		}
		d.Rows = append(d.Rows, row)
	}
	if len(rows) == queuePage {
		d.More = rows[len(rows)-1].ID
	}
	ids := make([]int64, len(rows))
	for i, rs := range rows {
		ids[i] = rs.ID
	}
	if err := a.recordList(r, "review queue", ids); err != nil {
		a.fail(w, r, "audit the review queue", err)
		return
	}
	a.render(w, r, http.StatusOK, "queue.html", a.view(r, "Review queue", "queue", "queue", d))
}

// sources lists the drop folders of recent batches, for the filter.
func (a *app) sources(ctx context.Context, current string) ([]string, error) {
	bs, err := a.DB.ListBatches(ctx, storage.BatchFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range bs {
		if !slices.Contains(out, b.Source) {
			out = append(out, b.Source)
		}
	}
	if current != "" && !slices.Contains(out, current) {
		out = append(out, current)
	}
	slices.Sort(out)
	return out, nil
}

// next claims the oldest document nobody else works on and opens it.
func (a *app) next(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	f := filterOf(r.PostForm)
	a.goNext(w, r, f, 0)
}

// goNext claims the next document after afterID (0: the oldest) within the
// filter and redirects to it, or to the queue when none is left; extra are
// flash parameters ("filed", ID).
func (a *app) goNext(w http.ResponseWriter, r *http.Request, f queueFilter, afterID int64, extra ...string) {
	d, err := a.claimNext(r.Context(), user(r), f, afterID)
	if errors.Is(err, storage.ErrNotFound) {
		redirect(w, r, "/review/"+f.query(append(extra, "empty", "1")...))
		return
	}
	if err != nil {
		a.fail(w, r, "claim the next document", err)
		return
	}
	redirect(w, r, fmt.Sprintf("/review/doc/%d%s", d.ID, f.query(extra...)))
}

// claimNext claims the oldest unclaimed document of the filter: two queries
// when nobody races for it, a few more when somebody does.
func (a *app) claimNext(ctx context.Context, me string, f queueFilter, afterID int64) (storage.Document, error) {
	rf := storage.ReviewFilter{AfterID: afterID, Source: f.Source, Reason: f.Reason}
	for range 8 {
		n, err := a.DB.NextUnclaimed(ctx, me, rf)
		if err != nil {
			return n, err
		}
		d, err := a.DB.Claim(ctx, n.ID, me, a.ttl)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, storage.ErrClaimed) && !errors.Is(err, storage.ErrNotInReview) {
			return d, err
		}
		rf.AfterID = n.ID // taken in between: try the one after
	}
	return storage.Document{}, storage.ErrNotFound
}
