package fhir

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
)

// CapabilityStatement says what the server supports.
type CapabilityStatement struct {
	ResourceType   string           `json:"resourceType"`
	Status         string           `json:"status"`
	Date           string           `json:"date"`
	Publisher      string           `json:"publisher"`
	Kind           string           `json:"kind"`
	Software       *Software        `json:"software,omitempty"`
	Implementation *Implementation  `json:"implementation,omitempty"`
	FHIRVersion    string           `json:"fhirVersion"`
	Format         []string         `json:"format"`
	Rest           []CapabilityRest `json:"rest"`
}

// Software names the server software.
type Software struct {
	Name string `json:"name"`
}

// Implementation says where the server is.
type Implementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// CapabilityRest is CapabilityStatement.rest.
type CapabilityRest struct {
	Mode          string               `json:"mode"`
	Documentation string               `json:"documentation,omitempty"`
	Security      *CapabilitySecurity  `json:"security,omitempty"`
	Resource      []CapabilityResource `json:"resource"`
}

// CapabilitySecurity is CapabilityStatement.rest.security.
type CapabilitySecurity struct {
	Service     []CodeableConcept `json:"service,omitempty"`
	Description string            `json:"description,omitempty"`
}

// CapabilityResource is CapabilityStatement.rest.resource.
type CapabilityResource struct {
	Type        string                  `json:"type"`
	Profile     string                  `json:"profile,omitempty"`
	Interaction []CapabilityInteraction `json:"interaction"`
	SearchParam []CapabilitySearchParam `json:"searchParam,omitempty"`
	Operation   []CapabilityOperation   `json:"operation,omitempty"`
}

// CapabilityOperation is one supported operation.
type CapabilityOperation struct {
	Name          string `json:"name"`
	Definition    string `json:"definition"`
	Documentation string `json:"documentation,omitempty"`
}

// CapabilityInteraction is one supported interaction.
type CapabilityInteraction struct {
	Code string `json:"code"`
}

// CapabilitySearchParam is one supported search parameter.
type CapabilitySearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// searchParam is a parameter of a resource's search, with the definition
// of its name: US Core's where it defines one, else the base
// specification's.
func searchParam(resource, name, typ, doc string) CapabilitySearchParam {
	def := ""
	switch {
	case name == "_id" || name == "identifier" && resource == "Patient" || resource == "DocumentReference" &&
		slices.Contains([]string{"patient", "type", "category", "date", "period", "status"}, name):
		def = "http://hl7.org/fhir/us/core/SearchParameter/us-core-" + strings.ToLower(resource) + "-" + strings.TrimPrefix(name, "_")
		if name == "_id" {
			def = "http://hl7.org/fhir/us/core/SearchParameter/us-core-" + strings.ToLower(resource) + "-id"
		}
	case name == "subject":
		def = "http://hl7.org/fhir/SearchParameter/DocumentReference-subject"
	}
	return CapabilitySearchParam{Name: name, Definition: def, Type: typ, Documentation: doc}
}

func interactions(codes ...string) []CapabilityInteraction {
	out := make([]CapabilityInteraction, len(codes))
	for i, c := range codes {
		out[i] = CapabilityInteraction{Code: c}
	}
	return out
}

// metadata serves the CapabilityStatement; it needs no token.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	writeResource(w, http.StatusOK, CapabilityStatement{
		ResourceType: "CapabilityStatement", Status: "active", Date: time.Now().UTC().Format(time.DateOnly),
		Publisher: "paperchart", Kind: "instance", Software: &Software{Name: "paperchart"},
		Implementation: &Implementation{Description: "paperchart: scanned paper records as indexed documents", URL: base},
		FHIRVersion:    "4.0.1", Format: []string{"json"},
		Rest: []CapabilityRest{{
			Mode: "server",
			Documentation: "The US Core Patient and DocumentReference profiles: read, the searches listed (US Core's for DocumentReference, " +
				"_id and identifier for Patient) and $docref. It does not claim the whole US Core server CapabilityStatement " +
				"(its other resources and Patient's name, birthdate and gender searches are not served).",
			Security: &CapabilitySecurity{
				Service: []CodeableConcept{{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR"}}}},
				Description: "Bearer tokens made with `paperchart tokens create`, with SMART system scopes " +
					"(system/Patient.read, system/DocumentReference.read, system/Binary.read, system/*.read).",
			},
			Resource: []CapabilityResource{
				{Type: "Patient", Profile: profilePatient, Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{
						searchParam("Patient", "_id", "token", "one or more ids, comma separated"),
						searchParam("Patient", "identifier", "token", "SYSTEM|MRN, or MRN alone for the default assigning authority"),
					}},
				{Type: "DocumentReference", Profile: profileDocRef, Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{
						searchParam("DocumentReference", "_id", "token", "one or more ids, comma separated; alone or with the others"),
						searchParam("DocumentReference", "patient", "reference", "a Patient id; every search but _id names the patient"),
						searchParam("DocumentReference", "subject", "reference", "as patient"),
						searchParam("DocumentReference", "patient.identifier", "token", "the patient's SYSTEM|MRN (chained)"),
						searchParam("DocumentReference", "category", "token", "clinical-note (http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category): every document is a scanned clinical note"),
						searchParam("DocumentReference", "type", "token", "LOINC (http://loinc.org|CODE), comma separated for any of several"),
						searchParam("DocumentReference", "date", "date", "when the document was filed; prefixes eq, ge, gt, le, lt"),
						searchParam("DocumentReference", "period", "date", "the date of service (context.period, a day); prefixes eq, ge, gt, le, lt"),
						searchParam("DocumentReference", "status", "token", "current, or entered-in-error (a filed document since moved to another patient or type); without status, both"),
						searchParam("DocumentReference", "_content", "string", "words of the documents' OCR text: full-text search with English stemming, \"phrases\" and -word; audited with its text"),
						{Name: "_count", Type: "number", Documentation: "page size, 1 to 100 (default 20)"},
					},
					Operation: []CapabilityOperation{{Name: "docref", Definition: opDocref,
						Documentation: "GET or POST (a Parameters resource, or a form): the patient's current documents as a searchset Bundle. " +
							"With start and/or end, those whose date of care (the date of service, else the day filed) overlaps the range; " +
							"with neither, the most current document of each type. type (LOINC) narrows either. on-demand changes nothing: every document is stored."}}},
				{Type: "Binary", Interaction: interactions("read")},
			},
		}},
	})
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
