package scangen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file owns page content: which text goes on a page and how it is
// grouped into blocks. It knows nothing about pixels; render.go lays the
// blocks out and decides what fits.

// fontID names one of the Go fonts used for rendering.
type fontID int

const (
	fontRegular fontID = iota
	fontMedium
	fontMono
	fontBold
	fontItalic
	fontMonoBold
	numFonts
)

// fontNames are the names recorded in the ground truth.
var fontNames = [numFonts]string{"Go Regular", "Go Medium", "Go Mono", "Go Bold", "Go Italic", "Go Mono Bold"}

func (f fontID) String() string { return fontNames[f] }

// Layout names, as recorded in the ground truth.
const (
	LayoutSingle    = "single-column"     // centred letterhead, patient line, title, sections
	LayoutTwoColumn = "two-column-header" // facility block left, patient block right
	LayoutTable     = "table"             // lab report with a table of results
	LayoutLetter    = "letter"            // letterhead, date, addressee, salutation, prose
	LayoutBlank     = "blank"             // no content: a blank sheet
)

type align int

const (
	alignLeft align = iota
	alignCenter
	alignRight
)

type blockKind int

const (
	blockLines   blockKind = iota // lines drawn as given, not wrapped
	blockPara                     // text wrapped to the column; may be cut at the page end
	blockTable                    // rows of cells; the first row is the header
	blockRule                     // a horizontal line across the column
	blockGap                      // vertical space
	blockColumns                  // left and right stacks of lines side by side
)

// block is one unit of page content.
type block struct {
	kind  blockKind
	font  fontID  // for blockLines and blockPara
	size  float64 // points; 0 means the page's body size
	align align
	lines []string // blockLines
	text  string   // blockPara
	rows  [][]string
	gap   float64 // blockGap: inches
	// left and right are the stacks of a blockColumns, each blockLines.
	left, right []block
	// keepWithNext drops this block when the first line of the next one
	// does not fit on the page (headings).
	keepWithNext bool
}

// pageContent is everything the renderer needs to draw one page.
type pageContent struct {
	layout   string
	title    string // document type, as printed
	blank    bool
	document int // 1-based document number in the batch; 0 for a blank page
	docPage  int // 1-based page number within the document
	docPages int
	patient  patient
	bodyFont fontID
	bodySize float64 // points
	blocks   []block // from the top margin down, cut where the page is full
	tail     []block // after the body, always kept (signature)
	footer   string  // centred at the bottom margin
}

type patient struct {
	surname, given, mrn, dob string
	female                   bool
}

func (p patient) name() string { return p.surname + ", " + p.given }

// document is one multi-page record: every page shares its patient, type,
// layout and fonts.
type document struct {
	number    int
	title     string
	layout    string
	patient   patient
	facility  facility
	clinician string
	date      date
	pages     int
	bodyFont  fontID
	bodySize  float64
	sections  []string
}

type date struct{ y, m, d int }

func (d date) String() string { return fmt.Sprintf("%02d/%02d/%04d", d.m, d.d, d.y) }

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

func (d date) long() string { return fmt.Sprintf("%s %d, %d", monthNames[d.m-1], d.d, d.y) }

