package separate

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"paperchart/chart"
	"paperchart/classify"
	"paperchart/extract"
)

// This file owns what one page's text says on its own: a title on top, a
// "Page k of N" footer, a running header, a signature at its end, a
// letterhead, the patient identifiers and dates on it and its document
// type. Nothing here compares pages; features.go does.

// topLines is how many non-empty lines from the top of a page count as its
// top: where a document's letterhead, patient block and title are.
const topLines = 12

// pageNum is a "Page k of N" or "Page k" found on a page.
type pageNum struct {
	k, n int // n is 0 for "Page k"
	ok   bool
}

// String is the page number as printed, for reasons: it names no patient.
func (p pageNum) String() string {
	if p.n > 0 {
		return "Page " + strconv.Itoa(p.k) + " of " + strconv.Itoa(p.n)
	}
	return "Page " + strconv.Itoa(p.k)
}

// signals is what one content page says.
type signals struct {
	no        int  // batch page number
	garbage   bool // the text is not words: a mis-rotated page or a failed OCR
	title     bool // a document title in the top lines
	titleType string
	continued bool // a running header saying "(continued)"
	num       pageNum
	fax       faxHeader // a fax machine's transmission header on top
	faxPages  int       // the pages a fax cover sheet announces, itself included; 0 when none
	prevOpen  bool      // the page's text ends in the middle of a sentence
	openLower bool      // the page's text starts in the middle of a sentence
	signed    bool      // a signature or closing near the end of the page
	letter    bool      // a letterhead: facility words or a telephone in the top lines
	idsTop    bool      // a patient identifier in the first two lines
	mrns      []string
	labels    []string
	names     []extract.Name
	dobs      []ymd
	services  []ymd
	types     []float64 // type probabilities in the classifier's order
	typeProb  float64   // the most probable type's probability
	typeIdx   int
}

type ymd struct{ y, m, d int }

// nonEmptyLines returns the page's lines without blank ones, trimmed.
func nonEmptyLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(strings.TrimRight(l, "\r"))
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Findings is what separation read on one content page, handed to the
// stages after it so that no page's text is read twice: the identifiers
// and dates on it and its document type on its own.
type Findings struct {
	// Found is package extract's reading of the page's lines (blank lines
	// and a fax transmission header dropped).
	Found extract.Found
	// Type is the classifier's reading of the page's text as OCR gave it,
	// as a document of that one page is classified; zero for a page
	// without text.
	Type classify.Prediction
}

// Read returns a page's Findings, as Split finds them, for a page whose
// findings are not at hand (a page a person moved to another document).
func (s *Separator) Read(text string) Findings {
	lines, _, garbage := pageLines(text)
	if garbage {
		return Findings{}
	}
	return s.findings(text, lines)
}

func (s *Separator) findings(text string, lines []string) Findings {
	return Findings{Found: s.ext.Page(strings.Join(lines, "\n")), Type: s.cls.Predict(text)}
}

// pageLines returns the page's non-empty lines without a fax machine's
// transmission header, the header, and whether nothing was read.
func pageLines(text string) ([]string, faxHeader, bool) {
	lines := nonEmptyLines(text)
	if len(lines) == 0 {
		return nil, faxHeader{}, true
	}
	// A fax machine's header repeats on every page it sends: it says
	// which transmission the page came in, and nothing else here may
	// read it as a letterhead or a running header.
	var fax faxHeader
	for i := 0; i < len(lines) && i < 2; i++ {
		if h, ok := parseFaxHeader(lines[i]); ok {
			fax = h
			lines = append(lines[:i:i], lines[i+1:]...)
			break
		}
	}
	return lines, fax, false
}

