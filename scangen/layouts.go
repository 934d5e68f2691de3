package scangen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file owns the varied parts of a page around its body: letterheads
// (of several kinds, or none), patient header blocks, the running headers
// of continuation pages (or none), footers (or none) and the fax
// transmission header a fax machine prints on top of every page it sends.

// Letterhead styles (document.head).
const (
	headCentred  = iota // facility centred in bold, address and telephone, a rule
	headLeft            // facility left, address lines under it, no rule
	headRight           // facility and address right-aligned
	headPractice        // a physician's name and specialty, address on one line
	headColumns         // facility left, telephone and fax right
	headNone            // plain paper: no letterhead
	numHeads
)

// letterhead is the top of a first page, in the document's style.
func (d *document) letterhead(r *rand.Rand) []block {
	f := d.facility
	name := f.name
	if d.headCase && !strings.Contains(name, ", ") {
		name = titleCase(name)
	}
	fax := fmt.Sprintf("Fax (555) 01%d-%04d", r.IntN(10), r.IntN(10000))
	switch d.head {
	case headLeft:
		return []block{
			{kind: blockLines, font: fontBold, size: 13, lines: []string{name}},
			{kind: blockLines, font: fontRegular, size: 9, lines: []string{f.street, f.city, "Phone " + f.phone + "  " + fax}},
			{kind: blockGap, gap: 0.3},
		}
	case headRight:
		return []block{
			{kind: blockLines, font: fontBold, size: 12, align: alignRight, lines: []string{name}},
			{kind: blockLines, font: fontRegular, size: 9, align: alignRight, lines: []string{f.street, f.city, f.phone}},
			{kind: blockGap, gap: 0.3},
		}
	case headPractice:
		doc := d.clinician
		return []block{
			{kind: blockLines, font: fontBold, size: 13, align: alignCenter, lines: []string{doc}},
			{kind: blockLines, font: fontItalic, size: 10, align: alignCenter, lines: []string{pick(r, specialties)}},
			{kind: blockLines, font: fontRegular, size: 9, align: alignCenter, lines: []string{f.street + " - " + f.city}},
			{kind: blockGap, gap: 0.1},
			{kind: blockRule},
			{kind: blockGap, gap: 0.25},
		}
	case headColumns:
		return []block{
			{kind: blockColumns,
				left:  []block{{kind: blockLines, font: fontBold, size: 11, lines: []string{name, f.street, f.city}}},
				right: []block{{kind: blockLines, font: fontBold, size: 11, lines: []string{"Tel " + f.phone, fax}}},
			},
			{kind: blockGap, gap: 0.1},
			{kind: blockRule},
			{kind: blockGap, gap: 0.25},
		}
	case headNone:
		return []block{{kind: blockGap, gap: 0.2}}
	}
	return []block{
		{kind: blockLines, font: fontBold, size: 14, align: alignCenter, lines: []string{name}},
		{kind: blockLines, font: fontRegular, size: 10, align: alignCenter, lines: []string{f.street + ", " + f.city + "  Tel " + f.phone}},
		{kind: blockGap, gap: 0.1},
		{kind: blockRule},
		{kind: blockGap, gap: 0.2},
	}
}

// patientBlock is the patient header of a first page, in the document's
// style, with the service line and provider.
func (d *document) patientBlock(r *rand.Rand, service string) []block {
	x := d.ids
	prov := "Provider: " + d.clinician
	if r.IntN(3) == 0 {
		prov = pick(r, []string{"Attending: ", "Physician: ", "Seen by: ", "Author: "}) + d.clinician
	}
	var lines []string
	switch d.pblock {
	case 0:
		lines = []string{join("  ", x.name, x.mrn, x.dob), join("  ", x.other, x.acct), service + "  " + prov}
	case 1:
		lines = []string{x.name, join("  ", x.mrn, x.dob), join("  ", x.other, x.acct), join("  ", service, prov)}
	case 2:
		lines = append(x.lines(), service, prov)
	case 3:
		// Two columns: identifiers left, visit right.
		left := []string{x.name, x.dob}
		right := []string{x.mrn, x.other, service}
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
		out := []block{{kind: blockColumns,
			left:  []block{{kind: blockLines, font: d.bodyFont, lines: l}},
			right: []block{{kind: blockLines, font: d.bodyFont, lines: rr}}}}
		extra := []string{prov}
		if x.acct != "" {
			extra = append(extra, x.acct)
		}
		return append(out, block{kind: blockLines, font: d.bodyFont, lines: extra}, block{kind: blockGap, gap: 0.25})
	default:
		// A boxed form header: rules above and below.
		lines = []string{join("    ", x.name, x.dob), join("    ", x.mrn, x.other, x.acct), join("    ", service, prov)}
		var ls []string
		for _, l := range lines {
			if l != "" {
				ls = append(ls, l)
			}
		}
		return []block{{kind: blockRule}, {kind: blockGap, gap: 0.05},
			{kind: blockLines, font: d.bodyFont, lines: ls},
			{kind: blockRule}, {kind: blockGap, gap: 0.25}}
	}
	var ls []string
	for _, l := range lines {
		if l != "" {
			ls = append(ls, l)
		}
	}
	return []block{{kind: blockLines, font: d.bodyFont, lines: ls}, {kind: blockGap, gap: 0.25}}
}

