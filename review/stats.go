package review

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"paperchart/storage"
	"paperchart/users"
)

type claimRow struct {
	ID    int64
	By    string
	Until time.Time
}

type statsData struct {
	Stats    storage.ReviewStats
	Oldest   string // age of the oldest waiting document
	Reasons  []reasonCount
	Claims   []claimRow
	Auto     int // filed today without a person
	PeoplePc string
	// Glass are the break-the-glass reads of the last BreakGlassDays days.
	Glass []users.BreakGlassRead
	Days  int
}

// BreakGlassDays is how far back the statistics list break-the-glass reads.
const BreakGlassDays = 30

type reasonCount struct {
	Code, Label string
	N           int
}

// stats shows supervisors the queue and today's work, and who holds which
// document now (with a button to release a claim).
func (a *app) stats(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := a.DB.ReviewStats(ctx)
	if err != nil {
		a.fail(w, r, "read review statistics", err)
		return
	}
	d := statsData{Stats: st, Auto: st.FiledToday - st.FiledByPeopleToday}
	if st.OldestAt != nil {
		d.Oldest = age(*st.OldestAt)
	}
	if st.FiledToday > 0 {
		d.PeoplePc = strconv.Itoa(100*st.FiledByPeopleToday/st.FiledToday) + "%"
	}
	for _, code := range reasonOrder {
		if n, ok := st.ByReason[code]; ok {
			d.Reasons = append(d.Reasons, reasonCount{code, reasonLabels[code], n})
		}
	}
	rows, err := a.DB.ReviewList(ctx, storage.ReviewFilter{Limit: 1000})
	if err != nil {
		a.fail(w, r, "read the review queue", err)
		return
	}
	now := time.Now()
	for _, rs := range rows {
		if rs.ClaimedBy != "" && rs.ClaimedUntil != nil && rs.ClaimedUntil.After(now) {
			d.Claims = append(d.Claims, claimRow{rs.ID, rs.ClaimedBy, *rs.ClaimedUntil})
		}
	}
	sort.Slice(d.Claims, func(i, j int) bool { return d.Claims[i].By < d.Claims[j].By })
	var ids []int64
	if a.Access != nil {
		d.Days = BreakGlassDays
		if d.Glass, err = a.Access.BreakGlassList(ctx, now.AddDate(0, 0, -BreakGlassDays), 500); err != nil {
			a.fail(w, r, "list break-the-glass reads", err)
			return
		}
		for _, g := range d.Glass {
			ids = append(ids, g.DocumentID)
		}
	}
	if err := a.recordList(r, "break-the-glass reads", ids); err != nil {
		a.fail(w, r, "audit statistics", err)
		return
	}
	a.render(w, r, http.StatusOK, "stats.html", a.view(r, "Statistics", "stats", "stats", d))
}
