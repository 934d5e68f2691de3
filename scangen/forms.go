package scangen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file owns the bodies added for variety: multi-column forms and
// letters between physicians about a surgery.

// faxPages is the page count a fax cover announces: its transmission's
// when it has one.
func (d *document) faxPages(r *rand.Rand) int {
	if d.fax != nil && d.fax.totalPages > 0 {
		return d.fax.totalPages
	}
	return 2 + r.IntN(12)
}

// box is a check box line of a form.
func box(r *rand.Rand, label string) string {
	if r.IntN(3) == 0 {
		return "[X] " + label
	}
	return "[ ] " + label
}

// columnsForm is a form of labelled fields in two columns, then check
// boxes and a signature line.
func (d *document) columnsForm(r *rand.Rand) []block {
	sex := "M"
	if d.patient.female {
		sex = "F"
	}
	x := d.ids
	left := []string{x.name, x.dob, "Sex: " + sex, "Address: " + d.patient.street, "City: " + d.patient.city,
		fmt.Sprintf("Phone: (555) 01%d-%04d", r.IntN(10), r.IntN(10000))}
	right := []string{x.mrn, x.other, x.acct, "Admit/Visit Date: " + d.date.String(), "Attending: " + d.clinician,
		"Allergies: " + strings.TrimPrefix(pick(r, allergies), "Allergies: "), "Height: " + fmt.Sprintf("%d in", 58+r.IntN(20)),
		fmt.Sprintf("Weight: %d lb", 100+r.IntN(150))}
	var l, rr []string
	for _, s := range left {
		if s != "" {
			l = append(l, s)
		}
	}
	for _, s := range right {
		if s != "" {
			rr = append(rr, s)
		}
	}
	checks := []string{"Identity verified with two identifiers", "Consent signed", "NPO since midnight", "Jewelry removed",
		"Fall risk assessed", "Interpreter needed", "Advance directive on file", "Medications reconciled", "Vaccinations up to date"}
	var c1, c2 []string
	for i, k := range r.Perm(len(checks))[:6] {
		if i%2 == 0 {
			c1 = append(c1, box(r, checks[k]))
		} else {
			c2 = append(c2, box(r, checks[k]))
		}
	}
	return []block{
		{kind: blockColumns,
			left:  []block{{kind: blockLines, font: d.bodyFont, lines: l}},
			right: []block{{kind: blockLines, font: d.bodyFont, lines: rr}}},
		{kind: blockGap, gap: 0.2},
		{kind: blockRule},
		{kind: blockGap, gap: 0.1},
		{kind: blockColumns,
			left:  []block{{kind: blockLines, font: d.bodyFont, lines: c1}},
			right: []block{{kind: blockLines, font: d.bodyFont, lines: c2}}},
		{kind: blockGap, gap: 0.2},
		{kind: blockLines, font: d.boldFont(), lines: []string{"NOTES:"}},
		d.para(r, "ASSESSMENT", 1+r.IntN(3)),
		{kind: blockGap, gap: 0.3},
		{kind: blockLines, font: d.bodyFont, lines: []string{"Completed by: " + pick(r, []string{"R. Okafor, RN", "T. Brennan, RN", "S. Lindqvist, LPN"}) + "   Date: " + d.date.String()}},
	}
}

// surgeryLetter is a letter from a surgeon to the referring physician
// about an operation: a letter, not an operative report.
var surgeryLetter = []string{
	"Thank you for referring %s to our practice.",
	"I had the pleasure of seeing your patient in follow-up after %s.",
	"As you know, the patient underwent %s on %s without complication.",
	"The operative findings were consistent with the preoperative diagnosis of %s.",
	"The incisions are healing well and there is no sign of infection.",
	"Pathology from the specimen was benign and I have reviewed it with the patient.",
	"I have asked the patient to avoid heavy lifting for the next four weeks.",
	"We discussed the risks and benefits of surgery at length, and the patient wishes to proceed.",
	"Surgery is tentatively scheduled for %s.",
	"I will see the patient again in six weeks and will keep you informed of progress.",
	"Please do not hesitate to contact me if you have any questions.",
	"Pain is well controlled with acetaminophen and the patient has resumed a regular diet.",
}

// surgeryLetterBody is the prose of a physician's letter about a surgery.
func (d *document) surgeryLetterBody(r *rand.Rand) []block {
	var out []block
	for range 2 + r.IntN(3) {
		var s []string
		for _, k := range r.Perm(len(surgeryLetter))[:3+r.IntN(3)] {
			x := surgeryLetter[k]
			switch strings.Count(x, "%s") {
			case 1:
				switch {
				case strings.Contains(x, "referring"):
					x = fmt.Sprintf(x, titleCase(d.patient.given)+" "+titleCase(d.patient.surname))
				case strings.Contains(x, "diagnosis"):
					x = fmt.Sprintf(x, d.diagnosis)
				case strings.Contains(x, "scheduled"):
					x = fmt.Sprintf(x, d.date.plusDays(10+r.IntN(40)).long())
				default:
					x = fmt.Sprintf(x, d.procedure)
				}
			case 2:
				x = fmt.Sprintf(x, d.procedure, d.date.minusDays(7+r.IntN(30)).long())
			}
			s = append(s, x)
		}
		out = append(out, block{kind: blockPara, font: d.bodyFont, text: strings.Join(s, " ")}, block{kind: blockGap, gap: 0.12})
	}
	return out
}
