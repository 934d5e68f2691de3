package review

// Release of information (package release): the list of requests, the
// form that records one, the review of its documents (include, exclude,
// redaction boxes drawn on the page images), a preview of the packet, and
// the explicit release (a confirmation screen whose form carries a signed
// token: the release POST without it releases nothing) or denial. Records
// staff and supervisors do it; indexers do not. Every page that shows a
// request or its documents is audited, the documents' page images through
// the view tokens of pageImage.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/classify"
	"paperchart/patients"
	"paperchart/release"
	"paperchart/storage"
	"paperchart/users"
)

func (a *app) releaseRoutes() []route {
	return []route{
		{"GET /review/release", users.Records, a.releaseList},
		{"GET /review/release/new", users.Records, a.releaseNew},
		{"POST /review/release", users.Records, a.releaseCreate},
		{"GET /review/release/{id}", users.Records, a.releaseReview},
		{"POST /review/release/{id}/exclude", users.Records, a.releaseExclude},
		{"POST /review/release/{id}/boxes", users.Records, a.releaseBoxes},
		{"POST /review/release/{id}/due", users.Supervisor, a.releaseDue},
		{"GET /review/release/{id}/preview", users.Records, a.releasePreview},
		{"GET /review/release/{id}/confirm", users.Records, a.releaseConfirm},
		{"POST /review/release/{id}/release", users.Records, a.releaseRelease},
		{"POST /review/release/{id}/deny", users.Records, a.releaseDeny},
		{"GET /review/release/{id}/packet", users.Records, a.releasePacket},
	}
}

// releaseTemplates are the release pages, each parsed with layout.html.
var releaseTemplates = []string{"release_list.html", "release_new.html", "release_review.html", "release_confirm.html"}

// parseReleaseTemplates adds the release pages to a.pages.
func (a *app) parseReleaseTemplates() {
	funcs := template.FuncMap{
		"when": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
		"join": strings.Join,
		"neg":  func(n int) int { return -n },
	}
	for _, name := range releaseTemplates {
		a.pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name))
	}
}

// releaser is the Releaser on the server's stores; nil without an audit
// trail, which a release must write to.
func (a *app) releaser() *release.Releaser {
	if a.Audit == nil {
		return nil
	}
	return &release.Releaser{Requests: release.NewStore(a.DB.Pool()), DB: a.DB, Objects: a.Objects, Audit: a.Audit, Log: a.log}
}

// releaseOff answers when the server keeps no audit trail.
func (a *app) releaseOff(w http.ResponseWriter, r *http.Request) bool {
	if a.Audit != nil {
		return false
	}
	a.errorPage(w, r, http.StatusServiceUnavailable, "Release of information is off",
		"Release of information needs the audit trail, which this server does not keep.")
	return true
}

func releaseResource(id int64) string { return release.Resource(id) }

type releaseRow struct {
	release.Request
	Overdue  bool
	DaysLeft int
}

type releaseListData struct {
	Rows     []releaseRow
	Status   string
	Statuses []release.Status
	All      bool // a supervisor: every request
	Today    string
}

func today() chart.Date { return chart.DateOf(time.Now()) }

func daysBetween(from, to chart.Date) int {
	return int(to.Time().Sub(from.Time()).Hours() / 24)
}

