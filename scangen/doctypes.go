package scangen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Document type codes, as PageTruth.Type and LabelledDoc.Type record them.
// They are the codes of the classify package.
const (
	TypeDischargeSummary = "discharge-summary"
	TypeHistoryPhysical  = "history-physical"
	TypeProgressNote     = "progress-note"
	TypeConsultNote      = "consult-note"
	TypeOperativeReport  = "operative-report"
	TypeLabReport        = "lab-report"
	TypePathologyReport  = "pathology-report"
	TypeImagingReport    = "imaging-report"
	TypeMedicationList   = "medication-list"
	TypeReferralLetter   = "referral-letter"
	TypeConsentForm      = "consent-form"
	TypeInsuranceCard    = "insurance-card"
	TypeCorrespondence   = "correspondence"
	TypeOther            = "other"
)

// DocumentTypes returns the codes of every document type the generator
// makes, in a fixed order.
func DocumentTypes() []string {
	out := make([]string, len(docKinds))
	for i, k := range docKinds {
		out[i] = k.code
	}
	return out
}

// docKind is one document type: how often it turns up in a batch, the
// titles printed on it ("" for none), its layouts and length, its sections
// (one list is chosen per document; a name ending in "=" is a one-line
// field) and, for types that are not section prose, how a page's body is
// built.
type docKind struct {
	code     string
	weight   int
	titles   []string
	layouts  []string
	minPages int
	maxPages int
	sections [][]string
	body     func(d *document, r *rand.Rand, page int) []block // nil: section prose
	meta     func(d *document, r *rand.Rand) []string          // lines under the title on page 1
	sign     func(d *document, r *rand.Rand) []block           // nil: electronic signature
}

var proseLayouts = []string{LayoutSingle, LayoutTwoColumn}

