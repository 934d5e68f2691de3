package classify

import "time"

// Type is one document type.
type Type struct {
	Code    string // stable code, as stored and as scangen's ground truth says, for example "discharge-summary"
	Name    string // display name for people
	LOINC   string // LOINC document code
	Display string // LOINC display name
}

// Type codes.
const (
	DischargeSummary = "discharge-summary"
	HistoryPhysical  = "history-physical"
	ProgressNote     = "progress-note"
	ConsultNote      = "consult-note"
	OperativeReport  = "operative-report"
	LabReport        = "lab-report"
	PathologyReport  = "pathology-report"
	ImagingReport    = "imaging-report"
	MedicationList   = "medication-list"
	ReferralLetter   = "referral-letter"
	ConsentForm      = "consent-form"
	InsuranceCard    = "insurance-card"
	Correspondence   = "correspondence"
	Other            = "other"
)

// types is the fixed set, in model order. LOINC codes are document
// ontology codes from the LOINC table as used by the HL7 US Core
// DocumentReference type value set; the first eleven are the ones
// ../shared/README.md lists. For the last three:
//   - 64290-0 "Health insurance card": the code FHIR implementations use for
//     scanned insurance card images (DocumentReference.type);
//   - 51852-2 "Letter": the LOINC document ontology's kind-of-document
//     "Letter", for letters to patients, employers and payers;
//   - 51851-4 "Administrative note": administrative documents such as fax
//     cover sheets and registration forms, the nearest honest code for
//     "none of the clinical types above".
var types = [...]Type{
	{DischargeSummary, "Discharge summary", "18842-5", "Discharge summary"},
	{HistoryPhysical, "History and physical", "34117-2", "History and physical note"},
	{ProgressNote, "Progress note", "11506-3", "Progress note"},
	{ConsultNote, "Consultation note", "11488-4", "Consult note"},
	{OperativeReport, "Operative report", "11504-8", "Surgical operation note"},
	{LabReport, "Laboratory report", "11502-2", "Laboratory report"},
	{PathologyReport, "Pathology report", "11526-1", "Pathology study"},
	{ImagingReport, "Radiology / imaging report", "18748-4", "Diagnostic imaging study"},
	{MedicationList, "Medication list or prescription", "10160-0", "History of Medication use Narrative"},
	{ReferralLetter, "Referral letter", "57133-1", "Referral note"},
	{ConsentForm, "Consent form", "59284-0", "Patient Consent"},
	{InsuranceCard, "Insurance card", "64290-0", "Health insurance card"},
	{Correspondence, "Correspondence", "51852-2", "Letter"},
	{Other, "Other", "51851-4", "Administrative note"},
}

// Types returns every document type, in the fixed order models use.
func Types() []Type { return append([]Type(nil), types[:]...) }

// Lookup returns the type with the code.
func Lookup(code string) (Type, bool) {
	for _, t := range types {
		if t.Code == code {
			return t, true
		}
	}
	return Type{}, false
}

func typeIndex(code string) int {
	for i, t := range types {
		if t.Code == code {
			return i
		}
	}
	return -1
}

// Correction is a person's correction of a document's type, kept to retrain
// the classifier later. Storing corrections is the integrator's job; the
// text to retrain on is the document's, looked up by DocumentID.
type Correction struct {
	DocumentID int64
	From       string // type code the classifier gave ("" if none)
	To         string // type code the person chose
	At         time.Time
	User       string
}