// releaseList lists requests: undecided first, by due date, overdue ones
// marked. Supervisors see every request; records staff the undecided ones
// and those they recorded or decided.
func (a *app) releaseList(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) {
		return
	}
	ctx := r.Context()
	f := release.Filter{}
	status := r.URL.Query().Get("status")
	if status != "" {
		st, err := release.ParseStatus(status)
		if err != nil {
			a.errorPage(w, r, http.StatusBadRequest, "Bad request", "There is no such status.")
			return
		}
		f.Status = st
	}
	all := role(r).Allows(users.Supervisor)
	reqs, err := release.NewStore(a.DB.Pool()).List(ctx, f)
	if err != nil {
		a.fail(w, r, "list release requests", err)
		return
	}
	me := user(r)
	d := releaseListData{Status: string(f.Status), Statuses: release.Statuses, All: all, Today: today().String()}
	var ids []string
	for _, q := range reqs {
		if !all && q.Status.Final() && q.CreatedBy != me && q.DecidedBy != me {
			continue
		}
		d.Rows = append(d.Rows, releaseRow{Request: q, Overdue: q.Overdue(today()), DaysLeft: daysBetween(today(), q.Due)})
		ids = append(ids, strconv.FormatInt(q.ID, 10))
	}
	if err := a.record(r, audit.Entry{Action: release.ActionList, Resource: "ReleaseRequest", Detail: "requests: " + strings.Join(ids, ",")}); err != nil {
		a.fail(w, r, "audit release list", err)
		return
	}
	a.render(w, r, http.StatusOK, "release_list.html", a.view(r, "Release of information", "release", "release-list", d))
}

type releaseNewData struct {
	Purposes []release.Purpose
	Types    []typeOption
	Form     map[string]string
	Message  string
	Received string
	Due      string
}

func (a *app) releaseNewData(form map[string]string, msg string) releaseNewData {
	d := releaseNewData{Purposes: release.Purposes, Form: form, Message: msg, Received: today().String(), Due: release.DueFor(today()).String()}
	for _, t := range classify.Types() {
		d.Types = append(d.Types, typeOption{Code: t.Code, Name: t.Name, LOINC: t.LOINC})
	}
	return d
}

func (a *app) releaseNew(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) {
		return
	}
	a.render(w, r, http.StatusOK, "release_new.html", a.view(r, "New release request", "release", "release-new", a.releaseNewData(map[string]string{}, "")))
}

// parseIDs reads "12, 14 15" as document IDs.
func parseIDs(s string) ([]int64, bool) {
	var out []int64
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\r' || r == '\t' }) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, false
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, true
}

func parseFormDate(s string) (chart.Date, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chart.Date{}, true
	}
	d, err := chart.ParseDate(s)
	return d, err == nil
}

// releaseCreate records a request from the form and opens its review.
func (a *app) releaseCreate(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) || !a.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	pf := r.PostForm
	form := map[string]string{}
	for _, k := range []string{"mrn", "requester_name", "requester_organisation", "requester_address", "purpose", "purpose_text",
		"documents", "from", "to", "authorization_on_file", "authorization_document", "received"} {
		form[k] = pf.Get(k)
	}
	for _, t := range pf["types"] {
		form["type:"+t] = "1"
	}
	again := func(msg string) {
		a.render(w, r, http.StatusUnprocessableEntity, "release_new.html", a.view(r, "New release request", "release", "release-new", a.releaseNewData(form, msg)))
	}
	mrn := chart.ParseMRN(pf.Get("mrn"))
	if mrn.IsZero() {
		again("Enter the patient's MRN.")
		return
	}
	p, err := a.Patients.ByMRN(ctx, "", mrn.String())
	if errors.Is(err, patients.ErrNotFound) {
		again("No patient has that MRN.")
		return
	}
	if err != nil {
		a.fail(w, r, "find patient", err)
		return
	}
	if p.MergedInto != nil {
		if p, err = a.Patients.Resolve(ctx, p.ID); err != nil {
			a.fail(w, r, "resolve patient", err)
			return
		}
	}
	n := release.NewRequest{
		Requester: release.Requester{Name: pf.Get("requester_name"), Organisation: pf.Get("requester_organisation"), Address: pf.Get("requester_address")},
		Purpose:   release.Purpose(pf.Get("purpose")), PurposeText: pf.Get("purpose_text"), PatientID: p.ID,
		AuthorizationOnFile: pf.Get("authorization_on_file") != "",
	}
	docs, ok := parseIDs(pf.Get("documents"))
	if !ok {
		again("List documents by their numbers, separated by commas, or leave the list empty.")
		return
	}
	n.Selection.Documents = docs
	var ok1, ok2, ok3 bool
	n.Selection.From, ok1 = parseFormDate(pf.Get("from"))
	n.Selection.To, ok2 = parseFormDate(pf.Get("to"))
	n.Received, ok3 = parseFormDate(pf.Get("received"))
	if !ok1 || !ok2 || !ok3 {
		again("A date is not a date (YYYY-MM-DD).")
		return
	}
	for _, t := range pf["types"] {
		if _, ok := classify.Lookup(t); ok {
			n.Selection.Types = append(n.Selection.Types, t)
		}
	}
	if s := strings.TrimSpace(pf.Get("authorization_document")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			again("The authorisation document is a document number.")
			return
		}
		d, err := a.DB.Document(ctx, id)
		if err != nil || d.PatientID == nil || *d.PatientID != p.ID {
			again("The authorisation document must be a document filed to this patient.")
			return
		}
		n.AuthorizationDocument, n.AuthorizationOnFile = &id, true
	}
	q, err := release.NewStore(a.DB.Pool()).Create(ctx, n, user(r))
	if errors.Is(err, release.ErrInvalid) {
		again(strings.TrimPrefix(err.Error(), release.ErrInvalid.Error()+": "))
		return
	}
	if err != nil {
		a.fail(w, r, "create release request", err)
		return
	}
	pid := p.ID
	if err := a.record(r, audit.Entry{Action: release.ActionCreate, Resource: releaseResource(q.ID), PatientID: &pid,
		Detail: fmt.Sprintf("%s purpose=%s", q.Number, q.Purpose)}); err != nil {
		a.log.Error("audit release request", "request", q.ID, "err", err)
	}
	redirect(w, r, fmt.Sprintf("/review/release/%d", q.ID))
}

