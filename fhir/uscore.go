package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"paperchart/patients"
	"paperchart/storage"
)

// This file holds what US Core asks of a server beyond plain read and
// search: the _id searches, DocumentReference's category, status and
// period parameters, and the $docref operation
// (http://hl7.org/fhir/us/core/OperationDefinition/docref).

const (
	systemDocStatus = "http://hl7.org/fhir/document-reference-status"
	opDocref        = "http://hl7.org/fhir/us/core/OperationDefinition/docref"
	// maxIDs bounds the ids of one _id search.
	maxIDs = 100
	// maxDocref bounds the documents of one $docref answer (Bundle.total
	// says when there are more).
	maxDocref = 1000
)

// categoryCodes are the US Core DocumentReference categories served:
// every document paperchart files is a scanned clinical note.
var categoryCodes = map[string]bool{"clinical-note": true}

// statusStates maps DocumentReference.status to the document states
// served with it.
var statusStates = map[string]string{"current": storage.DocFiled, "entered-in-error": storage.DocMoved}

// ids reads the values of an _id parameter (comma lists; repeated
// parameters must all hold): the numeric ones, at most maxIDs. An id that
// is not a number names nothing.
func ids(values []string) ([]int64, error) {
	var out []int64
	for i, v := range values {
		var these []int64
		for _, one := range strings.Split(v, ",") {
			if n, err := strconv.ParseInt(strings.TrimSpace(one), 10, 64); err == nil && n > 0 {
				these = append(these, n)
			}
		}
		if len(these) > maxIDs {
			return nil, fmt.Errorf("_id lists at most %d ids", maxIDs)
		}
		if i == 0 {
			out = these
			continue
		}
		out = slices.DeleteFunc(out, func(n int64) bool { return !slices.Contains(these, n) })
	}
	if out == nil {
		out = []int64{}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// usCoreFilters reads _id, category, status and period into fq. It returns
// why the search can match nothing ("" when it can), or an error for a
// value that is not valid.
func usCoreFilters(q url.Values, fq *storage.FiledQuery) (string, error) {
	if q.Has("_id") {
		found, err := ids(q["_id"])
		if err != nil {
			return "", err
		}
		if len(found) == 0 {
			return "_id", nil
		}
		fq.IDs = found
	}
	for _, c := range q["category"] {
		match := false
		for _, one := range strings.Split(c, ",") {
			sys, code, has := tokenParam(one)
			if (!has || sys == systemCategory) && categoryCodes[code] {
				match = true
			}
		}
		if !match {
			return "category", nil
		}
	}
	// Without status, both: the current placements and those withdrawn.
	fq.States = []string{storage.DocFiled, storage.DocMoved}
	for _, st := range q["status"] {
		var states []string
		for _, one := range strings.Split(st, ",") {
			sys, code, has := tokenParam(one)
			if state, ok := statusStates[code]; ok && (!has || sys == systemDocStatus) && slices.Contains(fq.States, state) {
				states = append(states, state)
			}
		}
		if len(states) == 0 {
			return "status", nil
		}
		fq.States = states
	}
	for _, v := range q["period"] {
		b, err := parseDateParam(v)
		if err != nil {
			return "", fmt.Errorf("period: %w", err)
		}
		fq.Period = append(fq.Period, b)
	}
	return "", nil
}

// patientOf is the patient a search's audit entry names: the one searched,
// else the one every document found belongs to (nil when several).
func patientOf(pid int64, docs []storage.Document) *int64 {
	if pid != 0 {
		return &pid
	}
	var one *int64
	for _, d := range docs {
		if d.PatientID == nil || one != nil && *one != *d.PatientID {
			return nil
		}
		one = d.PatientID
	}
	return one
}

// errBadSearch marks a search value that is not valid (answered 400).
var errBadSearch = errors.New("invalid search")

// findPatients answers a Patient search by identifier and/or _id (both
// must hold when both are given).
func (s *Server) findPatients(ctx context.Context, q url.Values) ([]patients.Patient, error) {
	var out []patients.Patient
	ident := q.Get("identifier")
	if ident != "" {
		sys, mrn, _ := tokenParam(ident)
		authority, known := s.authorityOf(sys)
		if !known || mrn == "" {
			return nil, nil
		}
		p, err := s.Patients.ByMRN(ctx, authority, mrn)
		if errors.Is(err, patients.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out = []patients.Patient{p}
	}
	if !q.Has("_id") {
		return out, nil
	}
	want, err := ids(q["_id"])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSearch, err)
	}
	if ident != "" {
		return slices.DeleteFunc(out, func(p patients.Patient) bool { return !slices.Contains(want, p.ID) }), nil
	}
	for _, id := range want {
		p, err := s.Patients.ByID(ctx, id)
		if errors.Is(err, patients.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// docrefParams are $docref's input parameters.
var docrefParams = map[string]bool{"patient": true, "start": true, "end": true, "type": true, "on-demand": true, "profile": true, "_format": true}

// Parameters is a FHIR R4 Parameters resource: an operation's input.
type Parameters struct {
	ResourceType string      `json:"resourceType"`
	Parameter    []Parameter `json:"parameter"`
}

// Parameter is Parameters.parameter, with the value types $docref takes.
type Parameter struct {
	Name                 string           `json:"name"`
	ValueID              string           `json:"valueId,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
	ValueDate            string           `json:"valueDate,omitempty"`
	ValueDateTime        string           `json:"valueDateTime,omitempty"`
	ValueCode            string           `json:"valueCode,omitempty"`
	ValueURI             string           `json:"valueUri,omitempty"`
	ValueCanonical       string           `json:"valueCanonical,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueCoding          *Coding          `json:"valueCoding,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
}

// values writes the parameters as a query would carry them.
func (ps Parameters) values() url.Values {
	v := url.Values{}
	token := func(c Coding) string {
		if c.System == "" {
			return c.Code
		}
		return c.System + "|" + c.Code
	}
	for _, p := range ps.Parameter {
		switch {
		case p.ValueCodeableConcept != nil:
			for _, c := range p.ValueCodeableConcept.Coding {
				v.Add(p.Name, token(c))
			}
		case p.ValueCoding != nil:
			v.Add(p.Name, token(*p.ValueCoding))
		case p.ValueBoolean != nil:
			v.Add(p.Name, strconv.FormatBool(*p.ValueBoolean))
		case p.ValueReference != nil:
			v.Add(p.Name, p.ValueReference.Reference)
		default:
			for _, s := range []string{p.ValueID, p.ValueString, p.ValueDate, p.ValueDateTime, p.ValueCode, p.ValueURI, p.ValueCanonical} {
				if s != "" {
					v.Add(p.Name, s)
					break
				}
			}
		}
	}
	return v
}

// operationInput reads an operation's parameters: the query's, and a POST's
// body (a Parameters resource, or a form).
func operationInput(r *http.Request) (url.Values, error) {
	q := r.URL.Query()
	if r.Method != http.MethodPost || r.ContentLength == 0 {
		return q, nil
	}
	body := http.MaxBytesReader(nil, r.Body, 64<<10)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		r.Body = body
		if err := r.ParseForm(); err != nil {
			return nil, errors.New("the form could not be read")
		}
		for k, vs := range r.PostForm {
			q[k] = append(q[k], vs...)
		}
	case "application/fhir+json", "application/json", "":
		var ps Parameters
		dec := json.NewDecoder(body)
		if err := dec.Decode(&ps); err != nil || ps.ResourceType != "Parameters" {
			return nil, errors.New("the body must be a Parameters resource")
		}
		for k, vs := range ps.values() {
			q[k] = append(q[k], vs...)
		}
	default:
		return nil, errors.New("the body must be a Parameters resource (application/fhir+json) or a form")
	}
	return q, nil
}

// docref is US Core's $docref: the patient's documents as a searchset
// Bundle. With start and/or end, those whose date of care (the date of
// service, else the day filed) falls in the range; with neither, the most
// current: the latest of each type. type (a LOINC token) narrows either.
// Only current documents (not those moved, entered-in-error) are returned;
// every document is stored, so on-demand changes nothing.
func (s *Server) docref(w http.ResponseWriter, r *http.Request, rq request) {
	q, err := operationInput(r)
	if err != nil {
		s.outcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	for k := range q {
		if !docrefParams[k] {
			s.outcome(w, http.StatusBadRequest, "not-supported",
				fmt.Sprintf("parameter %q is not a $docref parameter (patient, start, end, type, on-demand, profile)", k))
			return
		}
	}
	patient := q["patient"]
	if len(patient) != 1 {
		s.outcome(w, http.StatusBadRequest, "required", "$docref takes one patient (a Patient id)")
		return
	}
	pid, err := strconv.ParseInt(strings.TrimPrefix(patient[0], "Patient/"), 10, 64)
	if err != nil || pid < 1 {
		s.outcome(w, http.StatusBadRequest, "invalid", "patient must be a Patient id")
		return
	}
	fq := storage.FiledQuery{PatientID: pid, States: []string{storage.DocFiled}, Limit: maxDocref}
	for _, name := range []string{"start", "end"} {
		vs := q[name]
		if len(vs) > 1 {
			s.outcome(w, http.StatusBadRequest, "invalid", name+" is given at most once")
			return
		}
		if len(vs) == 0 {
			continue
		}
		b, err := parseDateParam(vs[0])
		if err == nil && vs[0] != "" && vs[0][0] >= 'a' && vs[0][0] <= 'z' {
			err = errors.New("a date without a prefix")
		}
		if err != nil {
			s.outcome(w, http.StatusBadRequest, "invalid", fmt.Sprintf("%s must be a date or dateTime: %v", name, err))
			return
		}
		// start: care ends after it begins; end: care begins before its end.
		b.Op = map[string]string{"start": "ge", "end": "le"}[name]
		fq.Care = append(fq.Care, b)
	}
	fq.LatestPerType = len(fq.Care) == 0
	codes, err := loincCodes(q["type"])
	if err != nil {
		s.outcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	fq.LOINC = append(fq.LOINC, codes...)
	for _, v := range q["on-demand"] {
		if v != "true" && v != "false" {
			s.outcome(w, http.StatusBadRequest, "invalid", "on-demand must be true or false")
			return
		}
	}
	self := rq.base + "/DocumentReference/$docref?" + q.Encode()
	for _, p := range q["profile"] {
		if p != profileDocRef {
			// No document conforms to another profile.
			e := Event{Actor: "token:" + rq.caller.Name, Action: "fhir.search", Resource: "DocumentReference/$docref", Remote: rq.remote,
				Outcome: "ok", PatientID: &pid, Detail: "no match: profile"}
			if s.audited(w, r, e) {
				writeResource(w, http.StatusOK, Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(time.Now())},
					Link: []BundleLink{{Relation: "self", URL: self}}})
			}
			return
		}
	}
	docs, total, err := s.Documents.FiledDocuments(r.Context(), fq)
	if err != nil {
		s.internal(w, "$docref", err)
		return
	}
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: total, Meta: &Meta{LastUpdated: instant(time.Now())},
		Link: []BundleLink{{Relation: "self", URL: self}}}
	found := make([]string, len(docs))
	for i, d := range docs {
		b.Entry = append(b.Entry, BundleEntry{FullURL: fmt.Sprintf("%s/DocumentReference/%d", rq.base, d.ID), Resource: s.documentResource(d, rq.base),
			Search: &EntrySearch{Mode: "match"}})
		found[i] = fmt.Sprint(d.ID)
	}
	e := Event{Actor: "token:" + rq.caller.Name, Action: "fhir.search", Resource: "DocumentReference/$docref", Remote: rq.remote, Outcome: "ok",
		PatientID: &pid, Detail: "DocumentReference/" + strings.Join(found, ",")}
	if s.audited(w, r, e) {
		writeResource(w, http.StatusOK, b)
	}
}
