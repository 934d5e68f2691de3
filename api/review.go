package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/classify"
	"paperchart/filing"
	"paperchart/patients"
	"paperchart/sheets"
	"paperchart/storage"
	"paperchart/users"
)

// Documents is what the review API reads and changes of documents.
type Documents interface {
	ReviewQueue(ctx context.Context, f storage.ReviewFilter) ([]storage.Document, error)
	ReviewCount(ctx context.Context) (int, error)
	Document(ctx context.Context, id int64) (storage.Document, error)
	DocumentEvents(ctx context.Context, id int64) ([]storage.DocumentEvent, error)
	RecordDocumentEvent(ctx context.Context, id int64, actor, event, detail string) error
	PatientDocuments(ctx context.Context, patientID int64) ([]storage.Document, error)
	Discard(ctx context.Context, id int64, actor, reason string) error
	TypeCheckList(ctx context.Context, limit int, afterID int64) ([]storage.Document, error)
	TypeCheckCount(ctx context.Context) (int, error)
}

// Patients is what the review API reads of the patient index.
type Patients interface {
	ByID(ctx context.Context, id int64) (patients.Patient, error)
	ByMRN(ctx context.Context, authority, mrn string) (patients.Patient, error)
	Candidates(ctx context.Context, q patients.Query, limit int) ([]patients.Patient, error)
}

// Filer files a reviewed document.
type Filer interface {
	FileReviewed(ctx context.Context, id int64, r filing.ReviewDecision) (storage.Document, error)
	ConfirmType(ctx context.Context, id int64, actor, code string) (storage.Document, error)
}

// Objects opens stored documents.
type Objects interface {
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
}

// userHeader names the person acting when the API is served without
// sign-in (tests, a trusted local script); "api" stands for an unnamed one.
// Behind sign-in the session's user is the actor and the header is ignored.
const userHeader = "X-Paperchart-User"

func actor(r *http.Request) string {
	if sess, ok := users.FromContext(r.Context()); ok {
		return sess.User.Name
	}
	if u := strings.TrimSpace(r.Header.Get(userHeader)); u != "" && len(u) <= 100 {
		return u
	}
	return "api"
}

func (s *Server) reviewRoutes(mux *http.ServeMux) {
	if s.Documents == nil {
		return
	}
	protect := s.Protect
	if protect == nil {
		protect = func(h http.Handler) http.Handler { return h }
	}
	for pattern, h := range s.reviewHandlers() {
		mux.Handle(pattern, protect(h))
	}
}

// reviewHandlers are the routes that carry patient data.
func (s *Server) reviewHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /api/review":                      s.listReview,
		"GET /api/documents/{id}":              s.showDocument,
		"GET /api/documents/{id}/pdf":          s.documentPDF,
		"POST /api/documents/{id}/break-glass": s.breakGlass,
		"POST /api/documents/{id}/file":        s.fileDocument,
		"POST /api/documents/{id}/discard":     s.discardDocument,
		"POST /api/documents/{id}/type":        s.confirmType,
		"GET /api/typecheck":                   s.listTypeCheck,
		"GET /api/patients/search":             s.searchPatients,
		"GET /api/patients/{id}/documents":     s.patientDocuments,
		"GET /api/coversheet":                  s.coversheet,
		"GET /api/types":                       s.listTypes,
	}
}

// record appends an entry for the caller to the audit trail, when the
// server keeps one; it answers 500 itself and reports false when the trail
// cannot be written, so that nothing is served without its record.
func (s *Server) record(w http.ResponseWriter, r *http.Request, e audit.Entry) bool {
	if s.Audit == nil {
		return true
	}
	e.Actor = audit.UserActor(actor(r))
	if e.Outcome == "" {
		e.Outcome = audit.OutcomeOK
	}
	e.Remote = r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		e.Remote = host
	}
	if _, err := s.Audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.internal(w, "audit "+e.Action, err)
		return false
	}
	return true
}

func docResource(id int64) string { return fmt.Sprintf("DocumentReference/%d", id) }

