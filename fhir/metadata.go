package fhir

import (
	"encoding/base64"
	"net/http"
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
	Mode     string               `json:"mode"`
	Security *CapabilitySecurity  `json:"security,omitempty"`
	Resource []CapabilityResource `json:"resource"`
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
}

// CapabilityInteraction is one supported interaction.
type CapabilityInteraction struct {
	Code string `json:"code"`
}

// CapabilitySearchParam is one supported search parameter.
type CapabilitySearchParam struct {
	Name string `json:"name"`
	Type string `json:"type"`
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
			Security: &CapabilitySecurity{
				Service: []CodeableConcept{{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR"}}}},
				Description: "Bearer tokens made with `paperchart tokens create`, with SMART system scopes " +
					"(system/Patient.read, system/DocumentReference.read, system/Binary.read, system/*.read).",
			},
			Resource: []CapabilityResource{
				{Type: "Patient", Profile: profilePatient, Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{{Name: "identifier", Type: "token"}}},
				{Type: "DocumentReference", Profile: profileDocRef, Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{{Name: "patient", Type: "reference"}, {Name: "patient.identifier", Type: "token"},
						{Name: "type", Type: "token"}, {Name: "category", Type: "token"}, {Name: "date", Type: "date"},
						{Name: "status", Type: "token"}, {Name: "_count", Type: "number"}, {Name: "_content", Type: "string"}}},
				{Type: "Binary", Interaction: interactions("read")},
			},
		}},
	})
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