var docKinds = []docKind{
	{
		code: TypeDischargeSummary, weight: 8,
		titles:  []string{"DISCHARGE SUMMARY", "DISCHARGE SUMMARY", "Discharge Summary", "HOSPITAL DISCHARGE SUMMARY", "D/C SUMMARY", "", "", ""},
		layouts: proseLayouts, minPages: 1, maxPages: 4,
		sections: [][]string{
			{"REASON FOR ADMISSION", "HOSPITAL COURSE", "DISCHARGE DIAGNOSES", "DISCHARGE MEDICATIONS", "CONDITION AT DISCHARGE=", "DISPOSITION=", "FOLLOW-UP"},
			{"ADMITTING DIAGNOSIS", "HISTORY OF PRESENT ILLNESS", "HOSPITAL COURSE", "PROCEDURES PERFORMED=", "DISCHARGE DIAGNOSES", "DISCHARGE INSTRUCTIONS", "DISCHARGE MEDICATIONS"},
			{"ADMISSION DATE=", "DISCHARGE DATE=", "ADMITTING DIAGNOSIS", "DISCHARGE DIAGNOSIS", "BRIEF HISTORY", "HOSPITAL COURSE", "CONSULTANTS=", "DISCHARGE MEDICATIONS", "FOLLOW UP"},
			{"DIAGNOSES", "HOSPITAL COURSE", "CONDITION AT DISCHARGE=", "DISCHARGE INSTRUCTIONS", "FOLLOW-UP"},
		},
		meta: func(d *document, r *rand.Rand) []string {
			adm := d.date.minusDays(2 + r.IntN(9))
			return []string{fmt.Sprintf("Admission Date: %s   Discharge Date: %s", adm, d.date), "Attending Physician: " + d.clinician}
		},
	},
	{
		code: TypeHistoryPhysical, weight: 7,
		titles:  []string{"HISTORY AND PHYSICAL", "HISTORY AND PHYSICAL", "History and Physical", "HISTORY & PHYSICAL", "ADMISSION HISTORY AND PHYSICAL", "H&P", ""},
		layouts: proseLayouts, minPages: 1, maxPages: 4,
		sections: [][]string{
			{"CHIEF COMPLAINT", "HISTORY OF PRESENT ILLNESS", "PAST MEDICAL HISTORY", "PAST SURGICAL HISTORY", "MEDICATIONS", "ALLERGIES=", "SOCIAL HISTORY", "FAMILY HISTORY", "REVIEW OF SYSTEMS", "PHYSICAL EXAMINATION", "ASSESSMENT AND PLAN"},
			{"CHIEF COMPLAINT", "HISTORY OF PRESENT ILLNESS", "PAST MEDICAL HISTORY", "MEDICATIONS", "ALLERGIES=", "SOCIAL HISTORY", "PHYSICAL EXAMINATION", "IMPRESSION", "PLAN"},
		},
	},
	{
		code: TypeProgressNote, weight: 12,
		titles:  []string{"PROGRESS NOTE", "PROGRESS NOTE", "Progress Note", "CLINIC NOTE", "OFFICE VISIT", "FOLLOW-UP VISIT", "DAILY PROGRESS NOTE", ""},
		layouts: proseLayouts, minPages: 1, maxPages: 2,
		sections: [][]string{
			{"SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"},
			{"INTERVAL HISTORY", "VITAL SIGNS=", "EXAM", "ASSESSMENT AND PLAN"},
			{"CHIEF COMPLAINT", "SUBJECTIVE", "CURRENT MEDICATIONS", "OBJECTIVE", "ASSESSMENT", "PLAN"},
			{"S", "O", "A", "P"},
			{"S", "O", "A", "P"},
			{"SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"},
			{"CC", "HPI", "ROS", "PE", "A/P"},
		},
	},
	{
		code: TypeConsultNote, weight: 7,
		titles:  []string{"CONSULTATION", "CONSULTATION", "CONSULTATION NOTE", "Consultation Report", "CONSULT NOTE", "%s CONSULTATION", "INPATIENT CONSULTATION", "", ""},
		layouts: proseLayouts, minPages: 1, maxPages: 3,
		sections: [][]string{
			{"REQUESTING PHYSICIAN=", "REASON FOR CONSULTATION", "HISTORY OF PRESENT ILLNESS", "PAST MEDICAL HISTORY", "PHYSICAL EXAMINATION", "IMPRESSION", "RECOMMENDATIONS"},
			{"REFERRING PROVIDER=", "REASON FOR CONSULTATION", "HISTORY OF PRESENT ILLNESS", "MEDICATIONS", "REVIEW OF SYSTEMS", "EXAMINATION", "ASSESSMENT", "RECOMMENDATIONS"},
			// Laid out like an H&P.
			{"CHIEF COMPLAINT", "HISTORY OF PRESENT ILLNESS", "PAST MEDICAL HISTORY", "PAST SURGICAL HISTORY", "MEDICATIONS", "ALLERGIES=", "SOCIAL HISTORY", "REVIEW OF SYSTEMS", "PHYSICAL EXAMINATION", "IMPRESSION", "PLAN"},
			{"HPI", "PMH", "MEDS", "ALLERGIES=", "ROS", "PE", "IMPRESSION", "RECOMMENDATIONS"},
		},
	},
	{
		code: TypeOperativeReport, weight: 6,
		titles:  []string{"OPERATIVE REPORT", "OPERATIVE REPORT", "Operative Note", "OPERATIVE NOTE", "REPORT OF OPERATION", "BRIEF OPERATIVE NOTE", ""},
		layouts: proseLayouts, minPages: 1, maxPages: 3,
		sections: [][]string{
			{"DATE OF SURGERY=", "PREOPERATIVE DIAGNOSIS=", "POSTOPERATIVE DIAGNOSIS=", "PROCEDURE PERFORMED=", "SURGEON=", "ASSISTANT=", "ANESTHESIA=", "ESTIMATED BLOOD LOSS=", "SPECIMENS=", "COMPLICATIONS=", "INDICATIONS", "DESCRIPTION OF PROCEDURE"},
			{"PREOPERATIVE DIAGNOSIS=", "POSTOPERATIVE DIAGNOSIS=", "OPERATION=", "SURGEON=", "ANESTHESIA=", "DRAINS=", "FINDINGS", "DESCRIPTION OF OPERATION"},
		},
	},
	{
		code: TypeLabReport, weight: 9,
		titles:  []string{"LABORATORY REPORT", "LAB REPORT", "Laboratory Results", "CLINICAL LABORATORY REPORT", "CUMULATIVE LAB SUMMARY", ""},
		layouts: []string{LayoutTable}, minPages: 1, maxPages: 2,
		body: labBody,
	},
	{
		code: TypePathologyReport, weight: 5,
		titles:  []string{"SURGICAL PATHOLOGY REPORT", "SURGICAL PATHOLOGY REPORT", "PATHOLOGY REPORT", "Pathology Report", "PATHOLOGY CONSULTATION REPORT", ""},
		layouts: proseLayouts, minPages: 1, maxPages: 1,
		sections: [][]string{
			{"CASE NUMBER=", "SPECIMEN SUBMITTED=", "CLINICAL HISTORY", "GROSS DESCRIPTION", "MICROSCOPIC DESCRIPTION", "FINAL DIAGNOSIS"},
			{"ACCESSION=", "SOURCE OF SPECIMEN=", "FINAL DIAGNOSIS", "COMMENT", "GROSS DESCRIPTION", "MICROSCOPIC EXAMINATION"},
		},
		sign: func(d *document, r *rand.Rand) []block {
			return []block{{kind: blockGap, gap: 0.25}, {kind: blockLines, font: fontItalic, lines: []string{
				"I have personally reviewed the slides and rendered the above diagnosis.",
				fmt.Sprintf("%s, Pathologist  Signed out %s", pick(r, pathologists), d.date.plusDays(1+r.IntN(3)))}}}
		},
	},
	{
		code: TypeImagingReport, weight: 8,
		titles:  []string{"RADIOLOGY REPORT", "RADIOLOGY REPORT", "DIAGNOSTIC IMAGING REPORT", "Imaging Report", "%s", "%s", ""},
		layouts: proseLayouts, minPages: 1, maxPages: 2,
		sections: [][]string{
			{"EXAMINATION=", "CLINICAL HISTORY", "COMPARISON=", "TECHNIQUE", "FINDINGS", "IMPRESSION"},
			{"EXAM=", "INDICATION", "TECHNIQUE", "FINDINGS", "IMPRESSION"},
		},
		sign: func(d *document, r *rand.Rand) []block {
			return []block{{kind: blockGap, gap: 0.25}, {kind: blockLines, font: fontItalic, lines: []string{
				fmt.Sprintf("Electronically signed by %s, Radiologist on %s", pick(r, radiologists), d.date)}}}
		},
	},
	{
		code: TypeMedicationList, weight: 6,
		titles:  []string{"MEDICATION LIST", "CURRENT MEDICATIONS", "Medication Reconciliation", "PRESCRIPTION", "MEDICATION ADMINISTRATION RECORD", ""},
		layouts: []string{LayoutTable}, minPages: 1, maxPages: 1,
		body: medicationBody,
		sign: func(d *document, r *rand.Rand) []block {
			return []block{{kind: blockGap, gap: 0.25}, {kind: blockLines, font: d.bodyFont, lines: []string{
				"Reviewed with patient by " + d.clinician + " on " + d.date.String()}}}
		},
	},
	{
		code: TypeReferralLetter, weight: 5,
		titles:  []string{"", "", "REFERRAL", "REFERRAL LETTER", "Referral Request", "PATIENT REFERRAL FORM"},
		layouts: []string{LayoutLetter}, minPages: 1, maxPages: 2,
		body: referralBody,
	},
	{
		code: TypeConsentForm, weight: 5,
		titles:  []string{"CONSENT FOR SURGERY OR PROCEDURE", "INFORMED CONSENT", "Consent to Treatment", "CONSENT FOR ANESTHESIA", "AUTHORIZATION AND CONSENT", "CONSENT FOR BLOOD TRANSFUSION"},
		layouts: []string{LayoutForm}, minPages: 1, maxPages: 2,
		body: consentBody,
		sign: func(d *document, r *rand.Rand) []block { return nil },
	},
	{
		code: TypeInsuranceCard, weight: 4,
		titles:  []string{"", "COPY OF INSURANCE CARD", "INSURANCE CARD", "Insurance Card - Front and Back"},
		layouts: []string{LayoutCard}, minPages: 1, maxPages: 1,
		body: cardBody,
		sign: func(d *document, r *rand.Rand) []block { return nil },
	},
	{
		code: TypeCorrespondence, weight: 6,
		titles:  []string{""},
		layouts: []string{LayoutLetter}, minPages: 1, maxPages: 1,
		body: correspondenceBody,
	},
	{
		code: TypeOther, weight: 5,
		titles:  []string{"FAX", "FACSIMILE TRANSMITTAL", "PATIENT REGISTRATION FORM", "PATIENT INFORMATION UPDATE", "Fax Cover Sheet", "PRE-PROCEDURE CHECKLIST", "NURSING ADMISSION ASSESSMENT"},
		layouts: []string{LayoutForm, LayoutColumns}, minPages: 1, maxPages: 1,
		body: otherBody,
		sign: func(d *document, r *rand.Rand) []block { return nil },
	},
}