// recordList audits a list of documents by their IDs.
func (s *Server) recordList(w http.ResponseWriter, r *http.Request, what string, docs []storage.Document) bool {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = strconv.FormatInt(d.ID, 10)
	}
	return s.record(w, r, audit.Entry{Action: audit.ActionDocumentList, Resource: "DocumentReference",
		Detail: what + ": " + strings.Join(ids, ",")})
}

// caller is the signed-in user; without sign-in (Protect nil), a user of
// no role named by actor.
func caller(r *http.Request) users.User {
	if sess, ok := users.FromContext(r.Context()); ok {
		return sess.User
	}
	return users.User{Name: actor(r)}
}

// mayRead checks minimum necessary (Server.Access) for d. When the caller
// may not read it, it audits the refusal and answers 403 itself.
func (s *Server) mayRead(w http.ResponseWriter, r *http.Request, d storage.Document, action string) bool {
	if s.Access == nil {
		return true
	}
	basis, err := s.Access.Document(r.Context(), caller(r), d.ID)
	if err != nil {
		s.fail(w, "no such document", "check access", err)
		return false
	}
	if basis != "" {
		return true
	}
	if s.record(w, r, audit.Entry{Action: action, Resource: docResource(d.ID), DocumentID: &d.ID, PatientID: d.PatientID,
		Outcome: audit.OutcomeDenied, Detail: "outside minimum necessary"}) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("document %d is outside your work; to read it anyway, "+
			"POST /api/documents/%d/break-glass with {\"reason\": \"...\"} (kept and shown to supervisors)", d.ID, d.ID))
	}
	return false
}

// BreakGlassRequest is the body of POST /api/documents/{id}/break-glass.
type BreakGlassRequest struct {
	Reason string `json:"reason"`
}

// breakGlass lets the caller read a document outside their work for
// users.BreakGlassFor, for the reason given, which is kept in the
// document's history and audited.
func (s *Server) breakGlass(w http.ResponseWriter, r *http.Request) {
	d, ok := s.document(w, r)
	if !ok {
		return
	}
	var req BreakGlassRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if s.Access == nil {
		writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "until": time.Now().Add(users.BreakGlassFor)})
		return
	}
	err := s.Access.BreakGlass(r.Context(), caller(r), d.ID, req.Reason)
	if errors.Is(err, users.ErrNoReason) {
		writeError(w, http.StatusBadRequest, "a reason of 10 to 500 characters is required")
		return
	}
	if err != nil {
		s.internal(w, "break the glass", err)
		return
	}
	if s.record(w, r, audit.Entry{Action: audit.ActionBreakGlass, Resource: docResource(d.ID), DocumentID: &d.ID,
		PatientID: d.PatientID, Detail: "reason in the document's history"}) {
		writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "until": time.Now().Add(users.BreakGlassFor)})
	}
}

// PatientSummary is how a patient is shown to a technician.
type PatientSummary struct {
	ID        int64  `json:"id"`
	Authority string `json:"assigning_authority"`
	MRN       string `json:"mrn"`
	Family    string `json:"family"`
	Given     string `json:"given"`
	BirthDate string `json:"birth_date,omitempty"`
	Sex       string `json:"sex,omitempty"`
	Active    bool   `json:"active"`
}

func summary(p patients.Patient) PatientSummary {
	ps := PatientSummary{ID: p.ID, Authority: p.Authority, MRN: p.MRN, Family: p.Family, Given: p.Given, Sex: p.Sex, Active: p.Active}
	if !p.BirthDate.IsZero() {
		ps.BirthDate = p.BirthDate.String()
	}
	return ps
}

// ReviewCandidate is a proposed patient with how well it matched.
type ReviewCandidate struct {
	chart.Candidate
	Patient *PatientSummary `json:"patient,omitempty"`
}

