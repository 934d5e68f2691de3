package extract

import (
	"strings"
)

// kind is what a label introduces.
type kind uint8

const (
	kindMRN kind = iota
	kindName
	kindDOB
	kindService
	// kindForeignMRN labels another facility's number ("Outside MRN"): its
	// value is not this index's MRN and is not read as one.
	kindForeignMRN
)

// labelDef is one label form. key is its comparison form: lower case,
// without spaces, dots, colons and commas.
type labelDef struct {
	key    string
	kind   kind
	name   string  // canonical label reported
	weight float64 // confidence of a value found after it
	fuzzy  bool    // one edit of OCR damage is tolerated
	header bool    // only in the header lines of a page
	strict bool    // needs a colon after it, or to start the line
}

var labels = []labelDef{
	{key: "mrn", kind: kindMRN, name: "MRN", weight: 0.95, fuzzy: true},
	{key: "mrn#", kind: kindMRN, name: "MRN", weight: 0.95, fuzzy: true},
	{key: "mr#", kind: kindMRN, name: "MR#", weight: 0.9, fuzzy: true},
	{key: "mrno", kind: kindMRN, name: "MR#", weight: 0.9, fuzzy: true},
	{key: "medrec#", kind: kindMRN, name: "Med Rec #", weight: 0.9, fuzzy: true},
	{key: "medrecno", kind: kindMRN, name: "Med Rec #", weight: 0.9, fuzzy: true},
	{key: "medrec", kind: kindMRN, name: "Med Rec #", weight: 0.85, fuzzy: true},
	{key: "medicalrecordno", kind: kindMRN, name: "Medical Record No.", weight: 0.95, fuzzy: true},
	{key: "medicalrecordnumber", kind: kindMRN, name: "Medical Record No.", weight: 0.95, fuzzy: true},
	{key: "medicalrecord#", kind: kindMRN, name: "Medical Record No.", weight: 0.95, fuzzy: true},
	{key: "medicalrecord", kind: kindMRN, name: "Medical Record No.", weight: 0.9, fuzzy: true},
	{key: "chart#", kind: kindMRN, name: "Chart #", weight: 0.85, fuzzy: true},
	{key: "chartno", kind: kindMRN, name: "Chart #", weight: 0.85, fuzzy: true},
	{key: "chartnumber", kind: kindMRN, name: "Chart #", weight: 0.85, fuzzy: true},

	{key: "outsidemrn", kind: kindForeignMRN, name: "Outside MRN", fuzzy: true},
	{key: "extmrn", kind: kindForeignMRN, name: "Outside MRN", fuzzy: true},
	{key: "externalmrn", kind: kindForeignMRN, name: "Outside MRN", fuzzy: true},
	{key: "referringmrn", kind: kindForeignMRN, name: "Outside MRN", fuzzy: true},
	{key: "priormrn", kind: kindForeignMRN, name: "Outside MRN", fuzzy: true},
	{key: "othermrn", kind: kindForeignMRN, name: "Outside MRN", fuzzy: true},
	{key: "outsidemr#", kind: kindForeignMRN, name: "Outside MRN", fuzzy: true},

	{key: "patientname", kind: kindName, name: "Patient Name", weight: 0.95, fuzzy: true},
	{key: "patient", kind: kindName, name: "Patient", weight: 0.9, fuzzy: true, strict: true},
	{key: "name", kind: kindName, name: "Name", weight: 0.8, fuzzy: true, strict: true},
	{key: "pt", kind: kindName, name: "Pt", weight: 0.8, strict: true},
	{key: "ptname", kind: kindName, name: "Pt", weight: 0.85, fuzzy: true},
	{key: "member", kind: kindName, name: "Member", weight: 0.7, fuzzy: true, strict: true},
	{key: "membername", kind: kindName, name: "Member", weight: 0.75, fuzzy: true},
	{key: "re", kind: kindName, name: "Re", weight: 0.7, strict: true},
	{key: "regarding", kind: kindName, name: "Re", weight: 0.7, fuzzy: true, strict: true},

	{key: "dob", kind: kindDOB, name: "DOB", weight: 0.95, fuzzy: true},
	{key: "dateofbirth", kind: kindDOB, name: "DOB", weight: 0.95, fuzzy: true},
	{key: "birthdate", kind: kindDOB, name: "DOB", weight: 0.95, fuzzy: true},
	{key: "born", kind: kindDOB, name: "DOB", weight: 0.7, strict: true},

	{key: "dateofservice", kind: kindService, name: "Date of Service", weight: 0.95, fuzzy: true},
	{key: "servicedate", kind: kindService, name: "Date of Service", weight: 0.95, fuzzy: true},
	{key: "dos", kind: kindService, name: "DOS", weight: 0.9, fuzzy: true},
	{key: "admissiondate", kind: kindService, name: "Admission Date", weight: 0.85, fuzzy: true},
	{key: "admitdate", kind: kindService, name: "Admission Date", weight: 0.85, fuzzy: true},
	{key: "visitdate", kind: kindService, name: "Visit Date", weight: 0.9, fuzzy: true},
	{key: "dateofvisit", kind: kindService, name: "Visit Date", weight: 0.9, fuzzy: true},
	{key: "collected", kind: kindService, name: "Collected", weight: 0.8, fuzzy: true},
	{key: "date", kind: kindService, name: "Date", weight: 0.7, fuzzy: true, header: true, strict: true},
}

