package fhir

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"paperchart/classify"
	"paperchart/patients"
	"paperchart/storage"
)

// The FHIR R4 resources paperchart serves, as JSON structs. Only the
// elements paperchart fills are declared; empty ones are left out.

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

// HumanName is a FHIR HumanName.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// Address is a FHIR Address.
type Address struct {
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
}

// ContactPoint is a FHIR ContactPoint.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Meta is a FHIR Meta.
type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
}

// Patient is a FHIR R4 Patient (US Core).
type Patient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Meta         *Meta          `json:"meta,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Active       bool           `json:"active"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	Gender       string         `json:"gender,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Address      []Address      `json:"address,omitempty"`
	Link         []PatientLink  `json:"link,omitempty"`
}

// PatientLink points a merged record at its survivor.
type PatientLink struct {
	Other Reference `json:"other"`
	Type  string    `json:"type"`
}

// Attachment is a FHIR Attachment.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	URL         string `json:"url,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Hash        string `json:"hash,omitempty"` // base64 SHA-1
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// DocumentReferenceContent is DocumentReference.content.
type DocumentReferenceContent struct {
	Attachment Attachment `json:"attachment"`
	Format     *Coding    `json:"format,omitempty"`
}

// Period is a FHIR Period.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// DocumentReferenceContext is DocumentReference.context.
type DocumentReferenceContext struct {
	Period *Period `json:"period,omitempty"`
}

// DocumentReference is a FHIR R4 DocumentReference (US Core).
type DocumentReference struct {
	ResourceType     string                     `json:"resourceType"`
	ID               string                     `json:"id"`
	Meta             *Meta                      `json:"meta,omitempty"`
	MasterIdentifier *Identifier                `json:"masterIdentifier,omitempty"`
	Identifier       []Identifier               `json:"identifier,omitempty"`
	Status           string                     `json:"status"`
	DocStatus        string                     `json:"docStatus,omitempty"`
	Type             *CodeableConcept           `json:"type,omitempty"`
	Category         []CodeableConcept          `json:"category,omitempty"`
	Subject          *Reference                 `json:"subject,omitempty"`
	Date             string                     `json:"date,omitempty"`
	Author           []Reference                `json:"author,omitempty"`
	Custodian        *Reference                 `json:"custodian,omitempty"`
	RelatesTo        []DocumentReferenceRelates `json:"relatesTo,omitempty"`
	Description      string                     `json:"description,omitempty"`
	Content          []DocumentReferenceContent `json:"content"`
	Context          *DocumentReferenceContext  `json:"context,omitempty"`
}

// DocumentReferenceRelates is DocumentReference.relatesTo.
type DocumentReferenceRelates struct {
	Code   string    `json:"code"` // replaces, transforms, signs, appends
	Target Reference `json:"target"`
}

// Binary is a FHIR R4 Binary.
type Binary struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	ContentType  string `json:"contentType"`
	Data         string `json:"data,omitempty"`
}

// BundleLink is Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is Bundle.entry.
type BundleEntry struct {
	FullURL  string       `json:"fullUrl,omitempty"`
	Resource any          `json:"resource,omitempty"`
	Search   *EntrySearch `json:"search,omitempty"`
}

// EntrySearch is Bundle.entry.search.
type EntrySearch struct {
	Mode string `json:"mode"`
}

// Bundle is a FHIR R4 Bundle of type searchset.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        int           `json:"total"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// OperationOutcome is a FHIR R4 OperationOutcome.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is OperationOutcome.issue.
type Issue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

const (
	systemLOINC      = "http://loinc.org"
	systemV2ID       = "http://terminology.hl7.org/CodeSystem/v2-0203"
	systemCategory   = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
	systemDocumentID = "urn:paperchart:document"
	profilePatient   = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
	profileDocRef    = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"
	formatPDF        = "urn:ihe:iti:xds:2017:mimeTypeSufficient"
)