var pathologists = []string{"Lena Marchetti, MD", "Oscar Pemberton, MD", "Yuki Nakamura, MD"}
var radiologists = []string{"Ivan Zielinski, MD", "Hannah Quinlan, MD", "Felix Abernathy, MD"}

func kindByCode(code string) *docKind {
	for i := range docKinds {
		if docKinds[i].code == code {
			return &docKinds[i]
		}
	}
	return nil
}

func pickKind(r *rand.Rand) *docKind {
	total := 0
	for _, k := range docKinds {
		total += k.weight
	}
	n := r.IntN(total)
	for i := range docKinds {
		if n < docKinds[i].weight {
			return &docKinds[i]
		}
		n -= docKinds[i].weight
	}
	return &docKinds[0]
}

// field is the value of a one-line field section.
func (d *document) field(r *rand.Rand, name string) string {
	switch name {
	case "CONDITION AT DISCHARGE":
		return pick(r, dischargeConditions)
	case "DISPOSITION":
		return pick(r, dispositions)
	case "PROCEDURES PERFORMED", "PROCEDURE PERFORMED", "OPERATION":
		return capitalize(d.procedure)
	case "ALLERGIES":
		return pick(r, allergies)
	case "VITAL SIGNS":
		return fmt.Sprintf("BP %d/%d, HR %d, Temp %.1f F, Wt %d lb", 100+r.IntN(60), 60+r.IntN(30), 55+r.IntN(50), 97.0+r.Float64()*2.5, 110+r.IntN(150))
	case "REQUESTING PHYSICIAN", "REFERRING PROVIDER":
		return pick(r, clinicians)
	case "DATE OF SURGERY":
		return d.date.String()
	case "PREOPERATIVE DIAGNOSIS", "POSTOPERATIVE DIAGNOSIS":
		return capitalize(d.diagnosis)
	case "SURGEON":
		return d.clinician
	case "ASSISTANT":
		return pick(r, clinicians)
	case "ANESTHESIA":
		return pick(r, anesthesiaTypes)
	case "ESTIMATED BLOOD LOSS":
		return fmt.Sprintf("%d mL", 5*(1+r.IntN(60)))
	case "SPECIMENS":
		return pick(r, []string{"None", "Gallbladder to pathology", "Appendix to pathology", "Skin lesion to pathology", "Meniscal fragments to pathology"})
	case "COMPLICATIONS":
		return pick(r, []string{"None", "None apparent", "None."})
	case "DRAINS":
		return pick(r, []string{"None", "One 19 French drain", "Foley catheter"})
	case "CASE NUMBER", "ACCESSION":
		return fmt.Sprintf("S%02d-%05d", d.date.y%100, r.IntN(100000))
	case "SPECIMEN SUBMITTED", "SOURCE OF SPECIMEN":
		return d.specimen.site
	case "EXAMINATION", "EXAM":
		return d.exam.exam
	case "COMPARISON":
		return pick(r, []string{"None available", "Prior study dated " + d.date.minusDays(100+r.IntN(600)).String(), "None"})
	}
	return ""
}

