package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"paperchart/audit"
	"paperchart/filing"
	"paperchart/patients"
	"paperchart/storage"
)

// moveFiled moves a filed document to another patient and/or type (records
// staff and up): the move dialog's form. The document page of the new
// placement opens; the same move posted twice is made once.
func (a *app) moveFiled(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	d, err := a.DB.Document(r.Context(), id)
	if err != nil {
		a.fail(w, r, "move document", err)
		return
	}
	if !a.mayRead(w, r, d) {
		return
	}
	m := filing.Move{Actor: user(r), Type: r.PostForm.Get("type"), Reason: r.PostForm.Get("move_reason")}
	if v := r.PostForm.Get("patient_id"); v != "" {
		pid, err := strconv.ParseInt(v, 10, 64)
		if err != nil || pid < 1 {
			a.invalid(w, r, id, "Pick the patient to move the document to (search with /).")
			return
		}
		m.PatientID = pid
	}
	if strings.TrimSpace(m.Reason) == "" || len(m.Reason) > filing.MaxMoveReason {
		a.invalid(w, r, id, "Say why the document is moved (up to 500 characters): it is kept in its history.")
		return
	}
	var hooks []storage.MoveHook
	if a.Audit != nil {
		actor, remote := audit.UserActor(user(r)), remoteIP(r)
		hooks = append(hooks, func(ctx context.Context, tx pgx.Tx, res storage.MoveResult) error {
			_, err := a.Audit.RecordTx(ctx, tx, audit.Entry{Actor: actor, Action: audit.ActionDocumentMove, Resource: docResource(res.From.ID),
				DocumentID: &res.To.ID, PatientID: res.To.PatientID, Remote: remote, Outcome: audit.OutcomeOK, Detail: res.AuditDetail()})
			return err
		})
	}
	res, err := a.Filer.MoveFiled(detached(r.Context()), id, m, hooks...)
	var me *storage.MovedError
	switch {
	case err == nil:
	case errors.As(err, &me):
		a.renderError(w, r, http.StatusConflict, errorData{Title: "Moved already",
			Message: fmt.Sprintf("Document %d was moved already, elsewhere: it is now document %d. Move that one if it is still wrong.", me.ID, me.To),
			Back:    fmt.Sprintf("/review/doc/%d", me.To)})
		return
	case errors.Is(err, storage.ErrSamePlacement):
		a.invalid(w, r, id, "The document is filed to that patient with that type already: nothing to move. Pick another patient or type.")
		return
	case errors.Is(err, storage.ErrNotFiled):
		a.invalid(w, r, id, "Only a filed document can be moved; one waiting for review is filed from the queue.")
		return
	case errors.Is(err, filing.ErrBadMove):
		a.invalid(w, r, id, "Pick a document type and say why the document is moved.")
		return
	case errors.Is(err, patients.ErrNotFound):
		a.invalid(w, r, id, "That patient is not in the patient index. Search for the patient again.")
		return
	case errors.Is(err, filing.ErrInactivePatient):
		a.invalid(w, r, id, "That patient record is inactive (merged into another, or retired). Pick the active record.")
		return
	default:
		a.fail(w, r, "move document", err)
		return
	}
	redirect(w, r, fmt.Sprintf("/review/doc/%d?refiled=%d", res.To.ID, res.From.ID))
}
