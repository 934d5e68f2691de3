package review

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paperchart/audit"
	"paperchart/classify"
	"paperchart/filing"
	"paperchart/patients"
	"paperchart/storage"
	"paperchart/users"
)

// Every action is a form post (with the session's CSRF token, checked by
// users.Sessions.Require) on /review/doc/{id}/...; each goes through the
// Filer or the database's claim functions, which record who did what in
// the document's history. Afterwards the browser is sent on with 303: to
// the next document after a decision, back to the document after an edit.

// actionDoc reads the document ID of an action.
func (a *app) actionDoc(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := pathID(r, "id")
	if !ok {
		a.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such document.")
		return 0, false
	}
	return id, a.parseForm(w, r)
}

// invalid answers a form that cannot be acted on.
func (a *app) invalid(w http.ResponseWriter, r *http.Request, id int64, msg string) {
	a.renderError(w, r, http.StatusUnprocessableEntity, errorData{Title: "Cannot do that", Message: msg,
		Back: fmt.Sprintf("/review/doc/%d%s", id, filterOf(r.PostForm).query())})
}

// actionFailed answers for an action the Filer refused.
func (a *app) actionFailed(w http.ResponseWriter, r *http.Request, id int64, what string, err error) {
	switch {
	case errors.Is(err, filing.ErrBadEdit):
		a.invalid(w, r, id, "That change cannot be made to this document: "+badEditHint(what))
	case errors.Is(err, patients.ErrNotFound):
		a.invalid(w, r, id, "That patient is not in the patient index. Search for the patient again.")
	case errors.Is(err, filing.ErrInactivePatient):
		a.invalid(w, r, id, "That patient record is inactive (merged into another, or retired). Pick the active record.")
	default:
		a.claimFailed(w, r, id, what, err)
	}
}

func badEditHint(what string) string {
	switch what {
	case "split":
		return "a document is split before one of its pages other than the first."
	case "merge":
		return "a document merges only with the one before it in its batch, when that one also waits for review."
	case "move page":
		return "a page moves only to another document of the same batch that waits for review."
	case "remove page":
		return "only a page of the document can be taken out."
	case "reject":
		return "give a reason."
	}
	return "reload the document and try again."
}

// confirm files the document to the chosen patient with the chosen type
// and date of service, then opens the next document.
func (a *app) confirm(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	pid, err := strconv.ParseInt(r.PostForm.Get("patient_id"), 10, 64)
	if err != nil || pid < 1 {
		a.invalid(w, r, id, "Pick the patient first: a candidate (1–9, or j/k), or one found by the search (/).")
		return
	}
	typ := r.PostForm.Get("type")
	if _, ok := classify.Lookup(typ); !ok {
		a.invalid(w, r, id, "Pick the document type (t).")
		return
	}
	dec := filing.ReviewDecision{Actor: user(r), PatientID: pid, Type: typ}
	if s := strings.TrimSpace(r.PostForm.Get("service_date")); s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil || t.Year() < 1900 || t.After(time.Now().Add(24*time.Hour)) {
			a.invalid(w, r, id, "The date of service must be a real date, not in the future.")
			return
		}
		dec.ServiceDate = &t
	}
	d, err := a.Filer.FileReviewed(r.Context(), id, dec)
	if err != nil {
		a.actionFailed(w, r, id, "file document", err)
		return
	}
	a.recordDecision(r, audit.ActionReviewFile, id, d.PatientID, "type "+typ)
	a.goNext(w, r, filterOf(r.PostForm), 0, "filed", strconv.FormatInt(id, 10))
}

// reject takes the document out of the queue without filing it (kept, with
// the reason), then opens the next document.
func (a *app) reject(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	// The typed reason has a name of its own: "reason" is the queue filter
	// the form carries along in a hidden field.
	reason := strings.TrimSpace(r.PostForm.Get("reject_reason"))
	if reason == "" || len(reason) > 500 {
		a.invalid(w, r, id, "Say why the document is rejected (up to 500 characters).")
		return
	}
	if err := a.Filer.Reject(r.Context(), id, user(r), reason); err != nil {
		a.actionFailed(w, r, id, "reject", err)
		return
	}
	a.recordDecision(r, audit.ActionReviewReject, id, nil, "") // the reason is free text: it stays in the history
	a.goNext(w, r, filterOf(r.PostForm), 0, "rejected", strconv.FormatInt(id, 10))
}