// read computes the signals of page no from its OCR text and the MRNs of
// its patient-label barcodes, and what it found on the page.
func (s *Separator) read(no int, text string, labels []string) (signals, Findings) {
	sg := signals{no: no, typeIdx: -1}
	for _, l := range labels {
		if v := normMRN(l); v != "" {
			sg.labels = append(sg.labels, strings.TrimLeft(v, "0"))
			sg.mrns = append(sg.mrns, v)
		}
	}
	all := nonEmptyLines(text)
	lines, fax, empty := pageLines(text)
	if empty {
		sg.garbage = true // nothing read: no evidence either way
		return sg, Findings{}
	}
	sg.garbage = isGarbage(all)
	sg.fax = fax
	sg.faxPages = coverPages(lines)
	if len(lines) == 0 {
		return sg, Findings{}
	}
	sg.prevOpen = endsOpen(lines)
	sg.openLower = startsLower(lines[0])
	top := lines[:min(len(lines), topLines)]

	// Title: the classifier's title rules on the top lines only.
	tp := s.cls.Predict(strings.Join(top, "\n"))
	sg.title, sg.titleType = tp.TitleMatched, tp.Title

	fd := s.findings(text, lines)
	p := fd.Type
	sg.types = make([]float64, len(s.types))
	for _, r := range p.Ranked {
		if i, ok := s.types[r.Type]; ok {
			sg.types[i] = r.Probability
		}
	}
	sg.typeProb, sg.typeIdx = p.Probability, s.types[p.Type]

	for i := 0; i < len(lines) && i < 3; i++ {
		if hasContinued(lines[i]) {
			sg.continued = true
		}
	}
	// Page numbers are footers, sometimes headers.
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-3; i-- {
		if n := parsePageNum(lines[i]); n.ok {
			sg.num = n
			break
		}
	}
	if !sg.num.ok {
		for i := 0; i < len(lines) && i < 2; i++ {
			if n := parsePageNum(lines[i]); n.ok {
				sg.num = n
				break
			}
		}
	}
	for i := max(0, len(lines)-8); i < len(lines); i++ {
		if isSignature(lines[i]) {
			sg.signed = true
		}
	}
	for i := 0; i < len(lines) && i < 4; i++ {
		if i < 2 && hasFacilityWord(lines[i]) || phoneRe.MatchString(lines[i]) {
			sg.letter = true
		}
	}

	f := fd.Found
	for _, c := range f.MRNs {
		if c.Confidence < 0.5 {
			continue
		}
		if v := normMRN(string(c.Value)); v != "" {
			sg.mrns = append(sg.mrns, v)
		}
		if c.Line < 2 {
			sg.idsTop = true
		}
	}
	for _, n := range f.Names {
		if n.Confidence < 0.5 || len(n.Family) < 2 {
			continue
		}
		sg.names = append(sg.names, n)
		if n.Line < 2 {
			sg.idsTop = true
		}
	}
	for _, d := range f.BirthDates {
		if d.Confidence >= 0.5 {
			sg.dobs = append(sg.dobs, ymd{d.Year, int(d.Month), d.Day})
		}
	}
	for _, d := range f.ServiceDates {
		if d.Confidence >= 0.5 && d.Label != "" {
			sg.services = append(sg.services, ymd{d.Year, int(d.Month), d.Day})
		}
	}
	return sg, fd
}

// isGarbage reports whether most of a page's tokens are not words, as when
// OCR read a page turned the wrong way.
func isGarbage(lines []string) bool {
	words, total := 0, 0
	for _, l := range lines {
		for _, t := range strings.Fields(l) {
			total++
			if plausibleWord(t) {
				words++
			}
		}
	}
	return total < 5 || words*5 < total*2
}

// plausibleWord reports whether a token reads as a word or a number: once
// surrounding punctuation is trimmed, all letters (lower case, capitalised
// or upper case, with a vowel when longer than three) or all digits and
// number punctuation.
func plausibleWord(t string) bool {
	t = strings.Trim(t, ".,:;()[]\"'!?")
	if t == "" {
		return false
	}
	letters, digits, vowels, upper, other := 0, 0, 0, 0, 0
	for i, r := range t {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters++
			if strings.ContainsRune("aeiouyAEIOUY", r) {
				vowels++
			}
			if r <= 'Z' && i > 0 {
				upper++
			}
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("/-.,:#%$&'+", r):
		default:
			other++
		}
	}
	switch {
	case other > 0:
		return false
	case letters == 0:
		return digits > 0
	case digits > 0:
		return false
	case letters > 3 && vowels == 0:
		return false
	}
	return upper == 0 || upper == len(t)-1 || upper >= letters-1
}

