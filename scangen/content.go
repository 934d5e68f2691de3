package scangen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
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
	LayoutForm      = "form"              // letterhead, title, labelled fields and numbered paragraphs
	LayoutCard      = "card"              // an insurance card copied front and back on a page
	LayoutColumns   = "multi-column-form" // letterhead, title, labelled fields in two columns, check boxes
	LayoutText      = "text"              // a body of real text (Options.Bodies) under our header
	LayoutBlank     = "blank"             // no content: a blank sheet
	LayoutSheet     = "sheet"             // a cover or separator sheet (PageTruth.Sheet says which)
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
	// faxSlot marks the placeholder of a fax transmission header.
	faxSlot bool
}

// pageContent is everything the renderer needs to draw one page.
type pageContent struct {
	layout   string
	title    string // document title, as printed on its first page
	docType  string // document type code
	blank    bool
	document int // 1-based document number in the batch; 0 for a blank page
	docPage  int // 1-based page number within the document
	docPages int
	patient  patient
	ids      ids // how the document prints the patient's identifiers
	bodyFont fontID
	bodySize float64 // points
	blocks   []block // from the top margin down, cut where the page is full
	tail     []block // after the body, always kept (signature)
	footer   string  // centred at the bottom margin
}

// document is one multi-page record: every page shares its patient, type,
// layout and fonts.
type document struct {
	number    int
	kind      *docKind
	title     string // as printed on page 1; "" when the document has none
	layout    string
	patient   patient
	ids       ids // how this document prints the patient's identifiers
	facility  facility
	clinician string
	date      date
	pages     int
	bodyFont  fontID
	bodySize  float64
	sections  []string
	footer    int     // one of the foot* styles
	running   int     // one of the run* styles of continuation pages
	head      int     // one of the head* letterhead styles
	headCase  bool    // the letterhead prints the facility in title case
	pblock    int     // patient block style
	signed    bool    // the document ends with a signature
	signEvery bool    // and prints it at the foot of every page, as some record systems do
	inline    bool    // section headings run into their text ("S: The patient ...")
	flow      bool    // text runs over page breaks (laid out by paginate)
	body      string  // real text (Options.Bodies); "" for generated content
	fax       *faxRun // the fax transmission the document came in, or nil
	faxCover  bool    // the cover sheet of its fax transmission
	built     []pageContent
	variant   int // type-specific variant (letter purpose, ...)
	// Per-document clinical facts reused across sections.
	diagnosis, procedure string
	specimen             struct{ site, gross, micro, diagnosis string }
	exam                 struct{ exam, technique string }
}

type date struct{ y, m, d int }

func (d date) String() string { return fmt.Sprintf("%02d/%02d/%04d", d.m, d.d, d.y) }

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

func (d date) long() string { return fmt.Sprintf("%s %d, %d", monthNames[d.m-1], d.d, d.y) }

func (d date) plusDays(n int) date {
	t := time.Date(d.y, time.Month(d.m), d.d, 12, 0, 0, 0, time.UTC).AddDate(0, 0, n)
	return date{t.Year(), int(t.Month()), t.Day()}
}

func (d date) minusDays(n int) date { return d.plusDays(-n) }