// typedSentence is a sentence for a section specific to the document type,
// or "" to fall back to the general clinical sentences.
func (d *document) typedSentence(r *rand.Rand, section string) string {
	switch d.kind.code {
	case TypeOperativeReport:
		switch section {
		case "DESCRIPTION OF PROCEDURE", "DESCRIPTION OF OPERATION":
			return pick(r, operativeSteps)
		case "INDICATIONS":
			return pick(r, []string{
				fmt.Sprintf("The patient presented with %s and elected to proceed with %s.", d.diagnosis, d.procedure),
				"Risks, benefits and alternatives were discussed and informed consent was obtained.",
				"Conservative management had failed over several months.",
				"The patient was seen in the preoperative area and the operative site was marked.",
			})
		case "FINDINGS":
			return pick(r, []string{"Findings were consistent with the preoperative diagnosis.", "There were moderate adhesions.", "No other abnormality was seen.", "The tissue appeared inflamed without perforation."})
		}
	case TypePathologyReport:
		switch section {
		case "GROSS DESCRIPTION":
			return d.specimen.gross
		case "MICROSCOPIC DESCRIPTION", "MICROSCOPIC EXAMINATION":
			if r.IntN(2) == 0 {
				return d.specimen.micro
			}
			return pick(r, pathologyNotes)
		case "FINAL DIAGNOSIS":
			return strings.ToUpper(d.specimen.site[:1]) + d.specimen.site[1:] + ": " + d.specimen.diagnosis
		case "COMMENT":
			return pick(r, pathologyNotes)
		case "CLINICAL HISTORY":
			return fmt.Sprintf("History of %s. Specimen obtained at %s.", pick(r, diagnoses), titleCase(d.facility.name))
		}
	case TypeImagingReport:
		switch section {
		case "TECHNIQUE":
			if r.IntN(2) == 0 {
				return d.exam.technique
			}
			return pick(r, []string{"Dose reduction techniques were used.", "No prior studies were available for comparison.", "Images were reviewed on a diagnostic workstation."})
		case "FINDINGS":
			return pick(r, imagingFindings)
		case "IMPRESSION":
			return pick(r, imagingImpressions)
		case "CLINICAL HISTORY", "INDICATION":
			return capitalize(pick(r, symptoms)) + ". Evaluate for " + pick(r, diagnoses) + "."
		}
	case TypeDischargeSummary:
		switch section {
		case "HOSPITAL COURSE":
			return pick(r, hospitalCourse)
		case "DISCHARGE INSTRUCTIONS":
			return pick(r, []string{"Resume a regular diet as tolerated.", "No heavy lifting for two weeks.", "Call your doctor for fever over 101 F.", "Take all medications as prescribed."})
		}
	case TypeHistoryPhysical:
		switch section {
		case "SOCIAL HISTORY":
			return pick(r, socialHistory)
		case "FAMILY HISTORY":
			return pick(r, familyHistory)
		case "REVIEW OF SYSTEMS":
			return pick(r, reviewOfSystems)
		}
	case TypeConsultNote:
		switch section {
		case "RECOMMENDATIONS":
			if r.IntN(3) == 0 {
				return pick(r, consultClosings)
			}
		case "REASON FOR CONSULTATION":
			return fmt.Sprintf("Asked by %s to evaluate %s.", pick(r, clinicians), pick(r, diagnoses))
		case "REVIEW OF SYSTEMS":
			return pick(r, reviewOfSystems)
		}
	}
	return ""
}