// ReviewItem is one document of the review queue.
type ReviewItem struct {
	ID             int64            `json:"id"`
	BatchID        int64            `json:"batch_id"`
	Seq            int              `json:"seq"`
	PageCount      int              `json:"page_count"`
	Type           string           `json:"type_suggested"`
	TypeName       string           `json:"type_name,omitempty"`
	TypeConfidence float64          `json:"type_confidence"`
	SplitReview    bool             `json:"split_review"`
	TypeReview     bool             `json:"type_review"`
	PatientReview  bool             `json:"patient_review"`
	Reasons        []string         `json:"review_reasons"`
	BestCandidate  *ReviewCandidate `json:"best_candidate,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
}

// ReviewList is the review queue, a page of it at a time.
type ReviewList struct {
	Count     int          `json:"count"` // documents waiting in all
	Documents []ReviewItem `json:"documents"`
	// Next is the after= value of the next page; 0 at the end.
	Next int64 `json:"next,omitempty"`
}

// pageParams reads a document list's paging parameters: limit (1 to 500,
// default 50) and after (a document ID, default 0). It answers 400 and
// reports false when one is malformed.
func pageParams(w http.ResponseWriter, r *http.Request) (limit int, after int64, ok bool) {
	q := r.URL.Query()
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to 500")
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "after must be a document id")
			return 0, 0, false
		}
		after = n
	}
	return limit, after, true
}

func (s *Server) listReview(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := pageParams(w, r)
	if !ok {
		return
	}
	f := storage.ReviewFilter{Limit: limit, AfterID: after}
	ctx := r.Context()
	docs, err := s.Documents.ReviewQueue(ctx, f)
	if err != nil {
		s.internal(w, "read review queue", err)
		return
	}
	out := ReviewList{Documents: make([]ReviewItem, 0, len(docs))}
	if out.Count, err = s.Documents.ReviewCount(ctx); err != nil {
		s.internal(w, "count review queue", err)
		return
	}
	for _, d := range docs {
		item := ReviewItem{ID: d.ID, BatchID: d.BatchID, Seq: d.Seq, PageCount: len(d.Pages), Type: d.TypeSuggested,
			TypeConfidence: d.TypeConfidence, SplitReview: d.SplitReview, TypeReview: d.TypeReview,
			PatientReview: d.PatientReview, Reasons: d.ReviewReasons, CreatedAt: d.CreatedAt}
		if t, ok := classify.Lookup(d.TypeSuggested); ok {
			item.TypeName = t.Name
		}
		cands, err := s.candidates(ctx, d, 1)
		if err != nil {
			s.internal(w, "read candidates", err)
			return
		}
		if len(cands) > 0 {
			item.BestCandidate = &cands[0]
		}
		out.Documents = append(out.Documents, item)
	}
	if len(docs) == f.Limit {
		out.Next = docs[len(docs)-1].ID
	}
	if s.recordList(w, r, "review queue", docs) {
		writeJSON(w, http.StatusOK, out)
	}
}

// candidates decodes a document's stored candidates, at most limit (0: all),
// with each patient as the index has it now.
func (s *Server) candidates(ctx context.Context, d storage.Document, limit int) ([]ReviewCandidate, error) {
	cs := d.Candidates
	if limit > 0 && len(cs) > limit {
		cs = cs[:limit]
	}
	out := make([]ReviewCandidate, len(cs))
	for i, c := range cs {
		out[i] = ReviewCandidate{Candidate: c}
		if s.Patients == nil {
			continue
		}
		p, err := s.Patients.ByID(ctx, c.PatientID)
		if errors.Is(err, patients.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ps := summary(p)
		out[i].Patient = &ps
	}
	return out, nil
}

// DocumentDetail is everything a technician needs to decide a document.
type DocumentDetail struct {
	storage.Document
	TypeName   string                  `json:"type_name,omitempty"`
	Patient    *PatientSummary         `json:"patient,omitempty"`
	Candidates []ReviewCandidate       `json:"candidates"`
	PDF        string                  `json:"pdf"`
	Events     []storage.DocumentEvent `json:"events"`
}

func parseID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, what+" id must be a positive whole number")
		return 0, false
	}
	return id, true
}

// document reads one document and answers 404 or 500 itself.
func (s *Server) document(w http.ResponseWriter, r *http.Request) (storage.Document, bool) {
	id, ok := parseID(w, r, "document")
	if !ok {
		return storage.Document{}, false
	}
	d, err := s.Documents.Document(r.Context(), id)
	if err != nil {
		s.fail(w, "no such document", "read document", err)
		return d, false
	}
	return d, true
}

func (s *Server) showDocument(w http.ResponseWriter, r *http.Request) {
	d, ok := s.document(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if !s.mayRead(w, r, d, audit.ActionDocumentView) {
		return
	}
	// Every read of a patient's document is recorded, before it is served.
	if !s.record(w, r, audit.Entry{Action: audit.ActionDocumentView, Resource: docResource(d.ID), DocumentID: &d.ID, PatientID: d.PatientID}) {
		return
	}
	if err := s.Documents.RecordDocumentEvent(ctx, d.ID, actor(r), "viewed", ""); err != nil {
		s.internal(w, "audit document read", err)
		return
	}
	out := DocumentDetail{Document: d, PDF: fmt.Sprintf("/api/documents/%d/pdf", d.ID)}
	if t, ok := classify.Lookup(d.Type); ok {
		out.TypeName = t.Name
	} else if t, ok := classify.Lookup(d.TypeSuggested); ok {
		out.TypeName = t.Name
	}
	var err error
	if out.Candidates, err = s.candidates(ctx, d, 0); err != nil {
		s.internal(w, "read candidates", err)
		return
	}
	if d.PatientID != nil && s.Patients != nil {
		if p, err := s.Patients.ByID(ctx, *d.PatientID); err == nil {
			ps := summary(p)
			out.Patient = &ps
		}
	}
	if out.Events, err = s.Documents.DocumentEvents(ctx, d.ID); err != nil {
		s.internal(w, "read document history", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) documentPDF(w http.ResponseWriter, r *http.Request) {
	d, ok := s.document(w, r)
	if !ok {
		return
	}
	if s.Objects == nil {
		writeError(w, http.StatusServiceUnavailable, "document storage is not configured")
		return
	}
	ctx := r.Context()
	if !s.mayRead(w, r, d, audit.ActionDocumentPDF) {
		return
	}
	if !s.record(w, r, audit.Entry{Action: audit.ActionDocumentPDF, Resource: docResource(d.ID), DocumentID: &d.ID, PatientID: d.PatientID}) {
		return
	}
	if err := s.Documents.RecordDocumentEvent(ctx, d.ID, actor(r), "downloaded", ""); err != nil {
		s.internal(w, "audit document read", err)
		return
	}
	rc, size, err := s.Objects.Open(ctx, d.ObjectKey)
	if err != nil {
		s.internal(w, "open document PDF", err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="document-%d.pdf"`, d.ID))
	if _, err := io.Copy(w, rc); err != nil {
		s.Log.Warn("send document PDF", "document", d.ID, "err", err)
	}
}