// instant formats a time as a FHIR instant.
func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (s *Server) patientResource(p patients.Patient) Patient {
	r := Patient{ResourceType: "Patient", ID: fmt.Sprint(p.ID), Active: p.Active,
		Meta: &Meta{LastUpdated: instant(p.UpdatedAt), Profile: []string{profilePatient}}}
	r.Identifier = []Identifier{{Use: "usual", Type: &CodeableConcept{Coding: []Coding{{System: systemV2ID, Code: "MR", Display: "Medical record number"}}},
		System: s.systemOf(p.Authority), Value: p.MRN}}
	for _, id := range p.Identifiers {
		r.Identifier = append(r.Identifier, Identifier{System: id.System, Value: id.Value})
	}
	if p.Family != "" || p.Given != "" {
		n := HumanName{Use: "official", Family: p.Family}
		if p.Given != "" {
			n.Given = strings.Fields(p.Given)
		}
		r.Name = []HumanName{n}
	}
	switch p.Sex {
	case "male", "female", "other", "unknown":
		r.Gender = p.Sex
	}
	if !p.BirthDate.IsZero() {
		r.BirthDate = p.BirthDate.String()
	}
	if p.Address != "" || p.City != "" || p.PostalCode != "" {
		a := Address{City: p.City, PostalCode: p.PostalCode}
		if p.Address != "" {
			a.Line = []string{p.Address}
		}
		r.Address = []Address{a}
	}
	if p.Phone != "" {
		r.Telecom = []ContactPoint{{System: "phone", Value: p.Phone}}
	}
	if p.MergedInto != nil {
		r.Link = []PatientLink{{Other: Reference{Reference: fmt.Sprintf("Patient/%d", *p.MergedInto)}, Type: "replaced-by"}}
	}
	return r
}

func (s *Server) documentResource(d storage.Document, base string) DocumentReference {
	// docStatus: preliminary while the type waits for a person's check
	// (filed under its sure patient with the best type), final after.
	docStatus := storage.DocStatusFinal
	if d.DocStatus == storage.DocStatusPreliminary {
		docStatus = storage.DocStatusPreliminary
	}
	// status: a document moved to another patient or type is the placement
	// withdrawn (entered-in-error); the one that replaced it is current and
	// says so (relatesTo replaces).
	status := "current"
	if d.State == storage.DocMoved {
		status = "entered-in-error"
	}
	r := DocumentReference{ResourceType: "DocumentReference", ID: fmt.Sprint(d.ID), Status: status, DocStatus: docStatus,
		Meta:             &Meta{LastUpdated: instant(d.UpdatedAt), Profile: []string{profileDocRef}},
		MasterIdentifier: &Identifier{System: systemDocumentID, Value: fmt.Sprint(d.ID)},
		Category:         []CodeableConcept{{Coding: []Coding{{System: systemCategory, Code: "clinical-note", Display: "Clinical Note"}}}},
	}
	if t, ok := classify.Lookup(d.Type); ok {
		r.Type = &CodeableConcept{Coding: []Coding{{System: systemLOINC, Code: t.LOINC, Display: t.Display}}, Text: t.Name}
		r.Description = t.Name
	}
	if d.PatientID != nil {
		r.Subject = &Reference{Reference: fmt.Sprintf("Patient/%d", *d.PatientID)}
	}
	if d.FiledAt != nil {
		r.Date = instant(*d.FiledAt)
	}
	if d.Facility != "" {
		r.Custodian = &Reference{Display: d.Facility}
	}
	if d.Replaces != nil {
		r.RelatesTo = []DocumentReferenceRelates{{Code: "replaces", Target: Reference{Reference: fmt.Sprintf("DocumentReference/%d", *d.Replaces)}}}
	}
	att := Attachment{ContentType: "application/pdf", URL: base + "/Binary/" + fmt.Sprint(d.ID), Size: d.PDFSize,
		Title: r.Description}
	if raw, err := hex.DecodeString(d.PDFSHA1); err == nil && len(raw) == 20 {
		att.Hash = base64.StdEncoding.EncodeToString(raw)
	}
	if d.FiledAt != nil {
		att.Creation = instant(*d.FiledAt)
	}
	r.Content = []DocumentReferenceContent{{Attachment: att, Format: &Coding{System: "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode", Code: formatPDF, Display: "mimeType Sufficient"}}}
	if d.ServiceDate != nil {
		r.Context = &DocumentReferenceContext{Period: &Period{Start: d.ServiceDate.Format(time.DateOnly)}}
	}
	return r
}