// labBody is a lab report: accession lines, table of results, comment.
func labBody(d *document, r *rand.Rand, page int) []block {
	rows := [][]string{{"Test", "Result", "Flag", "Units", "Reference Range"}}
	for _, k := range r.Perm(len(labTests))[:8+r.IntN(8)] {
		t := labTests[k]
		span := t.high - t.low
		v := t.low + span*(r.Float64()*1.4-0.2)
		flag := ""
		switch {
		case v < t.low:
			flag = "LOW"
		case v > t.high:
			flag = "HIGH"
		}
		rows = append(rows, []string{t.name, fmt.Sprintf("%.*f", t.decimals, max(v, 0)), flag, t.units,
			fmt.Sprintf("%.*f-%.*f", t.decimals, t.low, t.decimals, t.high)})
	}
	return []block{
		{kind: blockLines, font: d.bodyFont, lines: []string{
			fmt.Sprintf("Panel: %s", pick(r, labPanels)),
			fmt.Sprintf("Accession: %s%07d  Ordering Provider: %s", pick(r, []string{"A", "L", "CH"}), r.IntN(10000000), d.clinician),
			fmt.Sprintf("Specimen: %s  Collected: %s %02d:%02d  Reported: %s", pick(r, []string{"Blood", "Serum", "Plasma", "Whole blood"}), d.date, 6+r.IntN(4), r.IntN(60), d.date.plusDays(r.IntN(2))),
		}},
		{kind: blockGap, gap: 0.2},
		{kind: blockTable, rows: rows},
		{kind: blockGap, gap: 0.25},
		{kind: blockLines, font: d.boldFont(), lines: []string{"COMMENTS:"}, keepWithNext: true},
		d.para(r, "COMMENTS", 1+r.IntN(3)),
	}
}

// medicationBody is a medication list (a table) or a prescription.
func medicationBody(d *document, r *rand.Rand, page int) []block {
	if d.title == "PRESCRIPTION" || (d.title == "" && r.IntN(2) == 0) {
		var out []block
		out = append(out, block{kind: blockLines, font: d.bodyFont, lines: []string{
			fmt.Sprintf("Prescriber: %s  NPI: %010d  DEA: %s%07d", d.clinician, r.IntN(10000000000), pick(r, []string{"AB", "BF", "MR"}), r.IntN(10000000)),
			"Date: " + d.date.String(), pick(r, allergies),
		}}, block{kind: blockGap, gap: 0.2})
		for i := range 2 + r.IntN(3) {
			med := pick(r, medications)
			out = append(out,
				block{kind: blockLines, font: d.boldFont(), lines: []string{fmt.Sprintf("Rx %d: %s %d mg tablet", i+1, capitalize(med), 5*(1+r.IntN(60)))}},
				block{kind: blockLines, font: d.bodyFont, lines: []string{
					fmt.Sprintf("Sig: Take %s %s %s.", pick(r, []string{"one tablet", "two tablets", "one capsule"}), pick(r, routes), pick(r, frequencies)),
					fmt.Sprintf("Disp: #%d   Refills: %d   Substitution permitted: %s", 30*(1+r.IntN(3)), r.IntN(6), pick(r, []string{"Yes", "No"})),
				}},
				block{kind: blockGap, gap: 0.15})
		}
		out = append(out, block{kind: blockPara, font: d.bodyFont, text: "Pharmacy: please verify patient identity and allergies before dispensing. Call the office with any questions about this prescription."})
		return out
	}
	rows := [][]string{{"Medication", "Dose", "Route", "Frequency", "Started"}}
	for _, k := range r.Perm(len(medications))[:6+r.IntN(9)] {
		rows = append(rows, []string{capitalize(medications[k]), fmt.Sprintf("%d mg", 5*(1+r.IntN(100))),
			pick(r, routes), pick(r, frequencies), d.date.minusDays(r.IntN(900)).String()})
	}
	return []block{
		{kind: blockLines, font: d.bodyFont, lines: []string{"Allergies: " + pick(r, allergies), "Pharmacy: " + pick(r, []string{"Harbor Way Pharmacy", "Main Street Drug", "Quarry Road Apothecary"}) + "  Tel (555) 01" + fmt.Sprintf("%d-%04d", r.IntN(10), r.IntN(10000))}},
		{kind: blockGap, gap: 0.2},
		{kind: blockTable, rows: rows},
		{kind: blockGap, gap: 0.25},
		{kind: blockPara, font: d.bodyFont, text: pick(r, []string{
			"The medication list was reconciled with the patient and the pharmacy record. Discontinued medications were removed.",
			"Patient instructed to bring all medication bottles to every visit. Over the counter supplements are included above.",
			"Changes since last visit are reflected above. The patient verbalized understanding of each medication and its purpose.",
		})},
	}
}