func formPage(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PostForm.Get("page"))
	return n, err == nil && n > 0
}

// split makes the given page the first of a new document; both halves are
// re-decided. The first half stays open.
func (a *app) split(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	page, ok := formPage(r)
	if !ok {
		a.invalid(w, r, id, "Say which page starts the new document.")
		return
	}
	docs, err := a.Filer.SplitAt(r.Context(), id, page, user(r))
	if err != nil {
		a.actionFailed(w, r, id, "split", err)
		return
	}
	a.recordDecision(r, audit.ActionReviewEdit, id, nil, fmt.Sprintf("split at page %d", page))
	extra := []string{}
	if len(docs) > 1 {
		extra = []string{"split", strconv.FormatInt(docs[1].ID, 10)}
	}
	redirect(w, r, fmt.Sprintf("/review/doc/%d%s", docs[0].ID, filterOf(r.PostForm).query(extra...)))
}

// merge joins the document to the one before it in its batch, and opens
// the joined document.
func (a *app) merge(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	d, err := a.Filer.MergeWithPrevious(r.Context(), id, user(r))
	if err != nil {
		a.actionFailed(w, r, id, "merge", err)
		return
	}
	a.recordDecision(r, audit.ActionReviewEdit, id, nil, fmt.Sprintf("merged into document %d", d.ID))
	redirect(w, r, fmt.Sprintf("/review/doc/%d%s", d.ID, filterOf(r.PostForm).query("merged", strconv.FormatInt(id, 10))))
}

// removePage takes a page out of the document (it stays in the batch).
func (a *app) removePage(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	page, ok := formPage(r)
	if !ok {
		a.invalid(w, r, id, "Say which page to take out.")
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("remove_reason"))
	if len(reason) > 500 {
		a.invalid(w, r, id, "The reason is too long (up to 500 characters).")
		return
	}
	d, err := a.Filer.RemovePage(r.Context(), id, page, user(r), reason)
	if err != nil {
		a.actionFailed(w, r, id, "remove page", err)
		return
	}
	a.recordDecision(r, audit.ActionReviewEdit, id, nil, fmt.Sprintf("page %d removed", page))
	f := filterOf(r.PostForm)
	if d.State != storage.DocReview {
		// Its last page went: nothing is left to decide here.
		a.goNext(w, r, f, 0)
		return
	}
	redirect(w, r, fmt.Sprintf("/review/doc/%d%s", id, f.query("removed", "1")))
}

// movePage moves a page to another document of the batch.
func (a *app) movePage(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	page, ok := formPage(r)
	to, err := strconv.ParseInt(r.PostForm.Get("to"), 10, 64)
	if !ok || err != nil || to < 1 {
		a.invalid(w, r, id, "Say which page to move, and to which document.")
		return
	}
	ctx := r.Context()
	if err := a.Filer.MovePage(ctx, id, page, to, user(r)); err != nil {
		a.actionFailed(w, r, id, "move page", err)
		return
	}
	a.recordDecision(r, audit.ActionReviewEdit, id, nil, fmt.Sprintf("page %d moved to document %d", page, to))
	f := filterOf(r.PostForm)
	d, err := a.DB.Document(ctx, id)
	if err != nil {
		a.fail(w, r, "read document", err)
		return
	}
	if d.State != storage.DocReview {
		redirect(w, r, fmt.Sprintf("/review/doc/%d%s", to, f.query()))
		return
	}
	redirect(w, r, fmt.Sprintf("/review/doc/%d%s", id, f.query("moved", strconv.FormatInt(to, 10))))
}

// release gives the document back to the queue. A supervisor may release
// someone else's claim.
func (a *app) release(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	force := role(r).Allows(users.Supervisor) && r.PostForm.Get("force") == "1"
	if err := a.DB.ReleaseClaim(r.Context(), id, user(r), force); err != nil {
		a.fail(w, r, "release claim", err)
		return
	}
	back := "/review/" + filterOf(r.PostForm).query()
	if r.PostForm.Get("back") == "stats" && role(r).Allows(users.Supervisor) {
		back = "/review/stats"
	}
	redirect(w, r, back)
}

// skip leaves the document to somebody else and opens the next one.
func (a *app) skip(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	if err := a.DB.ReleaseClaim(r.Context(), id, user(r), false); err != nil {
		a.fail(w, r, "release claim", err)
		return
	}
	a.goNext(w, r, filterOf(r.PostForm), id)
}
