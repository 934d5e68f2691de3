package review

import (
	"fmt"
	"net/http"

	"paperchart/audit"
)

// record appends an entry for the signed-in person to the audit trail, when
// the server keeps one (Server.Audit). Entries name documents and patients
// by ID only.
func (a *app) record(r *http.Request, e audit.Entry) error {
	if a.Audit == nil {
		return nil
	}
	if e.Actor == "" {
		e.Actor = audit.UserActor(user(r))
	}
	if e.Outcome == "" {
		e.Outcome = audit.OutcomeOK
	}
	e.Remote = remoteIP(r)
	_, err := a.Audit.Record(detached(r.Context()), e)
	return err
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

func docResource(id int64) string { return fmt.Sprintf("DocumentReference/%d", id) }