// normMRN folds an identifier for comparison: upper case, letters and
// digits only; "" when fewer than three characters are left once leading
// zeros are dropped (as "Med Rec #" lines print them). Leading zeros are
// kept: sameMRN weighs them as match.CompareMRN does.
func normMRN(v string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(v) {
		if r < 128 && (unicode.IsDigit(r) || unicode.IsLetter(r)) {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(strings.TrimLeft(out, "0")) < 3 {
		return ""
	}
	return out
}

// faxHeader is a fax machine's transmission header: "03/14/2024 10:42
// FROM: (555) 010-2345 ... TO: ... P.002/005", "PAGE 2/5 FAX", "Received:
// ...; Page 2 of 5".
type faxHeader struct {
	ok     bool
	k, n   int    // page within the transmission; n is 0 when not printed
	sender string // the sender's number or name, digits and letters only
}

var (
	faxPageRe   = regexp.MustCompile(`(?i)\b(?:p(?:age|g)?\.?)\s*0*([0-9]{1,3})\s*(?:/|of)\s*0*([0-9]{1,3})\b|(?i)\bp\.\s*0*([0-9]{1,3})\b`)
	faxFromRe   = regexp.MustCompile(`(?i)\bfrom\b[:;]?\s*([^;]*?)\s*(?:\bto\b|;|$)`)
	faxMarkerRe = regexp.MustCompile(`(?i)\bfax\b|\bfrom\b.*\bto\b|\breceived\b`)
)

// follows reports whether h is the page after prev in one transmission:
// the next page number of the same count, from the same sender (allowing
// for two misread characters).
func (h faxHeader) follows(prev faxHeader) bool {
	return h.ok && prev.ok && h.k == prev.k+1 && h.n == prev.n &&
		(h.sender == "" || prev.sender == "" || chart.EditsString(h.sender, prev.sender, 2, true) <= 2)
}

// parseFaxHeader reads a line as a fax transmission header: a long line
// with a sender ("FROM", "FAX", "Received") and a page counter.
func parseFaxHeader(line string) (faxHeader, bool) {
	if len(line) < 30 || !faxMarkerRe.MatchString(line) {
		return faxHeader{}, false
	}
	m := faxPageRe.FindStringSubmatch(line)
	if m == nil {
		return faxHeader{}, false
	}
	h := faxHeader{ok: true}
	if m[1] != "" {
		h.k, _ = strconv.Atoi(m[1])
		h.n, _ = strconv.Atoi(m[2])
	} else {
		h.k, _ = strconv.Atoi(m[3])
	}
	if h.k < 1 || h.n > 0 && h.k > h.n {
		return faxHeader{}, false
	}
	if f := faxFromRe.FindStringSubmatch(line); f != nil {
		h.sender = normSender(f[1])
	} else {
		h.sender = normSender(line[:strings.Index(line, m[0])])
	}
	return h, true
}

var (
	faxWordRe    = regexp.MustCompile(`(?i)\b(?:fax|facsimile|telecopy)\b`)
	coverPagesRe = regexp.MustCompile(`(?i)(?:\b(?:number|no\.?|count|total)\s*of\s*pages|#\s*of\s*pages|\btotal\s*pages|\bpage\s*count)\b[^0-9]{0,30}?\b([0-9]{1,3})\b|\bpages\s*(?:\([^)]{0,25}\))?\s*:\s*([0-9]{1,3})\b`)
)

// coverPages returns the page count a fax cover sheet announces ("Number
// of pages including cover: 4", "Pages: 3", "No. of pages (incl. cover)
// 2"), or 0 when the page is no fax cover or announces none. A fax
// machine's header line is not a cover's count.
func coverPages(lines []string) int {
	fax := false
	for _, l := range lines {
		if faxWordRe.MatchString(l) {
			fax = true
			break
		}
	}
	if !fax {
		return 0
	}
	for _, l := range lines {
		if m := coverPagesRe.FindStringSubmatch(l); m != nil {
			if n, _ := strconv.Atoi(m[1] + m[2]); n >= 2 && n <= 200 {
				return n
			}
		}
	}
	return 0
}

// normSender keeps the digits of a sender, or its letters when it has no
// digits, for comparing transmissions.
func normSender(s string) string {
	var d, l strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= '0' && r <= '9':
			d.WriteRune(r)
		case r >= 'a' && r <= 'z':
			l.WriteRune(r)
		}
	}
	if d.Len() >= 7 {
		return d.String()
	}
	return l.String()
}

// endsOpen reports whether a page's text stops in the middle of a
// sentence: its last line of prose, before any footer, is a long line
// that ends without a full stop, as when a paragraph runs onto the next
// page.
func endsOpen(lines []string) bool {
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-3; i-- {
		l := lines[i]
		if parsePageNum(l).ok || isFooterLine(l) {
			continue
		}
		if len(l) < 45 {
			return false
		}
		switch l[len(l)-1] {
		case '.', ':', '!', '?', ')', ';':
			return false
		}
		last := l[strings.LastIndexByte(l, ' ')+1:]
		return !strings.ContainsAny(last, "0123456789")
	}
	return false
}

// isFooterLine: a short line of digits ("2/3") or a "Printed ..." line.
func isFooterLine(l string) bool {
	ll := strings.ToLower(l)
	if strings.HasPrefix(ll, "printed") || strings.HasPrefix(ll, "confidential") {
		return true
	}
	return len(l) <= 7 && strings.Trim(l, "0123456789/ ") == ""
}

// startsLower reports whether a page's first line starts with a lower-case
// word, as text carried over from the page before does.
func startsLower(l string) bool {
	for _, r := range l {
		switch {
		case unicode.IsLower(r):
			return true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			return false
		}
	}
	return false
}

// hasContinued reports whether a line is a running header that says the
// document goes on: "(continued)", "cont'd", with OCR damage.
func hasContinued(line string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return r == ' ' || r == '(' || r == ')' || r == '-' || r == ','
	}) {
		w = strings.Trim(w, ".:;")
		switch {
		case len(w) >= 7 && len(w) <= 11 && chart.EditsString(w, "continued", 2, true) <= 2:
			return true
		case w == "cont'd" || w == "contd" || w == "cont’d":
			return true
		}
	}
	return false
}