// maxLabelWords is the most tokens a label spans (with one OCR split).
const maxLabelWords = 4

// token is one whitespace-separated word of a line.
type token struct {
	start, end int    // byte offsets in the line
	key        string // comparison form
	colon      bool   // ends with ':'
}

// tokenize splits a line into words, also after a colon ("MRN:123") and
// between a label-like prefix and a long digit run ("MRN28538967").
func tokenize(line string) []token {
	var out []token
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			if line[j] == ':' && j+1 < len(line) && line[j+1] != ' ' {
				j++
				break
			}
			j++
		}
		if j > i {
			out = appendSplit(out, line, i, j)
		}
		i = j
	}
	return out
}

func appendSplit(out []token, line string, i, j int) []token {
	// letters then at least 5 digits: two tokens.
	k := i
	for k < j && isLetter(line[k]) {
		k++
	}
	if k > i && k < j {
		d := k
		for d < j && line[d] >= '0' && line[d] <= '9' {
			d++
		}
		if d-k >= 5 {
			out = append(out, newToken(line, i, k))
			return append(out, newToken(line, k, j))
		}
	}
	return append(out, newToken(line, i, j))
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func newToken(line string, i, j int) token {
	w := line[i:j]
	t := token{start: i, end: j, colon: strings.HasSuffix(w, ":")}
	var b strings.Builder
	for k := 0; k < len(w); k++ {
		c := w[k]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c == '0':
			b.WriteByte('o')
		case c == '1' || c == '|':
			b.WriteByte('l')
		case c == '5':
			b.WriteByte('s')
		case c == '.' || c == ':' || c == ',' || c == ';':
		default:
			b.WriteByte(c)
		}
	}
	t.key = b.String()
	return t
}

// labelHit is a label found on a line.
type labelHit struct {
	def        *labelDef
	start, end int // byte offsets of the label in the line
	dist       int
}

// findLabels returns the labels of a line in order, not overlapping.
func findLabels(line string, toks []token, header bool) []labelHit {
	var out []labelHit
	for i := 0; i < len(toks); {
		best, bestEnd, bestDist, bestScore, tie := -1, 0, 2, 0, false
		for n := 1; n <= maxLabelWords && i+n <= len(toks); n++ {
			key := joinKeys(toks[i : i+n])
			alt := key
			if strings.Contains(key, "rn") {
				alt = strings.ReplaceAll(key, "rn", "m") // OCR reads m as rn
			}
			for li := range labels {
				l := &labels[li]
				if l.header && !header {
					continue
				}
				d := labelDist(key, alt, l)
				if d > 1 {
					continue
				}
				if l.strict && i != 0 && !toks[i+n-1].colon && !nextIsColon(line, toks[i+n-1].end) {
					continue
				}
				// Most label characters covered, an edit costing two ("Date of
				// SService" over "Date", but "MRN" over "MRN K"), then the longer label.
				score := len(key) - 2*d
				if best >= 0 && score == bestScore && len(l.key) == len(labels[best].key) {
					tie = tie || labels[best].kind != l.kind
					continue
				}
				if best < 0 || score > bestScore || score == bestScore && len(l.key) > len(labels[best].key) {
					best, bestEnd, bestDist, bestScore, tie = li, i+n, d, score, false
				}
			}
		}
		if tie {
			best = -1 // such as "DOQ": DOB or DOS
		}
		if best >= 0 && bestDist > 0 && bestEnd-i > 1 && exactLabel(joinKeys(toks[i+1:bestEnd]), header) {
			// "Hartmann, E. DOB:": the initial is no part of the label that
			// follows it exactly, though "EDOB" is one edit from "DOB".
			best = -1
		}
		if best >= 0 {
			out = append(out, labelHit{def: &labels[best], start: toks[i].start, end: toks[bestEnd-1].end, dist: bestDist})
			i = bestEnd
			continue
		}
		i++
	}
	return out
}

// exactLabel reports whether key is a label's key as it stands.
func exactLabel(key string, header bool) bool {
	for li := range labels {
		if l := &labels[li]; l.key == key && (header || !l.header) {
			return true
		}
	}
	return false
}

func labelDist(key, alt string, l *labelDef) int {
	if key == l.key || alt == l.key {
		return 0
	}
	if l.fuzzy && len(l.key) >= 3 && (within1(key, l.key) || within1(alt, l.key)) {
		return 1
	}
	return 2
}

func nextIsColon(line string, at int) bool {
	for at < len(line) && line[at] == ' ' {
		at++
	}
	return at < len(line) && line[at] == ':'
}

func joinKeys(ts []token) string {
	if len(ts) == 1 {
		return ts[0].key
	}
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.key)
	}
	return b.String()
}

// within1 reports whether a and b are at most one edit (substitution,
// insertion, deletion or swap of neighbours) apart.
func within1(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true
	}
	if len(a) == len(b) {
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	}
	return a[i:] == b[i+1:]
}