// releaseDoc is one selected document on the review page.
type releaseDoc struct {
	storage.Document
	TypeName    string
	ServiceDate string
	Excluded    bool
	Pages       []releasePage
	Boxes       int
}

// releasePage is one page image to review, with its redaction boxes as
// JSON for the script.
type releasePage struct {
	Doc      int64
	No       int
	N        int // 1-based within its document
	Of       int
	Seq      int // 1-based across the pages under review
	URL      string
	Width    int
	Height   int
	BoxesJS  string
	BoxCount int
}

type releaseReviewData struct {
	Req        release.Request
	Overdue    bool
	DaysLeft   int
	Docs       []releaseDoc
	Pages      []releasePage
	Included   int
	PageCount  int
	BoxCount   int
	CanDue     bool
	CanRelease bool
	Flash      string
	Packet     bool
}

// loadRelease reads the request in the path, answering 404 itself.
func (a *app) loadRelease(w http.ResponseWriter, r *http.Request) (release.Request, bool) {
	id, ok := pathID(r, "id")
	if !ok {
		a.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such release request.")
		return release.Request{}, false
	}
	q, err := release.NewStore(a.DB.Pool()).Get(r.Context(), id)
	if errors.Is(err, release.ErrNotFound) {
		a.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such release request.")
		return q, false
	}
	if err != nil {
		a.fail(w, r, "read release request", err)
		return q, false
	}
	return q, true
}