// pageWordLimit bounds the line a page number is read from, spaces removed.
const pageWordLimit = 16

// parsePageNum reads "Page 2 of 3", "Page 2", "PAGE 2 OF 3", "Page 2/3",
// with OCR damage ("Pagc l of 2", "Page 1 0f2").
func parsePageNum(line string) pageNum {
	var b strings.Builder
	for _, r := range strings.ToLower(line) {
		if !unicode.IsSpace(r) && r != '.' && r != ':' && r != '-' && r != ',' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) < 5 || len(s) > pageWordLimit {
		return pageNum{}
	}
	for l := 3; l <= 5 && l < len(s); l++ {
		if chart.EditsString(s[:l], "page", 1, true) > 1 {
			continue
		}
		if n, ok := pageNumbers(s[l:]); ok {
			return n
		}
	}
	return pageNum{}
}

// pageNumbers reads "2of3", "2/3" or "2".
func pageNumbers(rest string) (pageNum, bool) {
	if k, ok := ocrNumber(rest); ok {
		return pageNum{k: k, ok: true}, k >= 1
	}
	for j := 1; j < len(rest); j++ {
		var right string
		switch {
		case rest[j] == '/':
			right = rest[j+1:]
		case j+2 <= len(rest) && isOf(rest[j:j+2]):
			right = rest[j+2:]
		default:
			continue
		}
		k, ok1 := ocrNumber(rest[:j])
		n, ok2 := ocrNumber(right)
		if ok1 && ok2 && k >= 1 && n >= k && n <= 500 {
			return pageNum{k: k, n: n, ok: true}, true
		}
	}
	return pageNum{}, false
}

func isOf(s string) bool {
	switch s {
	case "of", "0f", "ot", "o7", "af", "oi", "0t", "qf", "cf", "ol", "o1":
		return true
	}
	return false
}

// ocrNumber reads a page number of one to three digits, through the digit
// confusions OCR makes (l, i and | for 1, o for 0, z for 2, s for 5).
func ocrNumber(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	n, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case 'l', 'i', '|', '!', 'j':
			c = '1'
		case 'o':
			c = '0'
		case 'z':
			c = '2'
		case 's':
			c = '5'
		case 'b':
			c = '8'
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || s[0] == '0' || s[0] == 'o' || digits == 0 && len(s) > 1 {
		return 0, false
	}
	return n, true
}

// signatureWords close a document: signatures, letter closings.
var signatureWords = []string{"signed", "sincerely", "dictated", "signature", "regards", "respectfully", "electronically"}

func isSignature(line string) bool {
	return hasWord(strings.ToLower(line), signatureWords, 5, func(n int) int { return 1 + btoi(n >= 9) })
}

// facilityWords name kinds of facility, as letterheads print them.
var facilityWords = []string{"hospital", "clinic", "medical", "health", "center", "centre", "associates",
	"group", "cardiology", "orthopaedic", "orthopedic", "practice", "physicians", "laboratory", "imaging",
	"radiology", "regional", "institute", "healthcare", "pediatrics", "surgery", "system"}

// hasFacilityWord reports whether a line holds a facility word, read
// through OCR digit-for-letter confusions with one edit for long words.
func hasFacilityWord(line string) bool {
	return hasWord(strings.ToLower(foldDigits(line)), facilityWords, 0, func(n int) int { return btoi(n >= 6) })
}

// hasWord reports whether a word of line (runs of letters, at least
// minLen long) is within limit(len(w)) edits of one of words.
func hasWord(line string, words []string, minLen int, limit func(n int) int) bool {
	for _, w := range strings.FieldsFunc(line, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len(w) < minLen {
			continue
		}
		for _, x := range words {
			if l := limit(len(x)); chart.EditsString(w, x, l, true) <= l {
				return true
			}
		}
	}
	return false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// foldDigits undoes digit-for-letter confusions in words (chart.LetterFor).
func foldDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 {
			if l, ok := chart.LetterFor(byte(r)); ok {
				return rune(l)
			}
		}
		return r
	}, s)
}

// phoneRe is a telephone number, as letterheads print them.
var phoneRe = regexp.MustCompile(`\(?\b[0-9]{3}\)?[ .-]?[0-9]{3}-[0-9]{4}\b|(?i)\b(tel|telephone|phone|fax)\b`)

// typeIndex maps the classifier's type codes to their positions.
func typeIndex(m *classify.Model) map[string]int {
	out := map[string]int{}
	for i, t := range m.Types() {
		out[t] = i
	}
	return out
}