// FileRequest is the body of POST /api/documents/{id}/file.
type FileRequest struct {
	PatientID int64  `json:"patient_id"`
	Type      string `json:"type"`
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "the request body must be a JSON object with the documented fields")
		return false
	}
	return true
}

func (s *Server) fileDocument(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(w, r, "document")
	if !ok {
		return
	}
	if s.Filer == nil {
		writeError(w, http.StatusServiceUnavailable, "filing is not configured on this server")
		return
	}
	var req FileRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.PatientID < 1 {
		writeError(w, http.StatusBadRequest, "patient_id is required")
		return
	}
	if _, ok := classify.Lookup(req.Type); !ok {
		writeError(w, http.StatusBadRequest, "type must be one of the codes GET /api/types lists")
		return
	}
	d, err := s.Filer.FileReviewed(r.Context(), id, filing.ReviewDecision{Actor: actor(r), PatientID: req.PatientID, Type: req.Type})
	switch {
	case errors.Is(err, storage.ErrNotInReview):
		writeError(w, http.StatusConflict, "the document is no longer waiting for review")
	case errors.Is(err, patients.ErrNotFound): // the patient chosen, not the thing asked for
		writeError(w, http.StatusUnprocessableEntity, "no such patient")
	case errors.Is(err, filing.ErrInactivePatient):
		writeError(w, http.StatusUnprocessableEntity, "that patient record is inactive")
	case err != nil:
		s.fail(w, "no such document", "file document", err)
	default:
		writeJSON(w, http.StatusOK, d)
	}
}

