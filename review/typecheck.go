package review

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"paperchart/audit"
	"paperchart/classify"
	"paperchart/storage"
)

// The type-check queue: documents filed under their sure patient whose
// type is in doubt (preliminary). Checking one is lighter than a review:
// the patient and the split are settled, only the type is asked.

type typeRow struct {
	ID        int64
	BatchID   int64
	Seq       int
	Pages     int
	PatientID int64
	TypeName  string
	TypePct   string
	Created   time.Time
}

type typeQueueData struct {
	Rows      []typeRow
	Waiting   int
	More      int64 // after= of the next page
	Confirmed int64 // a document whose type was just confirmed
	Empty     bool  // nothing left after a confirmation
}

func (a *app) typeQueue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := typeQueueData{Empty: q.Has("empty")}
	d.Confirmed, _ = strconv.ParseInt(q.Get("confirmed"), 10, 64)
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	docs, err := a.DB.TypeCheckList(ctx, queuePage, after)
	if err != nil {
		a.fail(w, r, "read the type-check queue", err)
		return
	}
	if d.Waiting, err = a.DB.TypeCheckCount(ctx); err != nil {
		a.fail(w, r, "count the type-check queue", err)
		return
	}
	for _, doc := range docs {
		row := typeRow{ID: doc.ID, BatchID: doc.BatchID, Seq: doc.Seq, Pages: len(doc.Pages), TypePct: pct(doc.TypeConfidence),
			Created: doc.CreatedAt}
		if doc.PatientID != nil {
			row.PatientID = *doc.PatientID
		}
		if t, ok := classify.Lookup(doc.Type); ok {
			row.TypeName = t.Name
		}
		d.Rows = append(d.Rows, row)
	}
	if len(docs) == queuePage {
		d.More = docs[len(docs)-1].ID
	}
	ids := make([]int64, len(docs))
	for i, doc := range docs {
		ids[i] = doc.ID
	}
	if err := a.recordList(r, "type-check queue", ids); err != nil {
		a.fail(w, r, "audit the type-check queue", err)
		return
	}
	a.render(w, r, http.StatusOK, "typecheck.html", a.view(r, "Type check", "types", "types", d))
}

// confirmType makes a preliminary document's type final — the one the
// person picked — and opens the next document waiting for a type check.
func (a *app) confirmType(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	typ := r.PostForm.Get("type")
	if _, ok := classify.Lookup(typ); !ok {
		a.invalid(w, r, id, "Pick the document type (t).")
		return
	}
	d, err := a.Filer.ConfirmType(r.Context(), id, user(r), typ)
	switch {
	case errors.Is(err, storage.ErrNotInTypeCheck):
		a.renderError(w, r, http.StatusConflict, errorData{Title: "Already checked",
			Message: fmt.Sprintf("The type of document %d is no longer waiting for a check: someone confirmed it first.", id),
			Back:    fmt.Sprintf("/review/doc/%d", id)})
		return
	case err != nil:
		a.actionFailed(w, r, id, "confirm type", err)
		return
	}
	a.recordDecision(r, audit.ActionReviewType, id, d.PatientID, "type "+typ)
	next, err := a.DB.TypeCheckList(r.Context(), 1, id)
	if err == nil && len(next) == 0 {
		next, err = a.DB.TypeCheckList(r.Context(), 1, 0)
	}
	if err != nil {
		a.fail(w, r, "read the type-check queue", err)
		return
	}
	if len(next) == 0 {
		http.Redirect(w, r, fmt.Sprintf("/review/types?empty=1&confirmed=%d", id), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/review/doc/%d?typed=%d", next[0].ID, id), http.StatusSeeOther)
}