// letterHead is the addressee block, re line and salutation of a letter.
func (d *document) letterHead(r *rand.Rand, toPatient bool) []block {
	var addr []string
	salutation := ""
	if toPatient {
		title := "Mr."
		if d.patient.female {
			title = "Ms."
		}
		addr = []string{titleCase(d.patient.given) + " " + titleCase(d.patient.surname), d.patient.street, d.patient.city}
		salutation = "Dear " + title + " " + titleCase(d.patient.surname) + ","
	} else {
		to := pick(r, clinicians)
		other := pick(r, facilities)
		surname := strings.Fields(strings.Split(to, ",")[0])
		addr = []string{to, titleCase(other.name), other.street, other.city}
		salutation = "Dear Dr. " + surname[len(surname)-1] + ","
		if d.kind.code == TypeCorrespondence && r.IntN(3) == 0 {
			addr = []string{"Claims Department", titleCase(pick(r, payers).name), "PO Box " + fmt.Sprint(1000+r.IntN(9000)), pick(r, towns)}
			salutation = "To Whom It May Concern:"
		}
	}
	re := []string{join("  ", "Re: "+d.ids.nameOnly, d.ids.dob)}
	switch r.IntN(3) {
	case 0:
		re = []string{"RE: " + d.ids.name}
		if l := join("  ", d.ids.mrn, d.ids.other, d.ids.dob); l != "" {
			re = append(re, l)
		}
	case 1:
		re = []string{join("  ", "Re: "+d.ids.nameOnly, d.ids.dobOnly)}
	}
	out := []block{
		{kind: blockLines, font: d.bodyFont, lines: []string{d.date.long()}},
		{kind: blockGap, gap: 0.3},
		{kind: blockLines, font: d.bodyFont, lines: addr},
		{kind: blockGap, gap: 0.3},
	}
	if d.title != "" {
		out = append(out, block{kind: blockLines, font: fontBold, size: 13, lines: []string{d.title}}, block{kind: blockGap, gap: 0.15})
	}
	return append(out,
		block{kind: blockLines, font: d.boldFont(), lines: re},
		block{kind: blockGap, gap: 0.2},
		block{kind: blockLines, font: d.bodyFont, lines: []string{salutation}},
		block{kind: blockGap, gap: 0.1},
	)
}

func referralBody(d *document, r *rand.Rand, page int) []block {
	var out []block
	if page == 1 {
		out = d.letterHead(r, false)
		out = append(out, block{kind: blockLines, font: d.bodyFont, lines: []string{
			"Referred to: " + pick(r, specialties), "Reason for referral: " + capitalize(d.diagnosis)}}, block{kind: blockGap, gap: 0.12})
	}
	if d.variant%3 == 0 {
		// A referral for surgery, discussing the operation.
		out = append(out, d.surgeryLetterBody(r)...)
	}
	for range 1 + r.IntN(3) {
		var s []string
		for range 3 + r.IntN(3) {
			x := pick(r, referralSentences)
			if strings.Contains(x, "%s") {
				arg := d.diagnosis
				if strings.Contains(x, "medications") {
					arg = pick(r, medications) + " and " + pick(r, medications)
				}
				x = fmt.Sprintf(x, arg)
			}
			if r.IntN(3) == 0 {
				x = d.sentence(r, pick(r, []string{"HISTORY", "PRESENT ILLNESS", "EXAM", "PLAN"}))
			}
			s = append(s, x)
		}
		out = append(out, block{kind: blockPara, font: d.bodyFont, text: strings.Join(s, " ")}, block{kind: blockGap, gap: 0.12})
	}
	return out
}

func correspondenceBody(d *document, r *rand.Rand, page int) []block {
	var out []block
	if d.variant%4 == 3 {
		// A surgeon's letter to the referring physician about an operation.
		if page == 1 {
			out = d.letterHead(r, false)
		}
		return append(out, d.surgeryLetterBody(r)...)
	}
	purpose := correspondencePurposes[d.variant%len(correspondencePurposes)]
	if page == 1 {
		out = d.letterHead(r, d.variant%len(correspondencePurposes) != 5 && r.IntN(4) != 0)
	}
	for range 2 + r.IntN(3) {
		var s []string
		for _, k := range r.Perm(len(purpose))[:2+r.IntN(len(purpose)-1)] {
			s = append(s, purpose[k])
		}
		if r.IntN(2) == 0 {
			s = append(s, fmt.Sprintf("Your appointment is on %s at %d:%02d with %s.", d.date.plusDays(7+r.IntN(40)).long(), 8+r.IntN(9), 15*r.IntN(4), d.clinician))
		}
		if r.IntN(3) == 0 {
			s = append(s, "Our office hours are Monday through Friday, 8 AM to 5 PM, at "+d.facility.phone+".")
		}
		out = append(out, block{kind: blockPara, font: d.bodyFont, text: strings.Join(s, " ")}, block{kind: blockGap, gap: 0.12})
	}
	return out
}