// releaseReview is the review of a request: its documents, each page with
// its redaction boxes, and the actions. Opening an open request puts it in
// review. Every document shown is audited as a view, and its page images
// carry that view's token.
func (a *app) releaseReview(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	rel := a.releaser()
	if q.Status == release.StatusOpen {
		var err error
		if q, err = rel.Requests.StartReview(ctx, q.ID); err != nil {
			a.fail(w, r, "start release review", err)
			return
		}
	}
	docs, err := rel.Documents(ctx, q)
	if err != nil {
		a.fail(w, r, "select documents", err)
		return
	}
	pid := q.PatientID
	if err := a.record(r, audit.Entry{Action: release.ActionView, Resource: releaseResource(q.ID), PatientID: &pid, Detail: q.Number}); err != nil {
		a.fail(w, r, "audit release view", err)
		return
	}
	d := releaseReviewData{Req: q, Overdue: q.Overdue(today()), DaysLeft: daysBetween(today(), q.Due),
		CanDue: role(r).Allows(users.Supervisor), CanRelease: !q.Status.Final(), Packet: q.Status == release.StatusReleased}
	switch {
	case r.URL.Query().Has("released"):
		d.Flash = q.Number + " is released: the packet is stored and every document in it is in the accounting of disclosures."
	case r.URL.Query().Has("denied"):
		d.Flash = q.Number + " is denied. Nothing was released."
	}
	seq := 0
	for _, doc := range docs {
		rd := releaseDoc{Document: doc, Excluded: q.IsExcluded(doc.ID), TypeName: doc.Type}
		if t, ok := classify.Lookup(doc.Type); ok {
			rd.TypeName = t.Name
		}
		if doc.ServiceDate != nil {
			rd.ServiceDate = chart.DateOf(doc.ServiceDate.UTC()).String()
		}
		if !rd.Excluded {
			d.Included++
			d.PageCount += len(doc.Pages)
			// The view of this document, to which its page images belong.
			docID := doc.ID
			view, err := a.recordEntry(r, audit.Entry{Action: audit.ActionDocumentView, Resource: docResource(docID), DocumentID: &docID,
				PatientID: doc.PatientID, Detail: "release review " + q.Number})
			if err != nil {
				a.fail(w, r, "audit view", err)
				return
			}
			tok := a.viewToken(r, docID, view.ID)
			rows, err := a.DB.Pages(ctx, doc.BatchID)
			if err != nil {
				a.fail(w, r, "read pages", err)
				return
			}
			for i, no := range doc.Pages {
				seq++
				boxes := q.BoxesOn(docID, no)
				js, _ := json.Marshal(boxesOrEmpty(boxes))
				pg := releasePage{Doc: docID, No: no, N: i + 1, Of: len(doc.Pages), Seq: seq,
					URL: fmt.Sprintf("/review/doc/%d/page/%d?v=%s", docID, no, tok), BoxesJS: string(js), BoxCount: len(boxes)}
				for _, row := range rows {
					if row.No == no {
						pg.Width, pg.Height = row.Width, row.Height
					}
				}
				rd.Boxes += len(boxes)
				d.BoxCount += len(boxes)
				rd.Pages = append(rd.Pages, pg)
				d.Pages = append(d.Pages, pg)
			}
		}
		d.Docs = append(d.Docs, rd)
	}
	a.render(w, r, http.StatusOK, "release_review.html", a.view(r, q.Number, "release", "release-review", d))
}

func boxesOrEmpty(b []release.Box) []release.Box {
	if b == nil {
		return []release.Box{}
	}
	return b
}

// releaseEditFailed answers a change the request's status refuses, or a
// bad one.
func (a *app) releaseEditFailed(w http.ResponseWriter, r *http.Request, q release.Request, err error) {
	switch {
	case errors.Is(err, release.ErrTransition):
		a.renderError(w, r, http.StatusConflict, errorData{Title: "Already decided",
			Message: fmt.Sprintf("%s is %s: it can no longer be changed.", q.Number, q.Status.Label()), Back: fmt.Sprintf("/review/release/%d", q.ID)})
	case errors.Is(err, release.ErrInvalid):
		a.renderError(w, r, http.StatusUnprocessableEntity, errorData{Title: "Not valid",
			Message: strings.TrimPrefix(err.Error(), release.ErrInvalid.Error()+": "), Back: fmt.Sprintf("/review/release/%d", q.ID)})
	default:
		a.fail(w, r, "change release request", err)
	}
}

