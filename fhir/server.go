// Package fhir owns paperchart's FHIR R4 server for the EHR: Patient,
// DocumentReference (US Core) and Binary, read and search, as JSON
// (application/fhir+json), under /fhir/.
//
// Every request must carry a bearer token whose scopes allow the resource
// (SMART style: system/DocumentReference.read, ...); without one the answer
// is an OperationOutcome with 401, with a scope missing 403, and never any
// patient data. Every read and search is written to the audit trail (who,
// what resource ids, the outcome) before the answer is sent, and a Binary
// download also to the document's own history.
//
// Only filed documents are served: documents waiting for review, discarded
// or merged ones are not there for the EHR.
package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"paperchart/chart"
	"paperchart/patients"
	"paperchart/storage"
)

// Caller is who is asking: a system known by its token.
type Caller struct {
	Name   string
	Allows func(resource string) bool // resource type: "Patient", "DocumentReference", "Binary"
}

// Authenticator finds the caller of a request (its bearer token). It fails
// with an error wrapping ErrNoCaller when the request has no valid token,
// and with another error when it could not tell (the database is down).
type Authenticator interface {
	Caller(r *http.Request) (Caller, error)
}

// ErrNoCaller means a request carries no valid token.
var ErrNoCaller = errors.New("no valid bearer token")

// Event is one audit trail entry.
type Event struct {
	Actor, Action, Resource string
	PatientID, DocumentID   *int64
	Remote, Outcome, Detail string
}

// Auditor writes the audit trail.
type Auditor interface {
	Audit(ctx context.Context, e Event) error
}

// Denier is an Auditor that counts requests without valid credentials per
// source address and minute rather than writing an entry each (so that
// anonymous floods cannot flood the trail): remote is the address without
// its port.
type Denier interface {
	Denied(ctx context.Context, remote, action, resource string) error
}

// Documents is what the server reads of documents.
type Documents interface {
	Document(ctx context.Context, id int64) (storage.Document, error)
	FiledDocuments(ctx context.Context, q storage.FiledQuery) ([]storage.Document, int, error)
	RecordDocumentEvent(ctx context.Context, id int64, actor, event, detail string) error
}

// Patients is what the server reads of the patient index.
type Patients interface {
	ByID(ctx context.Context, id int64) (patients.Patient, error)
	ByMRN(ctx context.Context, authority, mrn string) (patients.Patient, error)
}

// Objects opens stored PDFs.
type Objects interface {
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
}

// Server serves FHIR. Base is the server's absolute base URL
// (http://host:8080/fhir), used in fullUrl, paging links and attachment
// URLs; empty means the request's own host.
type Server struct {
	Documents Documents
	Patients  Patients
	Objects   Objects
	Auth      Authenticator
	Audit     Auditor
	Base      string
	// DefaultAuthority is the assigning authority of an MRN searched
	// without a system, and Systems maps identifier systems to
	// authorities; an authority with no system is served as
	// "urn:paperchart:authority:<authority>".
	DefaultAuthority string
	Systems          map[string]string
	Log              *slog.Logger
	Content          ContentSearcher // DocumentReference?_content= (content.go); nil: not supported
}

const contentType = "application/fhir+json; charset=utf-8"

// routes are the patterns served, with their handlers.
func (s *Server) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /fhir/metadata":                   s.metadata,
		"GET /fhir/Patient":                    s.guard("Patient", s.searchPatients),
		"GET /fhir/Patient/{id}":               s.guard("Patient", s.readPatient),
		"GET /fhir/DocumentReference":          s.guard("DocumentReference", s.searchDocuments),
		"GET /fhir/DocumentReference/{id}":     s.guard("DocumentReference", s.readDocument),
		"GET /fhir/DocumentReference/$docref":  s.guard("DocumentReference", s.docref),
		"POST /fhir/DocumentReference/$docref": s.guard("DocumentReference", s.docref),
		"GET /fhir/Binary/{id}":                s.guard("Binary", s.readBinary),
	}
}

