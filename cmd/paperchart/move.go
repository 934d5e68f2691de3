package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"paperchart/audit"
	"paperchart/classify"
	"paperchart/filing"
	"paperchart/patients"
	"paperchart/storage"
)

// documentsMove moves a filed document to another patient and/or type:
// `paperchart documents move ID --patient MRN [--type T] --reason TEXT`.
func documentsMove(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("documents move", "ID --patient MRN [--type TYPE] --reason TEXT [flags]",
		"Moves a filed document to another patient and/or another type, when it was filed wrong (the\n"+
			"wrong-patient case found later). The old placement is kept in the document's history and becomes\n"+
			"entered-in-error for the EHR (FHIR status; an HL7 MDM^T11 cancels it); a new document, with a new\n"+
			"ID, carries the new placement (FHIR relatesTo replaces; an MDM^T02 and a webhook announce it).\n"+
			"The move is recorded as the operator (cli:USER) in both histories and the audit trail. The same\n"+
			"move given twice is made once; a move to the placement the document has is refused.\n"+
			"MRNs may be written AUTHORITY|MRN. Types: "+strings.Join(typeCodes(), ", ")+".")
	c.register(fs, useDB|useS3)
	authority := authorityFlag(fs)
	mrn := fs.String("patient", "", "MRN of the patient to move the document to (default: it stays with its patient)")
	typ := fs.String("type", "", "the document type to give it (default: its type stays)")
	reason := fs.String("reason", "", "why the document is moved (required; kept in its history)")
	asJSON := fs.Bool("json", false, "print JSON (the old and the new document) for scripts")
	id, err := parseID(fs, args, "document")
	if err != nil {
		return err
	}
	if *mrn == "" && *typ == "" {
		return errors.New("give --patient MRN and/or --type TYPE: where the document goes")
	}
	if strings.TrimSpace(*reason) == "" {
		return errors.New("give --reason: why the document is moved")
	}
	if *typ != "" {
		if _, ok := classify.Lookup(*typ); !ok {
			return fmt.Errorf("--type %q is not a document type (%s)", *typ, strings.Join(typeCodes(), ", "))
		}
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	objs, err := c.openObjects(ctx)
	if err != nil {
		return err
	}
	f, err := filing.New(db, objs, c.filingConfig(), c.logger())
	if err != nil {
		return err
	}
	m := filing.Move{Actor: cliActor(), Type: *typ, Reason: *reason}
	if *mrn != "" {
		ref := parseRef(*mrn, *authority)
		p, err := patients.New(db.Pool(), patients.Options{}).ByMRN(ctx, ref.Authority, ref.MRN)
		if errors.Is(err, patients.ErrNotFound) {
			return errors.New("no patient with that MRN in the index")
		}
		if err != nil {
			return err
		}
		m.PatientID = p.ID
	}
	trail := audit.New(db.Pool())
	res, err := f.MoveFiled(ctx, id, m, moveAudited(trail, cliActor()))
	if err != nil {
		return moveError(err)
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			From  storage.Document `json:"from"`
			To    storage.Document `json:"to"`
			Moved bool             `json:"moved"`
		}{res.From, res.To, res.Moved})
	}
	if !res.Moved {
		fmt.Fprintf(stdout, "document %d was moved already: it is document %d (patient %d, %s); nothing changed\n",
			res.From.ID, res.To.ID, *res.To.PatientID, res.To.Type)
		return nil
	}
	fmt.Fprintf(stdout, "document %d (patient %d, %s) moved: it is now document %d (patient %d, %s)\n",
		res.From.ID, *res.From.PatientID, res.From.Type, res.To.ID, *res.To.PatientID, res.To.Type)
	return nil
}

// moveAudited is the hook that writes a move's audit entry in the move's
// transaction: who, and both placements by IDs. The reason is free text a
// person typed (it may name someone): it is in the documents' histories,
// not in the trail.
func moveAudited(trail *audit.Log, actor string) storage.MoveHook {
	return func(ctx context.Context, tx pgx.Tx, r storage.MoveResult) error {
		_, err := trail.RecordTx(ctx, tx, audit.Entry{Actor: actor, Action: audit.ActionDocumentMove,
			Resource: fmt.Sprintf("DocumentReference/%d", r.From.ID), DocumentID: &r.To.ID, PatientID: r.To.PatientID, Outcome: audit.OutcomeOK,
			Detail: r.AuditDetail()})
		return err
	}
}

// moveError says in plain words why a move was refused.
func moveError(err error) error {
	var me *storage.MovedError
	switch {
	case errors.As(err, &me):
		return fmt.Errorf("document %d was moved already to other placement: it is now document %d; move that one", me.ID, me.To)
	case errors.Is(err, storage.ErrSamePlacement):
		return errors.New("the document is filed to that patient with that type already: nothing to move")
	case errors.Is(err, storage.ErrNotFiled):
		return errors.New("only a filed document can be moved (one in review is filed from the review queue)")
	case errors.Is(err, filing.ErrInactivePatient):
		return errors.New("that patient record is inactive (merged or retired): give the active record's MRN")
	}
	return err
}

func typeCodes() []string {
	var out []string
	for _, t := range classify.Types() {
		out = append(out, t.Code)
	}
	return out
}