func randDate(r *rand.Rand, fromYear, toYear int) date {
	return date{fromYear + r.IntN(toYear-fromYear+1), 1 + r.IntN(12), 1 + r.IntN(28)}
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// titles are the document types with the layout each may use.
var titles = []struct {
	title   string
	layouts []string
}{
	{"PROGRESS NOTE", []string{LayoutSingle, LayoutTwoColumn}},
	{"DISCHARGE SUMMARY", []string{LayoutSingle, LayoutTwoColumn}},
	{"CONSULTATION", []string{LayoutSingle, LayoutTwoColumn, LayoutLetter}},
	{"HISTORY AND PHYSICAL", []string{LayoutSingle, LayoutTwoColumn}},
	{"OPERATIVE REPORT", []string{LayoutSingle, LayoutTwoColumn}},
	{"RADIOLOGY REPORT", []string{LayoutSingle, LayoutTwoColumn}},
	{"EMERGENCY DEPARTMENT NOTE", []string{LayoutSingle}},
	{"LAB REPORT", []string{LayoutTable}},
	{"REFERRAL LETTER", []string{LayoutLetter}},
}

// bodyFonts are the fonts a document's prose may be set in.
var bodyFonts = []fontID{fontRegular, fontMedium, fontMono}

// newDocument draws a document of at most maxPages pages.
func newDocument(r *rand.Rand, number, maxPages int) *document {
	t := pick(r, titles)
	female := r.IntN(2) == 0
	given := pick(r, maleNames)
	if female {
		given = pick(r, femaleNames)
	}
	d := &document{
		number: number,
		title:  t.title,
		layout: pick(r, t.layouts),
		patient: patient{
			surname: pick(r, surnames),
			given:   given,
			mrn:     fmt.Sprintf("%08d", r.IntN(100000000)),
			dob:     randDate(r, 1930, 2010).String(),
			female:  female,
		},
		facility:  pick(r, facilities),
		clinician: pick(r, clinicians),
		date:      randDate(r, 2015, 2025),
		bodyFont:  pick(r, bodyFonts),
		bodySize:  float64(10 + r.IntN(3)), // 10, 11 or 12 pt
	}
	// Mostly short documents, as in a real batch.
	pages := 1 + r.IntN(3)
	if r.IntN(5) == 0 {
		pages += r.IntN(3)
	}
	if d.layout == LayoutTable || d.layout == LayoutLetter {
		pages = min(pages, 2)
	}
	d.pages = min(pages, maxPages)
	if s, ok := sectionsByTitle[d.title]; ok {
		d.sections = s
	} else {
		d.sections = sectionsByTitle["CONSULTATION"]
	}
	return d
}

// pageContent builds page i (1-based) of d.
func (d *document) pageContent(r *rand.Rand, i int) pageContent {
	pc := pageContent{
		layout:   d.layout,
		title:    d.title,
		document: d.number,
		docPage:  i,
		docPages: d.pages,
		patient:  d.patient,
		bodyFont: d.bodyFont,
		bodySize: d.bodySize,
		footer:   fmt.Sprintf("Page %d of %d", i, d.pages),
	}
	if i > 1 {
		pc.blocks = append(pc.blocks,
			block{kind: blockLines, font: d.bodyFont, size: 9, lines: []string{
				fmt.Sprintf("%s  MRN: %s  %s  (continued)", d.patient.name(), d.patient.mrn, d.title)}},
			block{kind: blockRule},
			block{kind: blockGap, gap: 0.2})
	} else {
		pc.blocks = append(pc.blocks, d.header(r)...)
	}
	switch d.layout {
	case LayoutTable:
		pc.blocks = append(pc.blocks, d.labBody(r)...)
	case LayoutLetter:
		if i == 1 {
			pc.blocks = append(pc.blocks, d.letterOpening(r)...)
		}
		for _, n := range paraSizes(r, 12+r.IntN(16)) {
			pc.blocks = append(pc.blocks, d.para(r, "", n), block{kind: blockGap, gap: 0.12})
		}
	default:
		// Spread the document's sections over its pages; pages past the
		// last section continue with untitled prose.
		perPage := max(1, (len(d.sections)+d.pages-1)/d.pages)
		from, to := (i-1)*perPage, min(i*perPage, len(d.sections))
		secs := d.sections[min(from, to):to]
		if len(secs) == 0 {
			secs = []string{"HOSPITAL COURSE", "ADDITIONAL NOTES"}
		}
		// Between about half a page and more than a page holds: the
		// renderer cuts what does not fit.
		per := (20 + r.IntN(30) + len(secs) - 1) / len(secs)
		for _, s := range secs {
			pc.blocks = append(pc.blocks,
				block{kind: blockLines, font: d.boldFont(), lines: []string{s + ":"}, keepWithNext: true})
			for _, n := range paraSizes(r, per) {
				pc.blocks = append(pc.blocks, d.para(r, s, n), block{kind: blockGap, gap: 0.12})
			}
		}
	}
	if i == d.pages {
		pc.tail = d.signature(r)
	}
	return pc
}

// boldFont is the bold face matching the body font, for headings.
func (d *document) boldFont() fontID {
	if d.bodyFont == fontMono {
		return fontMonoBold
	}
	return fontBold
}

func (d *document) patientLine() string {
	return fmt.Sprintf("Patient: %s  MRN: %s  DOB: %s", d.patient.name(), d.patient.mrn, d.patient.dob)
}

// header is the top of a document's first page, by layout.
func (d *document) header(r *rand.Rand) []block {
	f := d.facility
	var out []block
	switch d.layout {
	case LayoutTwoColumn:
		out = append(out,
			block{kind: blockColumns,
				// Both columns in one size, so their lines share baselines.
				left: []block{
					{kind: blockLines, font: fontBold, lines: []string{f.name}},
					{kind: blockLines, font: fontRegular, lines: []string{f.street, f.city, "Tel " + f.phone}},
				},
				right: []block{{kind: blockLines, font: d.bodyFont, lines: []string{
					"Patient: " + d.patient.name(),
					"MRN: " + d.patient.mrn,
					"DOB: " + d.patient.dob,
					"Date of Service: " + d.date.String(),
				}}},
			},
			block{kind: blockGap, gap: 0.1},
			block{kind: blockRule},
			block{kind: blockGap, gap: 0.2},
			block{kind: blockLines, font: fontBold, size: 13, lines: []string{d.title}},
			block{kind: blockGap, gap: 0.15},
			block{kind: blockLines, font: d.bodyFont, lines: []string{"Provider: " + d.clinician}},
			block{kind: blockGap, gap: 0.15},
		)
	case LayoutLetter:
		out = append(out,
			block{kind: blockLines, font: fontBold, size: 14, align: alignCenter, lines: []string{f.name}},
			block{kind: blockLines, font: fontRegular, size: 10, align: alignCenter, lines: []string{
				f.street + ", " + f.city, "Telephone " + f.phone}},
			block{kind: blockGap, gap: 0.1},
			block{kind: blockRule},
			block{kind: blockGap, gap: 0.4},
		)
	default:
		out = append(out,
			block{kind: blockLines, font: fontBold, size: 14, align: alignCenter, lines: []string{f.name}},
			block{kind: blockLines, font: fontRegular, size: 10, align: alignCenter, lines: []string{
				f.street + ", " + f.city + "  Tel " + f.phone}},
			block{kind: blockGap, gap: 0.1},
			block{kind: blockRule},
			block{kind: blockGap, gap: 0.2},
			block{kind: blockLines, font: d.bodyFont, lines: []string{
				d.patientLine(),
				fmt.Sprintf("Date of Service: %s  Provider: %s", d.date, d.clinician),
			}},
			block{kind: blockGap, gap: 0.25},
			block{kind: blockLines, font: fontBold, size: 13, align: alignCenter, lines: []string{d.title}},
			block{kind: blockGap, gap: 0.2},
		)
	}
	return out
}

func (d *document) letterOpening(r *rand.Rand) []block {
	to := pick(r, clinicians)
	other := pick(r, facilities)
	surname := strings.Fields(strings.Split(to, ",")[0])
	return []block{
		{kind: blockLines, font: d.bodyFont, lines: []string{d.date.long()}},
		{kind: blockGap, gap: 0.3},
		{kind: blockLines, font: d.bodyFont, lines: []string{to, titleCase(other.name), other.street, other.city}},
		{kind: blockGap, gap: 0.3},
		{kind: blockLines, font: d.boldFont(), lines: []string{"Re: " + d.patientLine()}},
		{kind: blockGap, gap: 0.2},
		{kind: blockLines, font: d.bodyFont, lines: []string{"Dear Dr. " + surname[len(surname)-1] + ","}},
		{kind: blockGap, gap: 0.1},
	}
}

func (d *document) signature(r *rand.Rand) []block {
	if d.layout == LayoutLetter {
		return []block{
			{kind: blockGap, gap: 0.2},
			{kind: blockLines, font: d.bodyFont, lines: []string{"Sincerely,"}},
			{kind: blockGap, gap: 0.4},
			{kind: blockLines, font: d.bodyFont, lines: []string{d.clinician, titleCase(d.facility.name)}},
		}
	}
	return []block{
		{kind: blockGap, gap: 0.25},
		{kind: blockLines, font: fontItalic, lines: []string{fmt.Sprintf(
			"Electronically signed by %s on %s at %02d:%02d", d.clinician, d.date, 7+r.IntN(12), r.IntN(60))}},
	}
}

// labBody is a lab report: specimen line, table of results, comment.
func (d *document) labBody(r *rand.Rand) []block {
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
			fmt.Sprintf("Specimen: Blood  Collected: %s %02d:%02d", d.date, 6+r.IntN(4), r.IntN(60)),
		}},
		{kind: blockGap, gap: 0.2},
		{kind: blockTable, rows: rows},
		{kind: blockGap, gap: 0.25},
		{kind: blockLines, font: d.boldFont(), lines: []string{"COMMENTS:"}, keepWithNext: true},
		d.para(r, "COMMENTS", 1+r.IntN(3)),
	}
}