// Routes lists the patterns Handler serves (method and path, as
// http.ServeMux reads them), for tests that walk every route.
func (s *Server) Routes() []string {
	var out []string
	for p := range s.routes() {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Handler returns the routes, under /fhir/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for p, h := range s.routes() {
		mux.HandleFunc(p, h)
	}
	mux.HandleFunc("/fhir/", func(w http.ResponseWriter, r *http.Request) {
		s.outcome(w, http.StatusNotFound, "not-supported", "paperchart serves Patient, DocumentReference and Binary (read, search); see /fhir/metadata")
	})
	return mux
}

// request is one request's context: who asks, from where, the base URL.
type request struct {
	caller Caller
	remote string
	base   string
}

type handler func(w http.ResponseWriter, r *http.Request, rq request)

// guard checks the caller's token and scope before h runs.
func (s *Server) guard(resource string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq := request{remote: r.RemoteAddr, base: s.baseURL(r)}
		c, err := s.Auth.Caller(r)
		if err != nil && !errors.Is(err, ErrNoCaller) {
			s.Log.Error("check token", "err", err)
			s.outcome(w, http.StatusServiceUnavailable, "transient", "credentials could not be checked; try again")
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="paperchart"`)
			if d, ok := s.Audit.(Denier); ok {
				host, _, herr := net.SplitHostPort(rq.remote)
				if herr != nil {
					host = rq.remote
				}
				if err := d.Denied(context.WithoutCancel(r.Context()), host, "fhir.denied", resource); err != nil {
					s.Log.Error("audit trail write failed", "action", "fhir.denied", "err", err)
				}
			} else {
				s.audit(r.Context(), Event{Actor: "anonymous", Action: "fhir.denied", Resource: resource, Remote: rq.remote, Outcome: "denied", Detail: "no valid token"})
			}
			s.outcome(w, http.StatusUnauthorized, "login", "a valid bearer token is required")
			return
		}
		rq.caller = c
		if !c.Allows(resource) {
			s.audit(r.Context(), Event{Actor: "token:" + c.Name, Action: "fhir.denied", Resource: resource, Remote: rq.remote, Outcome: "denied", Detail: "scope missing"})
			s.outcome(w, http.StatusForbidden, "forbidden", fmt.Sprintf("the token's scopes do not allow reading %s", resource))
			return
		}
		h(w, r, rq)
	}
}

func (s *Server) baseURL(r *http.Request) string {
	if s.Base != "" {
		return strings.TrimSuffix(s.Base, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

func (s *Server) audit(ctx context.Context, e Event) error {
	if s.Audit == nil {
		return nil
	}
	err := s.Audit.Audit(context.WithoutCancel(ctx), e)
	if err != nil {
		s.Log.Error("audit trail write failed", "action", e.Action, "resource", e.Resource, "err", err)
	}
	return err
}

// audited records e and fails the request when the trail cannot be
// written: nothing is disclosed without a record of it.
func (s *Server) audited(w http.ResponseWriter, r *http.Request, e Event) bool {
	if err := s.audit(r.Context(), e); err != nil {
		s.outcome(w, http.StatusInternalServerError, "exception", "the audit trail could not be written; nothing was disclosed")
		return false
	}
	return true
}

func writeResource(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// outcome answers with an OperationOutcome; diagnostics never carry
// patient data.
func (s *Server) outcome(w http.ResponseWriter, status int, code, diagnostics string) {
	writeResource(w, status, OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: "error", Code: code, Diagnostics: diagnostics}}})
}

// readFailed answers a read of one resource that failed: 404, audited as
// not-found, for anything not found (chart.ErrNotFound, whichever package
// said it), else 500, logging what failed.
func (s *Server) readFailed(w http.ResponseWriter, r *http.Request, e Event, resource, what string, err error) {
	if !errors.Is(err, chart.ErrNotFound) {
		s.internal(w, what, err)
		return
	}
	e.Outcome = "not-found"
	if s.audited(w, r, e) {
		s.outcome(w, http.StatusNotFound, "not-found", fmt.Sprintf("no %s with that id", resource))
	}
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.Log.Error(what, "err", err)
	s.outcome(w, http.StatusInternalServerError, "exception", "internal error; see the server log")
}

func (s *Server) systemOf(authority string) string {
	for sys, a := range s.Systems {
		if a == authority {
			return sys
		}
	}
	return "urn:paperchart:authority:" + authority
}

// authorityOf maps an identifier system to an authority.
func (s *Server) authorityOf(system string) (string, bool) {
	if system == "" {
		return s.DefaultAuthority, true
	}
	if a, ok := s.Systems[system]; ok {
		return a, true
	}
	if a, ok := strings.CutPrefix(system, "urn:paperchart:authority:"); ok && a != "" {
		return a, true
	}
	return "", false
}

func parseResourceID(w http.ResponseWriter, s *Server, raw string) (int64, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		s.outcome(w, http.StatusNotFound, "not-found", "no resource with that id")
		return 0, false
	}
	return id, true
}

func (s *Server) readPatient(w http.ResponseWriter, r *http.Request, rq request) {
	id, ok := parseResourceID(w, s, r.PathValue("id"))
	if !ok {
		return
	}
	p, err := s.Patients.ByID(r.Context(), id)
	e := Event{Actor: "token:" + rq.caller.Name, Action: "fhir.read", Resource: fmt.Sprintf("Patient/%d", id), Remote: rq.remote, PatientID: &id}
	if err != nil {
		e.PatientID = nil
		s.readFailed(w, r, e, "Patient", "read patient", err)
		return
	}
	e.Outcome = "ok"
	if s.audited(w, r, e) {
		writeResource(w, http.StatusOK, s.patientResource(p))
	}
}

// tokenParam splits a token search parameter, system|value.
func tokenParam(v string) (system, value string, hasSystem bool) {
	if i := strings.IndexByte(v, '|'); i >= 0 {
		return v[:i], v[i+1:], true
	}
	return "", v, false
}

// errTypeNotLOINC is the answer to a type token of another system.
var errTypeNotLOINC = errors.New("type must be a LOINC code (http://loinc.org|CODE)")

// loincCodes reads the type parameters (each a comma-separated list of
// tokens, LOINC or without a system) as LOINC codes.
func loincCodes(types []string) ([]string, error) {
	var codes []string
	for _, t := range types {
		for _, one := range strings.Split(t, ",") {
			sys, code, has := tokenParam(one)
			if has && sys != systemLOINC {
				return nil, errTypeNotLOINC
			}
			codes = append(codes, code)
		}
	}
	return codes, nil
}

func (s *Server) searchPatients(w http.ResponseWriter, r *http.Request, rq request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "identifier", "_id", "_count", "_format":
		default:
			s.outcome(w, http.StatusBadRequest, "not-supported", fmt.Sprintf("search parameter %q is not supported for Patient (identifier, _id)", k))
			return
		}
	}
	if q.Get("identifier") == "" && !q.Has("_id") {
		s.outcome(w, http.StatusBadRequest, "required", "search Patient by identifier=SYSTEM|MRN or _id=ID")
		return
	}
	found, err := s.findPatients(r.Context(), q)
	if errors.Is(err, errBadSearch) {
		s.outcome(w, http.StatusBadRequest, "invalid", fmt.Sprintf("_id lists at most %d ids", maxIDs))
		return
	}
	if err != nil {
		s.internal(w, "search patients", err)
		return
	}
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(time.Now())}, Total: len(found),
		Link: []BundleLink{{Relation: "self", URL: rq.base + "/Patient?" + r.URL.RawQuery}}}
	e := Event{Actor: "token:" + rq.caller.Name, Action: "fhir.search", Resource: "Patient", Remote: rq.remote, Outcome: "ok"}
	ids := make([]string, len(found))
	for i, p := range found {
		b.Entry = append(b.Entry, BundleEntry{FullURL: fmt.Sprintf("%s/Patient/%d", rq.base, p.ID), Resource: s.patientResource(p), Search: &EntrySearch{Mode: "match"}})
		ids[i] = fmt.Sprintf("Patient/%d", p.ID)
	}
	if len(found) == 1 {
		e.PatientID = &found[0].ID
	}
	e.Detail = strings.Join(ids, ",")
	if s.audited(w, r, e) {
		writeResource(w, http.StatusOK, b)
	}
}

// document reads a filed document, or answers 404 itself.
func (s *Server) document(w http.ResponseWriter, r *http.Request, rq request, action, resource string) (storage.Document, bool) {
	id, ok := parseResourceID(w, s, r.PathValue("id"))
	if !ok {
		return storage.Document{}, false
	}
	d, err := s.Documents.Document(r.Context(), id)
	e := Event{Actor: "token:" + rq.caller.Name, Action: action, Resource: fmt.Sprintf("%s/%d", resource, id), Remote: rq.remote}
	if err == nil && d.State != storage.DocFiled && d.State != storage.DocMoved {
		// Only filed documents are served (and those moved since, as
		// entered-in-error): any other is not there for the EHR.
		err = fmt.Errorf("document %d is %s, not filed: %w", id, d.State, chart.ErrNotFound)
	}
	if err != nil {
		s.readFailed(w, r, e, resource, "read document", err)
		return d, false
	}
	e.Outcome, e.DocumentID, e.PatientID = "ok", &d.ID, d.PatientID
	if !s.audited(w, r, e) {
		return d, false
	}
	return d, true
}

func (s *Server) readDocument(w http.ResponseWriter, r *http.Request, rq request) {
	d, ok := s.document(w, r, rq, "fhir.read", "DocumentReference")
	if !ok {
		return
	}
	writeResource(w, http.StatusOK, s.documentResource(d, rq.base))
}

// searchParams are DocumentReference's supported search parameters.
var searchParams = map[string]bool{"patient": true, "subject": true, "patient.identifier": true, "type": true, "category": true,
	"date": true, "status": true, "_count": true, "_offset": true, "_format": true, "_id": true, "period": true}

func (s *Server) searchDocuments(w http.ResponseWriter, r *http.Request, rq request) {
	q := r.URL.Query()
	if q.Has("_content") {
		s.searchContent(w, r, rq)
		return
	}
	for k := range q {
		if !searchParams[k] {
			s.outcome(w, http.StatusBadRequest, "not-supported",
				fmt.Sprintf("search parameter %q is not supported for DocumentReference (_id, patient, patient.identifier, type, category, date, period, status, _count)", k))
			return
		}
	}
	fq := storage.FiledQuery{Limit: 20}
	ctx := r.Context()
	patient := q.Get("patient")
	if patient == "" {
		patient = q.Get("subject")
	}
	switch {
	case patient != "":
		id, err := strconv.ParseInt(strings.TrimPrefix(patient, "Patient/"), 10, 64)
		if err != nil || id < 1 {
			s.outcome(w, http.StatusBadRequest, "invalid", "patient must be a Patient id")
			return
		}
		fq.PatientID = id
	case q.Get("patient.identifier") != "":
		sys, mrn, _ := tokenParam(q.Get("patient.identifier"))
		authority, known := s.authorityOf(sys)
		if !known {
			s.writeEmpty(w, r, rq, "unknown identifier system")
			return
		}
		p, err := s.Patients.ByMRN(ctx, authority, mrn)
		if errors.Is(err, patients.ErrNotFound) {
			s.writeEmpty(w, r, rq, "no such patient")
			return
		}
		if err != nil {
			s.internal(w, "search documents", err)
			return
		}
		fq.PatientID = p.ID
	case q.Has("_id"):
	default:
		s.outcome(w, http.StatusBadRequest, "required", "search DocumentReference by patient, patient.identifier or _id")
		return
	}
	codes, err := loincCodes(q["type"])
	if err != nil {
		s.outcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	fq.LOINC = append(fq.LOINC, codes...)
	if why, err := usCoreFilters(q, &fq); err != nil {
		s.outcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	} else if why != "" {
		s.writeEmpty(w, r, rq, why)
		return
	}
	for _, v := range q["date"] {
		b, err := parseDateParam(v)
		if err != nil {
			s.outcome(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		fq.Date = append(fq.Date, b)
	}
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.outcome(w, http.StatusBadRequest, "invalid", "_count must be a whole number")
			return
		}
		fq.Limit = min(max(n, 1), 100)
	}
	if v := q.Get("_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.outcome(w, http.StatusBadRequest, "invalid", "_offset must be a whole number")
			return
		}
		fq.Offset = n
	}
	docs, total, err := s.Documents.FiledDocuments(ctx, fq)
	if err != nil {
		s.internal(w, "search documents", err)
		return
	}
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: total, Meta: &Meta{LastUpdated: instant(time.Now())},
		Link: []BundleLink{{Relation: "self", URL: pageURL(rq.base+"/DocumentReference", q, fq.Offset, fq.Limit)}}}
	if fq.Offset+len(docs) < total {
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: pageURL(rq.base+"/DocumentReference", q, fq.Offset+fq.Limit, fq.Limit)})
	}
	if fq.Offset > 0 {
		b.Link = append(b.Link, BundleLink{Relation: "previous", URL: pageURL(rq.base+"/DocumentReference", q, max(0, fq.Offset-fq.Limit), fq.Limit)})
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		b.Entry = append(b.Entry, BundleEntry{FullURL: fmt.Sprintf("%s/DocumentReference/%d", rq.base, d.ID), Resource: s.documentResource(d, rq.base), Search: &EntrySearch{Mode: "match"}})
		ids[i] = fmt.Sprint(d.ID)
	}
	e := Event{Actor: "token:" + rq.caller.Name, Action: "fhir.search", Resource: "DocumentReference", Remote: rq.remote, Outcome: "ok",
		PatientID: patientOf(fq.PatientID, docs), Detail: "DocumentReference/" + strings.Join(ids, ",")}
	if s.audited(w, r, e) {
		writeResource(w, http.StatusOK, b)
	}
}

// writeEmpty answers a search that can match nothing.
func (s *Server) writeEmpty(w http.ResponseWriter, r *http.Request, rq request, why string) {
	e := Event{Actor: "token:" + rq.caller.Name, Action: "fhir.search", Resource: "DocumentReference", Remote: rq.remote, Outcome: "ok", Detail: "no match: " + why}
	if s.audited(w, r, e) {
		writeResource(w, http.StatusOK, Bundle{ResourceType: "Bundle", Type: "searchset", Total: 0,
			Link: []BundleLink{{Relation: "self", URL: rq.base + "/DocumentReference?" + r.URL.RawQuery}}})
	}
}

// pageURL is the search at path (base/DocumentReference) from offset.
func pageURL(path string, q url.Values, offset, count int) string {
	v := url.Values{}
	for k, vs := range q {
		if k != "_offset" && k != "_count" {
			v[k] = vs
		}
	}
	v.Set("_count", strconv.Itoa(count))
	if offset > 0 {
		v.Set("_offset", strconv.Itoa(offset))
	}
	return path + "?" + v.Encode()
}

// parseDateParam reads a FHIR date search value: an optional prefix (eq,
// ge, gt, le, lt) and a date of year, month, day or instant precision.
func parseDateParam(v string) (storage.DateBound, error) {
	op := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		op, v = v[:2], v[2:]
	}
	switch op {
	case "eq", "ge", "gt", "le", "lt":
	default:
		return storage.DateBound{}, fmt.Errorf("date prefix %q is not supported (eq, ge, gt, le, lt)", op)
	}
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{time.RFC3339, func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, v); err == nil {
			return storage.DateBound{Op: op, At: t, End: l.next(t)}, nil
		}
	}
	return storage.DateBound{}, fmt.Errorf("date %q is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or an instant)", v)
}

func (s *Server) readBinary(w http.ResponseWriter, r *http.Request, rq request) {
	d, ok := s.document(w, r, rq, "binary.download", "Binary")
	if !ok {
		return
	}
	if err := s.Documents.RecordDocumentEvent(r.Context(), d.ID, "token:"+rq.caller.Name, "downloaded", "FHIR Binary"); err != nil {
		s.internal(w, "record document read", err)
		return
	}
	rc, size, err := s.Objects.Open(r.Context(), d.ObjectKey)
	if err != nil {
		s.internal(w, "open document PDF", err)
		return
	}
	defer rc.Close()
	if wantsPDF(r.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Header().Set("Cache-Control", "no-store")
		if _, err := io.Copy(w, rc); err != nil {
			s.Log.Warn("send Binary", "document", d.ID, "err", err)
		}
		return
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		s.internal(w, "read document PDF", err)
		return
	}
	writeResource(w, http.StatusOK, Binary{ResourceType: "Binary", ID: fmt.Sprint(d.ID), ContentType: "application/pdf",
		Data: encodeBase64(data)})
}

// wantsPDF reports whether the Accept header asks for the raw document
// rather than the Binary resource as JSON.
func wantsPDF(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		switch mt {
		case "application/pdf":
			return true
		case "application/fhir+json", "application/json", "application/json+fhir":
			return false
		}
	}
	return false
}
