package review

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paperchart/audit"
	"paperchart/storage"
	"paperchart/users"
)

// record appends an entry for the signed-in person to the audit trail, when
// the server keeps one (Server.Audit). Entries name documents and patients
// by ID only.
func (a *app) record(r *http.Request, e audit.Entry) error {
	_, err := a.recordEntry(r, e)
	return err
}

// recordEntry is record, returning the entry as stored (ID 0 without a
// trail).
func (a *app) recordEntry(r *http.Request, e audit.Entry) (audit.Entry, error) {
	if a.Audit == nil {
		return e, nil
	}
	if e.Actor == "" {
		e.Actor = audit.UserActor(user(r))
	}
	if e.Outcome == "" {
		e.Outcome = audit.OutcomeOK
	}
	e.Remote = remoteIP(r)
	return a.Audit.Record(detached(r.Context()), e)
}

// recordDecision audits a decision already made (filed, rejected, re-cut):
// it is in the document's history whatever happens here, so a failure is
// logged rather than shown.
func (a *app) recordDecision(r *http.Request, action string, docID int64, patientID *int64, detail string) {
	if err := a.record(r, audit.Entry{Action: action, Resource: docResource(docID), DocumentID: &docID,
		PatientID: patientID, Detail: detail}); err != nil {
		a.log.Error("audit decision", "document", docID, "action", action, "err", err)
	}
}

// adminHooks are the hooks that audit an administrative change to the user
// name inside the change's transaction (users.Hook): the change is not made
// without its entry. None without a trail.
func (a *app) adminHooks(r *http.Request, action, name, detail string) []users.Hook {
	if a.Audit == nil {
		return nil
	}
	return []users.Hook{a.Audit.InTx(audit.Entry{Actor: audit.UserActor(user(r)), Action: action,
		Resource: "user/" + strings.ToLower(strings.TrimSpace(name)), Remote: remoteIP(r), Outcome: audit.OutcomeOK, Detail: detail})}
}

func docResource(id int64) string { return fmt.Sprintf("DocumentReference/%d", id) }

// mayRead reports whether the signed-in person may read d (minimum
// necessary, Server.Access). When not, it audits the refusal and answers
// 403 with the break-the-glass form itself.
func (a *app) mayRead(w http.ResponseWriter, r *http.Request, d storage.Document) bool {
	if a.Access == nil {
		return true
	}
	sess, _ := users.FromContext(r.Context())
	basis, err := a.Access.Document(r.Context(), sess.User, d.ID)
	if err != nil {
		a.fail(w, r, "check access", err)
		return false
	}
	if basis != "" {
		return true
	}
	if err := a.record(r, audit.Entry{Action: audit.ActionDocumentView, Resource: docResource(d.ID), DocumentID: &d.ID,
		PatientID: d.PatientID, Outcome: audit.OutcomeDenied, Detail: "outside minimum necessary"}); err != nil {
		a.fail(w, r, "audit refusal", err)
		return false
	}
	a.renderError(w, r, http.StatusForbidden, errorData{Title: "Not part of your work",
		Message: fmt.Sprintf("Document %d is outside your work: it is not waiting for review, and you have not worked on it in the last %d days. "+
			"If you need it, say why: the reason is kept and shown to supervisors.", d.ID, int(a.Access.Window().Hours()/24)),
		BreakGlass: d.ID})
	return false
}

// breakGlass opens a document outside the person's work for a reason they
// type, which is kept in the document's history, audited, and listed for
// supervisors.
func (a *app) breakGlass(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	if a.Access == nil {
		redirect(w, r, fmt.Sprintf("/review/doc/%d", id))
		return
	}
	ctx := r.Context()
	d, err := a.DB.Document(ctx, id)
	if err != nil {
		a.fail(w, r, "read document", err)
		return
	}
	sess, _ := users.FromContext(ctx)
	err = a.Access.BreakGlass(ctx, sess.User, id, r.PostForm.Get("why"))
	if errors.Is(err, users.ErrNoReason) {
		a.renderError(w, r, http.StatusUnprocessableEntity, errorData{Title: "Say why",
			Message: "Say why you need this document, in 10 to 500 characters.", BreakGlass: id})
		return
	}
	if err != nil {
		a.fail(w, r, "break the glass", err)
		return
	}
	// The reason is free text: it stays in the document's history.
	if err := a.record(r, audit.Entry{Action: audit.ActionBreakGlass, Resource: docResource(id), DocumentID: &id,
		PatientID: d.PatientID, Detail: "reason in the document's history"}); err != nil {
		a.fail(w, r, "audit break-the-glass", err)
		return
	}
	a.log.Info("break-the-glass read", "document", id, "user", sess.User.Name)
	redirect(w, r, fmt.Sprintf("/review/doc/%d", id))
}

// viewTokenTTL is how long a view's page-image URLs tie reads to it.
const viewTokenTTL = 12 * time.Hour

// viewMAC signs a view of a document in a session.
func (a *app) viewMAC(session, doc, view, expires int64) string {
	m := hmac.New(sha256.New, a.viewKey)
	fmt.Fprintf(m, "paperchart view\n%d\n%d\n%d\n%d", session, doc, view, expires)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// viewToken is the token a view's page-image URLs carry: the audit entry
// of the view, when the token expires, and a MAC over both with the
// session and the document, so it cannot be forged, moved to another
// document or used by another session.
func (a *app) viewToken(r *http.Request, doc, view int64) string {
	sess, _ := users.FromContext(r.Context())
	exp := time.Now().Add(viewTokenTTL).Unix()
	return fmt.Sprintf("%d.%d.%s", view, exp, a.viewMAC(sess.ID, doc, view, exp))
}

// viewOf returns the audit entry of the view a page-image request's token
// names, or 0 when it has none or it does not verify.
func (a *app) viewOf(r *http.Request, doc int64) int64 {
	parts := strings.Split(r.URL.Query().Get("v"), ".")
	if len(parts) != 3 {
		return 0
	}
	view, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || view < 0 || time.Now().Unix() > exp {
		return 0
	}
	sess, _ := users.FromContext(r.Context())
	if !hmac.Equal([]byte(parts[2]), []byte(a.viewMAC(sess.ID, doc, view, exp))) {
		return 0
	}
	return view
}

// recordList audits a page listing documents, naming them by ID.
func (a *app) recordList(r *http.Request, what string, ids []int64) error {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return a.record(r, audit.Entry{Action: audit.ActionDocumentList, Resource: "DocumentReference",
		Detail: what + ": " + strings.Join(s, ",")})
}