// paraSizes splits n sentences into paragraphs of 3 to 6 sentences (the
// last may be shorter).
func paraSizes(r *rand.Rand, n int) []int {
	var out []int
	for n > 0 {
		k := min(n, 3+r.IntN(4))
		out = append(out, k)
		n -= k
	}
	return out
}

// para is a paragraph of n sentences suited to the section.
func (d *document) para(r *rand.Rand, section string, n int) block {
	var s []string
	seen := map[string]bool{}
	key := func(x string) string { return x[:min(len(x), 14)] }
	for range n {
		// Avoid sentences starting alike ("Vital signs: ...") within the
		// paragraph.
		x := d.sentence(r, section)
		for try := 0; seen[key(x)] && try < 8; try++ {
			x = d.sentence(r, section)
		}
		seen[key(x)] = true
		s = append(s, x)
	}
	return block{kind: blockPara, font: d.bodyFont, text: strings.Join(s, " ")}
}

func (d *document) sentence(r *rand.Rand, section string) string {
	he, his := "He", "his"
	if d.patient.female {
		he, his = "She", "her"
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if strings.Contains(section, k) {
				return true
			}
		}
		return false
	}
	switch {
	case has("PRESENT ILLNESS", "COMPLAINT", "SUBJECTIVE", "REASON", "CLINICAL HISTORY"):
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("The patient is a %d-year-old %s who presents with %s for %s.",
				25+r.IntN(65), map[bool]string{true: "woman", false: "man"}[d.patient.female], pick(r, symptoms), pick(r, durations))
		case 1:
			return fmt.Sprintf("%s also reports %s and %s.", he, pick(r, symptoms), pick(r, symptoms))
		case 2:
			return fmt.Sprintf("%s denies %s, %s or recent travel.", he, pick(r, symptoms), pick(r, symptoms))
		default:
			return fmt.Sprintf("Symptoms began %s ago and have been %s.", pick(r, durations),
				pick(r, []string{"gradually worsening", "stable", "improving with rest", "intermittent"}))
		}
	case has("EXAM", "OBJECTIVE", "FINDINGS"):
		if r.IntN(3) == 0 {
			return fmt.Sprintf("Vital signs: BP %d/%d, HR %d, RR %d, Temp %.1f F, SpO2 %d%% on room air.",
				100+r.IntN(60), 60+r.IntN(30), 55+r.IntN(50), 12+r.IntN(10), 97.0+r.Float64()*3, 90+r.IntN(10))
		}
		return pick(r, examFindings)
	case has("ASSESSMENT", "IMPRESSION", "DIAGNOS"):
		return fmt.Sprintf("%s, %s.", capitalize(pick(r, diagnoses)),
			pick(r, []string{"stable", "improved", "newly diagnosed", "poorly controlled", "under evaluation"}))
	case has("PLAN", "RECOMMEND", "FOLLOW", "DISPOSITION"):
		if r.IntN(3) == 0 {
			return fmt.Sprintf("Follow up in %d weeks with %s.", 1+r.IntN(12), d.clinician)
		}
		return pick(r, plans)
	case has("MEDICATIONS"):
		return fmt.Sprintf("%s %d mg %s.", capitalize(pick(r, medications)), 5*(1+r.IntN(100)), pick(r, frequencies))
	case has("HISTORY"):
		return fmt.Sprintf("%s history includes %s and %s, with %s.", capitalize(his), pick(r, diagnoses),
			pick(r, diagnoses), pick(r, historyItems))
	case has("COMMENTS"):
		return pick(r, []string{
			"Results were reviewed with the ordering provider.",
			"Specimen received in good condition.",
			"Values outside the reference range are flagged HIGH or LOW.",
			"Repeat testing is suggested in three months.",
		})
	default:
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("The patient was treated for %s and %s.", pick(r, diagnoses), pick(r, diagnoses))
		case 1:
			return fmt.Sprintf("%s was started on %s %d mg %s with good response.", he, pick(r, medications),
				5*(1+r.IntN(100)), pick(r, frequencies))
		case 2:
			return pick(r, examFindings)
		default:
			return pick(r, plans)
		}
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// titleCase turns "ST. AURELIA MEDICAL CENTER" into "St. Aurelia Medical Center".
func titleCase(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		words[i] = capitalize(w)
	}
	return strings.Join(words, " ")
}