// patientFields are the identifier lines a form or card page prints.
func (d *document) patientFields() []string {
	out := []string{d.ids.name}
	if l := join("   ", d.ids.mrn, d.ids.other, d.ids.dob); l != "" {
		out = append(out, l)
	}
	return out
}

func consentBody(d *document, r *rand.Rand, page int) []block {
	var out []block
	if page == 1 {
		out = append(out, block{kind: blockLines, font: d.bodyFont, lines: append(d.patientFields(), "Date: "+d.date.String())}, block{kind: blockGap, gap: 0.2})
	}
	risks := r.Perm(len(consentRisks))[:3+r.IntN(3)]
	var rs []string
	for _, k := range risks {
		rs = append(rs, consentRisks[k])
	}
	paras := []string{
		fmt.Sprintf("I hereby authorize %s and such assistants as may be selected to perform the following procedure: %s.", d.clinician, d.procedure),
		"The nature and purpose of the procedure, possible alternative methods of treatment, and the risks involved have been explained to me.",
		"I understand that the risks include but are not limited to " + strings.Join(rs, ", ") + ".",
		"I consent to the administration of anesthesia or sedation as considered necessary by the physician responsible for this service.",
		"I understand that no guarantee or assurance has been given to me as to the results that may be obtained.",
		"I consent to the examination and disposal of any tissue or parts which may be removed during the procedure.",
		"I have had the opportunity to ask questions and all of my questions have been answered to my satisfaction.",
		"I consent to the transfusion of blood or blood products if deemed necessary during the procedure.",
		"I understand that I may withdraw this consent at any time before the procedure begins.",
	}
	start, end := 0, len(paras)
	if d.pages > 1 {
		if page == 1 {
			end = 5
		} else {
			start = 5
		}
	}
	for i, p := range paras[start:end] {
		out = append(out, block{kind: blockPara, font: d.bodyFont, text: fmt.Sprintf("%d. %s", start+i+1, p)}, block{kind: blockGap, gap: 0.1})
	}
	if page == d.pages {
		out = append(out, block{kind: blockGap, gap: 0.2},
			block{kind: blockLines, font: d.bodyFont, lines: []string{"Patient or legal representative signature"}},
			block{kind: blockGap, gap: 0.3}, block{kind: blockRule}, block{kind: blockGap, gap: 0.1},
			block{kind: blockLines, font: d.bodyFont, lines: []string{
				fmt.Sprintf("Date: %s   Time: %d:%02d", d.date, 7+r.IntN(12), r.IntN(60)),
				"Witness: " + pick(r, []string{"R. Okafor, RN", "T. Brennan, RN", "S. Lindqvist, LPN"}),
				"Physician statement: I have explained the procedure, its risks, benefits and alternatives to the patient.",
				"Physician: " + d.clinician,
			}})
	}
	return out
}

func cardBody(d *document, r *rand.Rand, page int) []block {
	p := pick(r, payers)
	member := fmt.Sprintf("%s%09d", pick(r, []string{"XJH", "KBP", "NHA", "W", "ZGM"}), r.IntN(1000000000))
	name := titleCase(d.patient.given) + " " + titleCase(d.patient.surname)
	if r.IntN(3) == 0 {
		name = d.patient.given + " " + d.patient.surname
	}
	front := []string{
		p.name,
		"Member: " + name,
		"Member ID: " + member,
		fmt.Sprintf("Group: %05d-%02d", r.IntN(100000), r.IntN(100)),
		"Plan: " + p.plan,
		fmt.Sprintf("Effective: %02d/01/%04d", 1+r.IntN(12), d.date.y-r.IntN(3)),
		fmt.Sprintf("PCP $%d  Specialist $%d", 10*(1+r.IntN(4)), 20*(1+r.IntN(4))),
		fmt.Sprintf("ER $%d  Urgent Care $%d", 50*(1+r.IntN(6)), 25*(1+r.IntN(4))),
		fmt.Sprintf("RxBIN %06d  RxPCN %s", r.IntN(1000000), pick(r, []string{"ADV", "RXP", "MEDD"})),
	}
	back := []string{
		"Member Services " + p.phone,
		"Provider Services " + p.phone,
		"Nurse Line 1-800-555-0150",
		"Submit claims to:",
		fmt.Sprintf("PO Box %d", 1000+r.IntN(9000)),
		pick(r, towns),
		"This card does not",
		"guarantee coverage.",
		"Present at every visit.",
	}
	out := []block{
		{kind: blockLines, font: d.bodyFont, lines: append(d.patientFields(), "Scanned: "+d.date.String())},
		{kind: blockGap, gap: 0.3},
		{kind: blockRule},
		{kind: blockGap, gap: 0.15},
		{kind: blockColumns,
			left:  []block{{kind: blockLines, font: fontMedium, size: 10, lines: front}},
			right: []block{{kind: blockLines, font: fontMedium, size: 10, lines: back}},
		},
		{kind: blockGap, gap: 0.15},
		{kind: blockRule},
	}
	if r.IntN(2) == 0 {
		sec := pick(r, payers)
		out = append(out, block{kind: blockGap, gap: 0.4}, block{kind: blockLines, font: d.bodyFont, lines: []string{
			"Secondary insurance: " + titleCase(sec.name),
			fmt.Sprintf("Subscriber: %s   Relationship: %s", name, pick(r, []string{"Self", "Self", "Spouse"})),
			"Verified by registration on " + d.date.String(),
		}})
	}
	return out
}