// selectedDoc reads the form's document and checks the request selects it.
func (a *app) selectedDoc(w http.ResponseWriter, r *http.Request, q release.Request) (storage.Document, bool) {
	id, err := strconv.ParseInt(r.PostForm.Get("document"), 10, 64)
	if err == nil {
		docs, err := a.releaser().Documents(r.Context(), q)
		if err != nil {
			a.fail(w, r, "select documents", err)
			return storage.Document{}, false
		}
		for _, d := range docs {
			if d.ID == id {
				return d, true
			}
		}
	}
	a.renderError(w, r, http.StatusUnprocessableEntity, errorData{Title: "Not in this request",
		Message: "That document is not one this request selects.", Back: fmt.Sprintf("/review/release/%d", q.ID)})
	return storage.Document{}, false
}

// releaseExclude takes a document out of the request or puts it back.
func (a *app) releaseExclude(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) || !a.parseForm(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	d, ok := a.selectedDoc(w, r, q)
	if !ok {
		return
	}
	excluded := r.PostForm.Get("excluded") == "1"
	if _, err := release.NewStore(a.DB.Pool()).SetExcluded(r.Context(), q.ID, d.ID, excluded); err != nil {
		a.releaseEditFailed(w, r, q, err)
		return
	}
	what := "included"
	if excluded {
		what = "excluded"
	}
	pid := q.PatientID
	if err := a.record(r, audit.Entry{Action: release.ActionEdit, Resource: releaseResource(q.ID), PatientID: &pid, DocumentID: &d.ID,
		Detail: fmt.Sprintf("%s document %d %s", q.Number, d.ID, what)}); err != nil {
		a.log.Error("audit release edit", "request", q.ID, "err", err)
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"document": d.ID, "excluded": excluded})
		return
	}
	redirect(w, r, fmt.Sprintf("/review/release/%d#d%d", q.ID, d.ID))
}

// releaseBoxes replaces the redaction boxes of one page (the review
// page's script posts them after each drag).
func (a *app) releaseBoxes(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) || !a.parseForm(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	d, ok := a.selectedDoc(w, r, q)
	if !ok {
		return
	}
	no, err := strconv.Atoi(r.PostForm.Get("page"))
	if err != nil || !slices.Contains(d.Pages, no) {
		a.errorPage(w, r, http.StatusUnprocessableEntity, "Not valid", "That page is not one of the document's.")
		return
	}
	var boxes []release.Box
	if err := json.Unmarshal([]byte(r.PostForm.Get("boxes")), &boxes); err != nil {
		a.errorPage(w, r, http.StatusUnprocessableEntity, "Not valid", "The redaction boxes could not be read.")
		return
	}
	for i := range boxes {
		boxes[i].Document, boxes[i].Page = d.ID, no
	}
	if _, err := release.NewStore(a.DB.Pool()).SetBoxes(r.Context(), q.ID, d.ID, no, boxes); err != nil {
		a.releaseEditFailed(w, r, q, err)
		return
	}
	pid := q.PatientID
	if err := a.record(r, audit.Entry{Action: release.ActionEdit, Resource: releaseResource(q.ID), PatientID: &pid, DocumentID: &d.ID,
		Detail: fmt.Sprintf("%s document %d page %d: %d redaction boxes", q.Number, d.ID, no, len(boxes))}); err != nil {
		a.log.Error("audit release edit", "request", q.ID, "err", err)
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"document": d.ID, "page": no, "boxes": boxesOrEmpty(boxes)})
		return
	}
	redirect(w, r, fmt.Sprintf("/review/release/%d", q.ID))
}

// releaseDue is a supervisor's change of the due date.
func (a *app) releaseDue(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) || !a.parseForm(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	due, ok := parseFormDate(r.PostForm.Get("due"))
	if !ok || due.IsZero() {
		a.errorPage(w, r, http.StatusUnprocessableEntity, "Not valid", "The due date is not a date (YYYY-MM-DD).")
		return
	}
	if _, err := release.NewStore(a.DB.Pool()).SetDue(r.Context(), q.ID, due); err != nil {
		a.releaseEditFailed(w, r, q, err)
		return
	}
	pid := q.PatientID
	if err := a.record(r, audit.Entry{Action: release.ActionEdit, Resource: releaseResource(q.ID), PatientID: &pid,
		Detail: fmt.Sprintf("%s due %s (was %s)", q.Number, due, q.Due)}); err != nil {
		a.log.Error("audit release edit", "request", q.ID, "err", err)
	}
	redirect(w, r, fmt.Sprintf("/review/release/%d", q.ID))
}