// Running header styles of continuation pages (document.running).
const (
	runNone     = iota // nothing: the text just goes on
	runNameMRN         // "DOE, JANE  MRN: 00123456  PROGRESS NOTE (continued)"
	runNameDOB         // "Patient: DOE, JANE  DOB: 03/14/1961"
	runFacility        // "Riverbend Community Hospital - Progress Note"
	runNameOnly        // "Re: Jane Doe"
	runTitle           // the title again, as some record systems print it on every page
	numRunning
)

// runningHeader is the top of continuation page i, or nil.
func (d *document) runningHeader(i int) []block {
	var line string
	switch d.running {
	case runNameMRN:
		line = join("  ", d.ids.nameOnly, d.ids.mrn)
		if d.title != "" {
			line += "  " + d.title + " (continued)"
		}
	case runNameDOB:
		line = join("  ", d.ids.name, d.ids.dob)
	case runFacility:
		line = titleCase(d.facility.name)
		if d.title != "" {
			line += " - " + titleCase(d.title)
		}
	case runNameOnly:
		line = "Re: " + d.ids.nameOnly
	case runTitle:
		if d.title == "" {
			return nil
		}
		return []block{
			{kind: blockLines, font: fontBold, size: 13, align: alignCenter, lines: []string{d.title}},
			{kind: blockGap, gap: 0.15},
		}
	default:
		return nil
	}
	return []block{
		{kind: blockLines, font: d.bodyFont, size: 9, lines: []string{line}},
		{kind: blockRule},
		{kind: blockGap, gap: 0.2},
	}
}

// Footer styles (document.footer).
const (
	footPageOf  = iota // "Page 2 of 3"
	footPage           // "Page 2" (none on a one-page document)
	footNone           // nothing
	footPrinted        // "Printed 03/14/2024 10:42 by HIM" with no page number
	footSlash          // "2/3" in the corner, as some systems print
	numFooters
)

// footerText is the footer of page i of n.
func (d *document) footerText(i, n int) string {
	switch d.footer {
	case footPageOf:
		return fmt.Sprintf("Page %d of %d", i, n)
	case footPage:
		if n > 1 {
			return fmt.Sprintf("Page %d", i)
		}
	case footPrinted:
		return fmt.Sprintf("Printed %s %02d:%02d - %s", d.date.plusDays(d.variant%30), 8+d.variant%9, d.variant%60, titleCase(d.facility.name))
	case footSlash:
		return fmt.Sprintf("%d/%d", i, n)
	}
	return ""
}

// faxRun is one fax transmission: consecutive documents sent together,
// with a header printed on top of every page.
type faxRun struct {
	style      int
	from, to   string // sender's and receiver's names
	fromNo     string // sender's fax number
	toNo       string
	date       date
	hour, min  int
	totalPages int
}

// header is the transmission line on page k of the run.
func (f *faxRun) header(k int) string {
	n := f.totalPages
	switch f.style {
	case 0:
		return fmt.Sprintf("%s %02d:%02d FROM: %s %s TO: %s P.%03d/%03d", f.date, f.hour, f.min, f.fromNo, strings.ToUpper(f.from), f.toNo, k, n)
	case 1:
		return fmt.Sprintf("%s-%02d-%04d %02d:%02d  %s  %s  PAGE %d/%d  FAX", strings.ToUpper(shortMonths[f.date.m-1]), f.date.d, f.date.y, f.hour, f.min, strings.ToUpper(f.from), f.fromNo, k, n)
	case 2:
		return fmt.Sprintf("Received: %s %d:%02d%s; From: %s; To: %s; Page %d of %d", f.date, 1+(f.hour+11)%12, f.min, map[bool]string{true: "PM", false: "AM"}[f.hour >= 12], f.fromNo, f.to, k, n)
	default:
		return fmt.Sprintf("FAX FROM %s TO %s  %s %02d:%02d  #%04d  P. %d", f.fromNo, f.toNo, f.date, f.hour, f.min, 1000+f.min*7, k)
	}
}

func newFaxRun(r *rand.Rand, d date) *faxRun {
	from, to := pick(r, facilities), pick(r, facilities)
	return &faxRun{
		style:  r.IntN(4),
		from:   titleCase(from.name),
		to:     titleCase(to.name),
		fromNo: fmt.Sprintf("(555) 01%d-%04d", r.IntN(10), r.IntN(10000)),
		toNo:   fmt.Sprintf("55501%d%04d", r.IntN(10), r.IntN(10000)),
		date:   d,
		hour:   7 + r.IntN(12),
		min:    r.IntN(60),
	}
}

// faxSlot is the placeholder block of a fax header at the top of a page,
// filled in once the transmission's page count is known.
func faxSlot() []block {
	return []block{
		{kind: blockLines, font: fontMono, size: 8, lines: []string{""}, faxSlot: true},
		{kind: blockGap, gap: 0.15},
	}
}