// TypeCheckItem is one document of the type-check queue: filed under its
// patient, its type preliminary.
type TypeCheckItem struct {
	ID             int64     `json:"id"`
	BatchID        int64     `json:"batch_id"`
	Seq            int       `json:"seq"`
	PageCount      int       `json:"page_count"`
	PatientID      int64     `json:"patient_id"`
	Type           string    `json:"type"`
	TypeName       string    `json:"type_name,omitempty"`
	TypeConfidence float64   `json:"type_confidence"`
	CreatedAt      time.Time `json:"created_at"`
}

// TypeCheckList is the type-check queue, a page at a time.
type TypeCheckList struct {
	Count     int             `json:"count"`
	Documents []TypeCheckItem `json:"documents"`
	Next      int64           `json:"next,omitempty"` // after= of the next page; 0 at the end
}

func (s *Server) listTypeCheck(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := pageParams(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	docs, err := s.Documents.TypeCheckList(ctx, limit, after)
	if err != nil {
		s.internal(w, "read the type-check queue", err)
		return
	}
	out := TypeCheckList{Documents: make([]TypeCheckItem, 0, len(docs))}
	if out.Count, err = s.Documents.TypeCheckCount(ctx); err != nil {
		s.internal(w, "count the type-check queue", err)
		return
	}
	for _, d := range docs {
		it := TypeCheckItem{ID: d.ID, BatchID: d.BatchID, Seq: d.Seq, PageCount: len(d.Pages), Type: d.Type,
			TypeConfidence: d.TypeConfidence, CreatedAt: d.CreatedAt}
		if d.PatientID != nil {
			it.PatientID = *d.PatientID
		}
		if t, ok := classify.Lookup(d.Type); ok {
			it.TypeName = t.Name
		}
		out.Documents = append(out.Documents, it)
	}
	if len(docs) == limit {
		out.Next = docs[len(docs)-1].ID
	}
	if s.recordList(w, r, "type-check queue", docs) {
		writeJSON(w, http.StatusOK, out)
	}
}

// TypeRequest is the body of POST /api/documents/{id}/type.
type TypeRequest struct {
	Type string `json:"type"`
}

// confirmType confirms or corrects the type of a filed, preliminary
// document, which makes it final.
func (s *Server) confirmType(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(w, r, "document")
	if !ok {
		return
	}
	if s.Filer == nil {
		writeError(w, http.StatusServiceUnavailable, "filing is not configured on this server")
		return
	}
	var req TypeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if _, ok := classify.Lookup(req.Type); !ok {
		writeError(w, http.StatusBadRequest, "type must be one of the codes GET /api/types lists")
		return
	}
	d, err := s.Filer.ConfirmType(r.Context(), id, actor(r), req.Type)
	switch {
	case errors.Is(err, storage.ErrNotInTypeCheck):
		writeError(w, http.StatusConflict, "the document's type is not waiting for a check")
	case err != nil:
		s.fail(w, "no such document", "confirm document type", err)
	default:
		writeJSON(w, http.StatusOK, d)
	}
}

// DiscardRequest is the body of POST /api/documents/{id}/discard.
type DiscardRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) discardDocument(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(w, r, "document")
	if !ok {
		return
	}
	var req DiscardRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 500 {
		writeError(w, http.StatusBadRequest, "a reason (up to 500 characters) is required")
		return
	}
	err := s.Documents.Discard(r.Context(), id, actor(r), req.Reason)
	switch {
	case errors.Is(err, storage.ErrNotInReview):
		writeError(w, http.StatusConflict, "the document is no longer waiting for review")
	case err != nil:
		s.fail(w, "no such document", "discard document", err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "state": storage.DocDiscarded})
	}
}