func otherBody(d *document, r *rand.Rand, page int) []block {
	if strings.Contains(strings.ToUpper(d.title), "FA") || d.faxCover { // fax cover sheets
		return d.faxCoverBody(r)
	}
	if d.layout == LayoutColumns {
		return d.columnsForm(r)
	}
	return d.registrationBody(r)
}

// faxCoverBody is a fax cover sheet.
func (d *document) faxCoverBody(r *rand.Rand) []block {
	{
		other := pick(r, facilities)
		return []block{
			{kind: blockLines, font: d.bodyFont, lines: []string{
				"Date: " + d.date.String(),
				"To: " + pick(r, []string{"Medical Records", "Health Information Management", pick(r, clinicians)}),
				"Organization: " + titleCase(other.name),
				fmt.Sprintf("Fax: (555) 01%d-%04d   Phone: %s", r.IntN(10), r.IntN(10000), other.phone),
				"From: " + d.clinician,
				fmt.Sprintf("Fax: (555) 01%d-%04d   Phone: %s", r.IntN(10), r.IntN(10000), d.facility.phone),
				fmt.Sprintf("Number of pages including cover: %d", d.faxPages(r)),
				join("  ", "Regarding: "+d.ids.nameOnly, d.ids.dob),
				"Urgent: " + pick(r, []string{"Yes", "No"}) + "   Please reply: " + pick(r, []string{"Yes", "No"}),
			}},
			{kind: blockGap, gap: 0.3},
			{kind: blockLines, font: d.boldFont(), lines: []string{"Comments:"}},
			{kind: blockPara, font: d.bodyFont, text: pick(r, []string{
				"Please find the requested records attached. Call with any questions.",
				"Attached are the office notes and recent results for the patient named above.",
				"Records requested for continuity of care. Please fax back to the number above.",
			})},
			{kind: blockGap, gap: 0.5},
			{kind: blockPara, font: d.bodyFont, size: 9, text: faxNotice},
		}
	}
}

// registrationBody is a patient registration or information form.
func (d *document) registrationBody(r *rand.Rand) []block {
	pay := pick(r, payers)
	sex := "Male"
	if d.patient.female {
		sex = "Female"
	}
	return []block{
		{kind: blockLines, font: d.bodyFont, lines: []string{
			d.ids.name, join("   ", d.ids.dob, "Sex: "+sex), join("   ", d.ids.mrn, d.ids.other),
			"Address: " + d.patient.street + ", " + d.patient.city,
			fmt.Sprintf("Home phone: (555) 01%d-%04d   Cell: (555) 01%d-%04d", r.IntN(10), r.IntN(10000), r.IntN(10), r.IntN(10000)),
			"Marital status: " + pick(r, []string{"Single", "Married", "Widowed", "Divorced"}) + "   Preferred language: English",
			"Employer: " + pick(r, employers),
		}},
		{kind: blockGap, gap: 0.2},
		{kind: blockLines, font: d.boldFont(), lines: []string{"EMERGENCY CONTACT"}},
		{kind: blockLines, font: d.bodyFont, lines: []string{
			fmt.Sprintf("Name: %s %s   Relationship: %s", titleCase(pick(r, femaleNames)), titleCase(d.patient.surname), pick(r, relations)),
			fmt.Sprintf("Phone: (555) 01%d-%04d", r.IntN(10), r.IntN(10000)),
		}},
		{kind: blockGap, gap: 0.2},
		{kind: blockLines, font: d.boldFont(), lines: []string{"PRIMARY INSURANCE"}},
		{kind: blockLines, font: d.bodyFont, lines: []string{
			"Carrier: " + titleCase(pay.name), fmt.Sprintf("Policy number: %09d   Group: %05d", r.IntN(1000000000), r.IntN(100000)),
			"Policy holder: " + pick(r, []string{"Self", "Spouse", "Parent"}),
		}},
		{kind: blockGap, gap: 0.2},
		{kind: blockPara, font: d.bodyFont, text: "I certify that the information above is correct to the best of my knowledge. I will notify the office of any changes to my address, telephone or insurance."},
		{kind: blockGap, gap: 0.3},
		{kind: blockLines, font: d.bodyFont, lines: []string{"Signature of patient or guardian", "Date: " + d.date.String()}},
	}
}