// recordDocuments audits a read of the documents' PDFs (the packet, its
// preview): one entry per document, before anything is sent.
func (a *app) recordDocuments(r *http.Request, q release.Request, ids []int64, what string) error {
	for _, id := range ids {
		pid := q.PatientID
		if err := a.record(r, audit.Entry{Action: audit.ActionDocumentPDF, Resource: docResource(id), DocumentID: &id, PatientID: &pid,
			Detail: what + " " + q.Number}); err != nil {
			return err
		}
	}
	return nil
}

// releasePreview sends the packet as it would be released now, without
// storing it or releasing anything.
func (a *app) releasePreview(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	rel := a.releaser()
	docs, err := rel.Released(r.Context(), q)
	if err != nil {
		a.fail(w, r, "select documents", err)
		return
	}
	if len(docs) == 0 {
		a.renderError(w, r, http.StatusUnprocessableEntity, errorData{Title: "Nothing to preview",
			Message: "Every document is excluded: include one to preview the packet.", Back: fmt.Sprintf("/review/release/%d", q.ID)})
		return
	}
	ids := make([]int64, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	if err := a.recordDocuments(r, q, ids, "release preview"); err != nil {
		a.fail(w, r, "audit preview", err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-preview.pdf"`, q.Number))
	if _, _, err := rel.Packet(r.Context(), w, q, user(r), time.Now()); err != nil {
		a.log.Error("release preview", "request", q.ID, "err", err)
	}
}

// confirmToken is what the confirmation screen's form carries: a MAC over
// the session, the request and its last change, so a release is only
// made from the screen that showed the request as it is.
func (a *app) confirmToken(r *http.Request, q release.Request) string {
	sess, _ := users.FromContext(r.Context())
	m := hmac.New(sha256.New, a.viewKey)
	fmt.Fprintf(m, "paperchart release confirm\n%d\n%d\n%d", sess.ID, q.ID, q.UpdatedAt.UnixMicro())
	return hex.EncodeToString(m.Sum(nil)[:16])
}

type releaseConfirmData struct {
	Req       release.Request
	Docs      []releaseDoc
	PageCount int
	BoxCount  int
	Token     string
}

// releaseConfirm is the confirmation screen: what will be released, to
// whom, and the one button that releases it.
func (a *app) releaseConfirm(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	if q.Status.Final() {
		redirect(w, r, fmt.Sprintf("/review/release/%d", q.ID))
		return
	}
	docs, err := a.releaser().Released(r.Context(), q)
	if err != nil {
		a.fail(w, r, "select documents", err)
		return
	}
	pid := q.PatientID
	if err := a.record(r, audit.Entry{Action: release.ActionView, Resource: releaseResource(q.ID), PatientID: &pid, Detail: q.Number + " confirmation"}); err != nil {
		a.fail(w, r, "audit release view", err)
		return
	}
	d := releaseConfirmData{Req: q, Token: a.confirmToken(r, q), BoxCount: len(q.Boxes)}
	for _, doc := range docs {
		rd := releaseDoc{Document: doc, TypeName: doc.Type}
		if t, ok := classify.Lookup(doc.Type); ok {
			rd.TypeName = t.Name
		}
		if doc.ServiceDate != nil {
			rd.ServiceDate = chart.DateOf(doc.ServiceDate.UTC()).String()
		}
		for _, no := range doc.Pages {
			rd.Boxes += len(q.BoxesOn(doc.ID, no))
		}
		d.PageCount += len(doc.Pages)
		d.Docs = append(d.Docs, rd)
	}
	a.render(w, r, http.StatusOK, "release_confirm.html", a.view(r, "Release "+q.Number+"?", "release", "release-confirm", d))
}

// releaseRelease releases the request: only from the confirmation screen
// (its token), never twice.
func (a *app) releaseRelease(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) || !a.parseForm(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	back := fmt.Sprintf("/review/release/%d", q.ID)
	if q.Status == release.StatusReleased {
		redirect(w, r, back+"?released=1")
		return
	}
	pid := q.PatientID
	if got := r.PostForm.Get("confirm"); got == "" || !hmac.Equal([]byte(got), []byte(a.confirmToken(r, q))) {
		if err := a.record(r, audit.Entry{Action: release.ActionRefused, Resource: releaseResource(q.ID), PatientID: &pid,
			Outcome: audit.OutcomeDenied, Detail: q.Number + ": not confirmed, or changed since"}); err != nil {
			a.log.Error("audit release refusal", "request", q.ID, "err", err)
		}
		a.renderError(w, r, http.StatusConflict, errorData{Title: "Confirm the release",
			Message: fmt.Sprintf("%s was not released: confirm it on the confirmation screen, which shows it as it is now.", q.Number),
			Back:    back + "/confirm"})
		return
	}
	_, _, err := a.releaser().ReleaseAsOf(detached(r.Context()), q.ID, q.UpdatedAt, user(r), audit.UserActor(user(r)), remoteIP(r))
	switch {
	case errors.Is(err, release.ErrChanged):
		a.renderError(w, r, http.StatusConflict, errorData{Title: "Confirm the release",
			Message: fmt.Sprintf("%s changed while you confirmed it, and was not released: confirm it again.", q.Number), Back: back + "/confirm"})
		return
	case errors.Is(err, release.ErrNothingToRelease):
		a.renderError(w, r, http.StatusUnprocessableEntity, errorData{Title: "Nothing to release",
			Message: "Every document is excluded: include one, or deny the request.", Back: back})
		return
	case err != nil:
		a.releaseEditFailed(w, r, q, err)
		return
	}
	redirect(w, r, back+"?released=1")
}

// releaseDeny denies the request with a reason.
func (a *app) releaseDeny(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) || !a.parseForm(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	d, err := release.NewStore(a.DB.Pool()).Deny(r.Context(), q.ID, user(r), r.PostForm.Get("reason"))
	if err != nil {
		a.releaseEditFailed(w, r, q, err)
		return
	}
	pid := q.PatientID
	// The reason is free text: it stays on the request.
	if err := a.record(r, audit.Entry{Action: release.ActionDeny, Resource: releaseResource(q.ID), PatientID: &pid,
		Detail: d.Number + " denied; the reason is on the request"}); err != nil {
		a.log.Error("audit release deny", "request", q.ID, "err", err)
	}
	redirect(w, r, fmt.Sprintf("/review/release/%d?denied=1", q.ID))
}

// releasePacket sends the stored packet of a released request.
func (a *app) releasePacket(w http.ResponseWriter, r *http.Request) {
	if a.releaseOff(w, r) {
		return
	}
	q, ok := a.loadRelease(w, r)
	if !ok {
		return
	}
	if q.Status != release.StatusReleased || q.PacketKey == "" {
		a.errorPage(w, r, http.StatusNotFound, "Not found", "This request has no packet: it is not released.")
		return
	}
	ids := make([]int64, len(q.PacketDocuments))
	for i, d := range q.PacketDocuments {
		ids[i] = d.Document
	}
	if err := a.recordDocuments(r, q, ids, "release packet"); err != nil {
		a.fail(w, r, "audit packet", err)
		return
	}
	rc, size, err := a.Objects.Open(r.Context(), q.PacketKey)
	if err != nil {
		a.fail(w, r, "open packet", err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.pdf"`, q.Number))
	if _, err := io.Copy(w, rc); err != nil {
		a.log.Warn("send packet", "request", q.ID, "err", err)
	}
}