// searchPatients lets a technician look for the right patient by MRN, name
// or birth date: GET /api/patients/search?mrn=&family=&given=&birth_date=.
func (s *Server) searchPatients(w http.ResponseWriter, r *http.Request) {
	if s.Patients == nil {
		writeError(w, http.StatusServiceUnavailable, "the patient index is not configured on this server")
		return
	}
	v := r.URL.Query()
	q := patients.Query{MRN: v.Get("mrn"), Family: v.Get("family"), Given: v.Get("given"), Authority: v.Get("authority")}
	if bd := v.Get("birth_date"); bd != "" {
		d, err := chart.ParseDate(bd)
		if err != nil {
			writeError(w, http.StatusBadRequest, "birth_date must be a date such as 1958-03-14")
			return
		}
		q.BirthDate = d
	}
	found, err := s.Patients.Candidates(r.Context(), q, 20)
	if errors.Is(err, patients.ErrEmptyQuery) {
		writeError(w, http.StatusBadRequest, "give an mrn, a name or a birth_date")
		return
	}
	if err != nil {
		s.internal(w, "search patients", err)
		return
	}
	out := make([]PatientSummary, len(found))
	ids := make([]string, len(found))
	for i, p := range found {
		out[i] = summary(p)
		ids[i] = strconv.FormatInt(p.ID, 10)
	}
	// By the parameters given and the patients found, never the values.
	var params []string
	for _, k := range []string{"mrn", "family", "given", "birth_date", "authority"} {
		if v.Get(k) != "" {
			params = append(params, k)
		}
	}
	if s.record(w, r, audit.Entry{Action: audit.ActionPatientSearch,
		Detail: "by " + strings.Join(params, ",") + "; found Patient/" + strings.Join(ids, ",")}) {
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) patientDocuments(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(w, r, "patient")
	if !ok {
		return
	}
	all, err := s.Documents.PatientDocuments(r.Context(), id)
	if err != nil {
		s.internal(w, "read patient documents", err)
		return
	}
	// Only the documents the caller may read (minimum necessary).
	docs := []storage.Document{}
	for _, d := range all {
		if s.Access != nil {
			basis, err := s.Access.Document(r.Context(), caller(r), d.ID)
			if err != nil {
				s.internal(w, "check access", err)
				return
			}
			if basis == "" {
				continue
			}
		}
		docs = append(docs, d)
	}
	if s.recordList(w, r, fmt.Sprintf("documents of patient %d, %d of %d shown", id, len(docs), len(all)), docs) {
		writeJSON(w, http.StatusOK, docs)
	}
}

// TypeInfo is one document type as the API lists it.
type TypeInfo struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	LOINC string `json:"loinc"`
}

func (s *Server) listTypes(w http.ResponseWriter, r *http.Request) {
	ts := classify.Types()
	out := make([]TypeInfo, len(ts))
	for i, t := range ts {
		out[i] = TypeInfo{Code: t.Code, Name: t.Name, LOINC: t.LOINC}
	}
	writeJSON(w, http.StatusOK, out)
}

// coversheet prints a cover sheet PDF for a patient of the index:
// GET /api/coversheet?mrn=M[&authority=A][&type=T].
func (s *Server) coversheet(w http.ResponseWriter, r *http.Request) {
	if s.Patients == nil {
		writeError(w, http.StatusServiceUnavailable, "the patient index is not configured on this server")
		return
	}
	v := r.URL.Query()
	mrn := strings.TrimSpace(v.Get("mrn"))
	if mrn == "" {
		writeError(w, http.StatusBadRequest, "mrn is required")
		return
	}
	c := sheets.CoverSheet{Authority: v.Get("authority"), MRN: mrn, Created: time.Now()}
	if t := v.Get("type"); t != "" {
		ty, ok := classify.Lookup(t)
		if !ok {
			writeError(w, http.StatusBadRequest, "type must be one of the codes GET /api/types lists")
			return
		}
		c.Type, c.TypeLabel = ty.Code, ty.Name
	}
	p, err := s.Patients.ByMRN(r.Context(), c.Authority, mrn)
	if err != nil {
		s.fail(w, "the patient index has no patient with that MRN", "look up patient", err)
		return
	}
	if !p.Active {
		writeError(w, http.StatusUnprocessableEntity, "that MRN was merged into another patient or is inactive")
		return
	}
	c.PatientName = p.Family + ", " + p.Given
	if !p.BirthDate.IsZero() {
		c.BirthDate = p.BirthDate.String()
	}
	var buf bytes.Buffer
	if err := sheets.CoverSheetPDF(r.Context(), &buf, c); err != nil {
		s.internal(w, "print cover sheet", err)
		return
	}
	if !s.record(w, r, audit.Entry{Action: audit.ActionCoverSheet, Resource: fmt.Sprintf("Patient/%d", p.ID), PatientID: &p.ID}) {
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `inline; filename="coversheet.pdf"`)
	w.Write(buf.Bytes())
}