func randDate(r *rand.Rand, fromYear, toYear int) date {
	return date{fromYear + r.IntN(toYear-fromYear+1), 1 + r.IntN(12), 1 + r.IntN(28)}
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// bodyFonts are the fonts a document's prose may be set in.
var bodyFonts = []fontID{fontRegular, fontMedium, fontMono}

// contentPlanner draws the documents of a batch from its own random stream,
// so that the scanning effects drawn for each page do not depend on how
// much randomness the content used.
type contentPlanner struct {
	r      *rand.Rand
	pool   *patientPool
	dpi    int
	bodies *Bodies
	queue  []*document // documents drawn ahead (a fax transmission)
}

func newContentPlanner(opt *Options, dpi int) *contentPlanner {
	r := rand.New(rand.NewPCG(opt.Seed, 0xc0_47e4_7d0c))
	return &contentPlanner{r: r, pool: newPatientPool(r, opt.Patients), dpi: dpi, bodies: opt.Bodies}
}

// document returns the next document of the batch, of at most maxPages
// pages, laid out.
func (cp *contentPlanner) document(number, maxPages int) *document {
	if len(cp.queue) == 0 {
		cp.queue = cp.run(number, maxPages)
	}
	d := cp.queue[0]
	cp.queue = cp.queue[1:]
	return d
}

// maxBodyPages bounds a document of real text.
const maxBodyPages = 8

// newDoc draws a document, of real text when the batch has Bodies.
func (cp *contentPlanner) newDoc(number, maxPages int) *document {
	r := cp.r
	if cp.bodies == nil {
		return newDocument(r, pickKind(r), number, maxPages, cp.pool.next(r))
	}
	k := cp.bodies.pickKind(r)
	d := newDocument(r, k, number, maxPages, cp.pool.next(r))
	d.body = cp.bodies.pick(r, k.code)
	d.flow = true
	d.layout = LayoutText
	d.signed = r.IntN(3) == 0
	return d
}

// faxTitles are the titles of fax cover sheets ("" for none).
var faxTitles = []string{"FAX", "FAX COVER SHEET", "FACSIMILE", "Facsimile Transmittal", ""}

// run draws the next documents: one, or the documents of a fax
// transmission (sometimes behind a fax cover sheet), each page of which
// carries the transmission's header with its page count.
func (cp *contentPlanner) run(number, maxPages int) []*document {
	r := cp.r
	limit := func(n int) int {
		if cp.bodies != nil {
			return min(n, maxBodyPages)
		}
		return n
	}
	if maxPages < 2 || r.IntN(7) != 0 {
		d := cp.newDoc(number, maxPages)
		d.build(r, cp.dpi, limit(maxPages))
		return []*document{d}
	}
	fax := newFaxRun(r, randDate(r, 2015, 2025))
	var docs []*document
	left := maxPages
	var cover *document
	if r.IntN(2) == 0 {
		cover = newDocument(r, kindByCode(TypeOther), number, 1, cp.pool.next(r))
		cover.faxCover, cover.title, cover.layout, cover.fax = true, pick(r, faxTitles), LayoutForm, fax
		docs = append(docs, cover)
		left--
	}
	for n := 1 + r.IntN(3); n > 0 && left > 0; n-- {
		d := cp.newDoc(number+len(docs), left)
		d.fax = fax
		d.build(r, cp.dpi, limit(left))
		left -= d.pages
		docs = append(docs, d)
	}
	for _, d := range docs {
		fax.totalPages += d.pages
	}
	if cover != nil {
		fax.totalPages += 1 - cover.pages
		cover.build(r, cp.dpi, 1)
	}
	k := 0
	for _, d := range docs {
		for i := range d.built {
			k++
			for j := range d.built[i].blocks {
				if d.built[i].blocks[j].faxSlot {
					d.built[i].blocks[j].lines = []string{fax.header(k)}
				}
			}
		}
	}
	return docs
}

// newDocument draws a document of kind k for patient p.
func newDocument(r *rand.Rand, k *docKind, number, maxPages int, p patient) *document {
	d := &document{
		number:    number,
		kind:      k,
		layout:    pick(r, k.layouts),
		patient:   p,
		ids:       newIDs(r, p),
		facility:  pick(r, facilities),
		clinician: pick(r, clinicians),
		date:      randDate(r, 2015, 2025),
		bodyFont:  pick(r, bodyFonts),
		bodySize:  float64(10 + r.IntN(3)), // 10, 11 or 12 pt
		footer:    []int{footPageOf, footPageOf, footPageOf, footPage, footNone, footNone, footNone, footPrinted, footSlash}[r.IntN(9)],
		running:   []int{runNone, runNone, runNone, runNameMRN, runNameMRN, runNameDOB, runFacility, runNameOnly, runTitle}[r.IntN(9)],
		head:      []int{headCentred, headCentred, headLeft, headRight, headPractice, headColumns, headNone}[r.IntN(7)],
		headCase:  r.IntN(3) == 0,
		pblock:    r.IntN(5),
		signed:    r.IntN(3) != 0,
		signEvery: r.IntN(6) == 0,
		variant:   r.IntN(1 << 20),
		diagnosis: pick(r, diagnoses),
		procedure: pick(r, procedures),
		specimen:  specimens[r.IntN(len(specimens))],
		exam:      imagingExams[r.IntN(len(imagingExams))],
	}
	d.title = pick(r, k.titles)
	if strings.Contains(d.title, "%s") {
		if k.code == TypeImagingReport {
			d.title = d.exam.exam
		} else {
			d.title = fmt.Sprintf(d.title, strings.ToUpper(pick(r, specialties)))
		}
	}
	// Mostly short documents, as in a real batch.
	pages := k.minPages + r.IntN(k.maxPages-k.minPages+1)
	if pages > 2 && r.IntN(2) == 0 {
		pages = 1 + r.IntN(2)
	}
	if r.IntN(4) == 0 {
		pages = 1
	}
	d.pages = max(1, min(pages, maxPages))
	if len(k.sections) > 0 {
		d.sections = pick(r, k.sections)
		// Prose runs over page breaks in half of the documents.
		d.flow = k.body == nil && r.IntN(2) == 0
		d.inline = r.IntN(4) == 0 || isSOAP(d.sections)
	}
	if d.title == "" && r.IntN(2) == 0 {
		// Untitled documents often carry no patient block label either.
		d.pblock = 2
	}
	return d
}

// isSOAP reports whether sections are the S:/O:/A:/P: abbreviations.
func isSOAP(sections []string) bool { return len(sections) > 0 && sections[0] == "S" }

// build lays out every page of d at dpi: flowing documents are paginated,
// others built page by page. It sets d.pages to the page count, at most
// maxPages.
func (d *document) build(r *rand.Rand, dpi, maxPages int) {
	if d.flow {
		d.built = d.flowPages(r, dpi, maxPages)
	} else {
		d.built = d.built[:0]
		for i := 1; i <= d.pages; i++ {
			d.built = append(d.built, d.pageContent(r, i))
		}
	}
	d.pages = len(d.built)
	if d.signEvery && d.signed && d.layout != LayoutLetter {
		for i := range d.built {
			d.built[i].tail = d.built[d.pages-1].tail
		}
	}
	d.settleIDs()
	for i := range d.built {
		d.built[i].docPages = d.pages
		d.built[i].footer = d.footerText(i+1, d.pages)
	}
}

// settleIDs makes the identifiers the truth reports those the document's
// pages actually print: a fax cover or a letter may leave out a line.
func (d *document) settleIDs() {
	x := d.ids
	if x.mrn != "" && !prints(d.built, x.mrn) {
		x.mrn, x.mrnOnly, x.typoed = "", "", false
	}
	if x.other != "" && !prints(d.built, x.other) {
		x.other, x.otherMRN, x.otherLabel, x.otherPlain = "", "", "", false
	}
	x.conflict = x.typoed || x.otherPlain
	d.ids = x
	for i := range d.built {
		d.built[i].ids = x
	}
}

// prints reports whether some page's blocks hold s in a line or a
// paragraph.
func prints(pages []pageContent, s string) bool {
	var in func(bs []block) bool
	in = func(bs []block) bool {
		for _, b := range bs {
			if strings.Contains(b.text, s) || in(b.left) || in(b.right) {
				return true
			}
			for _, l := range b.lines {
				if strings.Contains(l, s) {
					return true
				}
			}
		}
		return false
	}
	for _, pc := range pages {
		if in(pc.blocks) || in(pc.tail) {
			return true
		}
	}
	return false
}

// page returns built page i (1-based).
func (d *document) page(i int) pageContent { return d.built[i-1] }

// pageStart is the top of page i: the fax header slot, then the
// letterhead and patient block on page 1 or a running header after.
func (d *document) pageStart(r *rand.Rand, i int) []block {
	var out []block
	if d.fax != nil {
		out = append(out, faxSlot()...)
	}
	if i == 1 {
		return append(out, d.header(r)...)
	}
	return append(out, d.runningHeader(i)...)
}

// tailBlocks is what ends the document's last page: its signature, or
// nothing when the document is unsigned.
func (d *document) tailBlocks(r *rand.Rand) []block {
	if d.body != "" {
		if d.signed {
			return d.signature(r)
		}
		return nil
	}
	if d.kind.sign != nil {
		return d.kind.sign(d, r)
	}
	if !d.signed && d.layout != LayoutLetter {
		return nil
	}
	return d.signature(r)
}

// flowPages builds a document whose text runs over page breaks: the whole
// body is one stream of blocks cut into pages where they are full, in the
// middle of a paragraph or a sentence.
func (d *document) flowPages(r *rand.Rand, dpi, maxPages int) []pageContent {
	var flow []block
	if d.body != "" {
		flow = textBlocks(d.body, d.bodyFont, d.boldFont())
	} else {
		flow = d.proseFlow(r)
	}
	tail := d.tailBlocks(r)
	tmpl := pageContent{
		layout: d.layout, title: d.title, docType: d.kind.code, document: d.number,
		patient: d.patient, ids: d.ids, bodyFont: d.bodyFont, bodySize: d.bodySize,
	}
	heads := func(i int) []block { return d.pageStart(r, i) }
	bodies, starts := paginate(&tmpl, dpi, heads, flow, tail, maxPages)
	out := make([]pageContent, len(bodies))
	for i := range bodies {
		pc := tmpl
		pc.docPage = i + 1
		pc.blocks = append(starts[i], bodies[i]...)
		if i == len(bodies)-1 {
			pc.tail = tail
		}
		out[i] = pc
	}
	return out
}

// proseFlow is the body of a flowing document: every section, with about
// enough sentences for the pages drawn.
func (d *document) proseFlow(r *rand.Rand) []block {
	prose := 0
	for _, s := range d.sections {
		if !strings.HasSuffix(s, "=") {
			prose++
		}
	}
	total := d.pages * (18 + r.IntN(22))
	if d.pages == 1 {
		total = 6 + r.IntN(18)
	}
	per := max(1, (total+prose-1)/max(prose, 1))
	var out []block
	for _, s := range d.sections {
		out = append(out, d.section(r, s, per)...)
	}
	return out
}

// section is one section of prose or a one-line field, with n sentences.
func (d *document) section(r *rand.Rand, s string, n int) []block {
	if name, ok := strings.CutSuffix(s, "="); ok {
		return []block{{kind: blockLines, font: d.bodyFont, lines: []string{name + ": " + d.field(r, name)}}}
	}
	key := sectionKey(s)
	if key == "IMPRESSION" || key == "FINAL DIAGNOSIS" ||
		strings.HasPrefix(key, "REASON") || key == "CHIEF COMPLAINT" || key == "INDICATION" {
		n = min(n, 1+r.IntN(3))
	}
	var out []block
	if d.inline {
		// "SUBJECTIVE: The patient ..." or "S: The patient ...".
		first := true
		for _, k := range paraSizes(r, n) {
			p := d.para(r, key, k)
			if first {
				p.text = s + ": " + p.text
				first = false
			}
			out = append(out, p, block{kind: blockGap, gap: 0.1})
		}
		return out
	}
	out = append(out, block{kind: blockGap, gap: 0.08},
		block{kind: blockLines, font: d.boldFont(), lines: []string{s + ":"}, keepWithNext: true})
	for _, k := range paraSizes(r, n) {
		out = append(out, d.para(r, key, k), block{kind: blockGap, gap: 0.12})
	}
	return out
}

// sectionAbbrev maps abbreviated headings to the sections they stand for,
// for the sentences written under them.
var sectionAbbrev = map[string]string{
	"S": "SUBJECTIVE", "O": "OBJECTIVE", "A": "ASSESSMENT", "P": "PLAN", "HPI": "HISTORY OF PRESENT ILLNESS",
	"PMH": "PAST MEDICAL HISTORY", "PSH": "PAST SURGICAL HISTORY", "ROS": "REVIEW OF SYSTEMS", "PE": "PHYSICAL EXAMINATION",
	"A/P": "ASSESSMENT AND PLAN", "CC": "CHIEF COMPLAINT", "MEDS": "MEDICATIONS", "SH": "SOCIAL HISTORY", "FH": "FAMILY HISTORY",
}

func sectionKey(s string) string {
	if k, ok := sectionAbbrev[s]; ok {
		return k
	}
	return s
}

// pageContent builds page i (1-based) of d.
func (d *document) pageContent(r *rand.Rand, i int) pageContent {
	pc := pageContent{
		layout:   d.layout,
		title:    d.title,
		docType:  d.kind.code,
		document: d.number,
		docPage:  i,
		docPages: d.pages,
		patient:  d.patient,
		ids:      d.ids,
		bodyFont: d.bodyFont,
		bodySize: d.bodySize,
	}
	pc.footer = d.footerText(i, d.pages)
	pc.blocks = append(pc.blocks, d.pageStart(r, i)...)
	if d.kind.body != nil {
		pc.blocks = append(pc.blocks, d.kind.body(d, r, i)...)
	} else {
		pc.blocks = append(pc.blocks, d.proseBody(r, i)...)
	}
	if i == d.pages {
		pc.tail = d.tailBlocks(r)
	}
	return pc
}

// proseBody spreads the document's sections over its pages; pages past the
// last section continue with untitled prose.
func (d *document) proseBody(r *rand.Rand, i int) []block {
	var out []block
	// Units are prose sections with the one-line fields before them, so
	// that fields never fill a page alone.
	var units [][]string
	var cur []string
	for _, s := range d.sections {
		cur = append(cur, s)
		if !strings.HasSuffix(s, "=") {
			units = append(units, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		units = append(units, cur)
	}
	perPage := max(1, (len(units)+d.pages-1)/d.pages)
	from, to := (i-1)*perPage, min(i*perPage, len(units))
	var secs []string
	for _, u := range units[min(from, to):to] {
		secs = append(secs, u...)
	}
	if len(secs) == 0 {
		secs = []string{"ADDITIONAL NOTES"}
	}
	prose := 0
	for _, s := range secs {
		if !strings.HasSuffix(s, "=") {
			prose++
		}
	}
	// Between about half a page and more than a page holds: the renderer
	// cuts what does not fit.
	per := (20 + r.IntN(30) + max(prose, 1) - 1) / max(prose, 1)
	for _, s := range secs {
		out = append(out, d.section(r, s, per)...)
	}
	return out
}

// boldFont is the bold face matching the body font, for headings.
func (d *document) boldFont() fontID {
	if d.bodyFont == fontMono {
		return fontMonoBold
	}
	return fontBold
}

// header is the top of a document's first page, by layout: a letterhead
// of the document's style (or none), the patient block, the title.
func (d *document) header(r *rand.Rand) []block {
	var out []block
	titleBlock := func(a align) []block {
		if d.title == "" {
			return nil
		}
		return []block{
			{kind: blockLines, font: fontBold, size: 13, align: a, lines: []string{d.title}},
			{kind: blockGap, gap: 0.15},
		}
	}
	meta := func() []block {
		if d.kind.meta == nil {
			return nil
		}
		return []block{{kind: blockLines, font: d.bodyFont, lines: d.kind.meta(d, r)}, {kind: blockGap, gap: 0.15}}
	}
	service := "Date of Service: " + d.date.String()
	if r.IntN(3) == 0 {
		service = pick(r, []string{"Visit Date: ", "DOS: ", "Date: ", "Encounter Date: "}) + d.date.String()
	}
	switch d.layout {
	case LayoutTwoColumn:
		f := d.facility
		right := []string{}
		for _, l := range []string{d.ids.name, d.ids.mrn, d.ids.other, d.ids.dob, service} {
			if l != "" {
				right = append(right, l)
			}
		}
		out = append(out,
			block{kind: blockColumns,
				// Both columns in one size, so their lines share baselines.
				left: []block{
					{kind: blockLines, font: fontBold, lines: []string{f.name}},
					{kind: blockLines, font: fontRegular, lines: []string{f.street, f.city, "Tel " + f.phone}},
				},
				right: []block{{kind: blockLines, font: d.bodyFont, lines: right}},
			},
			block{kind: blockGap, gap: 0.1},
			block{kind: blockRule},
			block{kind: blockGap, gap: 0.2},
		)
		out = append(out, titleBlock(alignLeft)...)
		out = append(out, meta()...)
		out = append(out, block{kind: blockLines, font: d.bodyFont, lines: []string{"Provider: " + d.clinician}}, block{kind: blockGap, gap: 0.15})
	case LayoutLetter:
		out = append(out, d.letterhead(r)...)
		out = append(out, block{kind: blockGap, gap: 0.2})
	case LayoutForm, LayoutCard, LayoutColumns:
		out = append(out, d.letterhead(r)...)
		out = append(out, titleBlock(alignCenter)...)
	default:
		out = append(out, d.letterhead(r)...)
		a := alignCenter
		if d.head == headLeft || d.head == headNone {
			a = alignLeft
		}
		if d.variant%3 == 0 {
			// Title above the patient block.
			out = append(out, titleBlock(a)...)
			out = append(out, d.patientBlock(r, service)...)
		} else {
			out = append(out, d.patientBlock(r, service)...)
			out = append(out, titleBlock(a)...)
		}
		out = append(out, meta()...)
	}
	return out
}

func (d *document) signature(r *rand.Rand) []block {
	if d.layout == LayoutLetter {
		return []block{
			{kind: blockGap, gap: 0.2},
			{kind: blockLines, font: d.bodyFont, lines: []string{pick(r, []string{"Sincerely,", "Respectfully,", "With kind regards,"})}},
			{kind: blockGap, gap: 0.4},
			{kind: blockLines, font: d.bodyFont, lines: []string{d.clinician, titleCase(d.facility.name)}},
		}
	}
	line := fmt.Sprintf("Electronically signed by %s on %s at %02d:%02d", d.clinician, d.date, 7+r.IntN(12), r.IntN(60))
	switch r.IntN(4) {
	case 0:
		line = fmt.Sprintf("Dictated by %s  D: %s  T: %s", d.clinician, d.date, d.date.plusDays(1))
	case 1:
		line = "Signed: " + d.clinician + "  " + d.date.String()
	}
	return []block{
		{kind: blockGap, gap: 0.25},
		{kind: blockLines, font: fontItalic, lines: []string{line}},
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
	if s := d.typedSentence(r, section); s != "" {
		return s
	}
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

// fillTruth records the document a page belongs to.
func (pc *pageContent) fillTruth(t *PageTruth) {
	t.Title = pc.title
	t.Type = pc.docType
	t.Document = pc.document
	t.DocumentPage = pc.docPage
	t.DocumentPages = pc.docPages
	t.Patient = pc.patient.name()
	t.MRN = pc.patient.mrn
	t.BirthDate = pc.patient.birth.iso()
	t.PrintedMRN = pc.ids.mrnOnly
	t.OtherMRN = pc.ids.otherMRN
	t.OtherMRNLabel = pc.ids.otherLabel
	t.IDConflict = pc.ids.conflict
}
