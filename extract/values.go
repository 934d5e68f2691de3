package extract

import (
	"paperchart/chart"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// normDigits returns s with OCR confusions fixed inside digit runs: a run of
// digits and confusable characters that holds at least one real digit and
// at least as many digits as confusions. The result has the same length as s.
func normDigits(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		j, digits, fixes := i, 0, 0
		for j < len(b) {
			if b[j] >= '0' && b[j] <= '9' {
				digits++
			} else if _, ok := chart.DigitFor(b[j]); ok {
				fixes++
			} else {
				break
			}
			j++
		}
		if j == i {
			i++
			continue
		}
		// A letter run glued to a word (like "DOB" in "DOBx") is not a digit run.
		glued := i > 0 && isLetter(b[i-1]) || j < len(b) && isLetter(b[j])
		if digits > 0 && digits >= fixes && !glued {
			for k := i; k < j; k++ {
				b[k], _ = chart.DigitFor(b[k])
			}
		}
		i = j
	}
	return string(b)
}

// mrnValue reads an MRN at the start of seg.
func (x *Extractor) mrnValue(seg string) (value, raw string, ok bool) {
	lead := len(seg) - len(strings.TrimLeft(seg, " #:.-"))
	s := seg[lead:]
	norm := normDigits(s)
	for _, re := range x.mrn {
		for _, text := range []string{s, norm} {
			m := re.FindStringSubmatchIndex(text)
			if m == nil {
				continue
			}
			a, b := m[0], m[1]
			if len(m) >= 4 && m[2] >= 0 {
				a, b = m[2], m[3]
			}
			value, raw = text[a:b], s[a:b]
			if x.width > 0 && len(value) < x.width && allDigits(value) {
				value = strings.Repeat("0", x.width-len(value)) + value
			}
			return value, raw, true
		}
	}
	return "", "", false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// stopWords end a name: words that follow a name on a form line.
var stopWords = map[string]bool{
	"DOB": true, "SEX": true, "AGE": true, "MRN": true, "PROVIDER": true, "RELATIONSHIP": true,
	"DATE": true, "ACCOUNT": true, "ACCT": true, "ROOM": true, "THE": true, "IS": true, "WAS": true,
	"AND": true, "OF": true, "TO": true, "FOR": true, "DEAR": true, "MEMBER": true, "ID": true,
}

// nameValue reads a name at the start of seg: "FAMILY, GIVEN M" or "Given M Family".
func nameValue(seg string) (Name, bool) {
	seg = strings.TrimLeft(seg, " :.-")
	if i := strings.Index(seg, "  "); i >= 0 {
		seg = seg[:i]
	}
	var words []string
	end := 0
	for _, t := range strings.Fields(seg) {
		// A dash OCR glued to a word ("Bell- MRN") is no part of the name.
		w := strings.TrimRight(strings.Trim(t, "."), "-")
		up := strings.ToUpper(strings.TrimRight(w, ","))
		if w == "" || stopWords[up] || strings.HasSuffix(w, ":") || !nameWord(strings.TrimRight(w, ",")) {
			break
		}
		words = append(words, w)
		end = strings.Index(seg, t) + len(t)
		if len(words) == 4 || strings.Count(strings.Join(words, " "), ",") > 1 {
			break
		}
	}
	if len(words) == 0 || words[0][0] < 'A' || words[0][0] > 'Z' {
		return Name{}, false
	}
	raw := strings.TrimRight(seg[:end], " ,.")
	var n Name
	joined := strings.Join(words, " ")
	if c := strings.IndexByte(joined, ','); c > 0 {
		n.Family = strings.ToUpper(strings.TrimSpace(joined[:c]))
		rest := strings.Fields(strings.ReplaceAll(joined[c+1:], ",", " "))
		if len(rest) == 0 {
			return Name{}, false
		}
		n.Given = strings.ToUpper(rest[0])
		n.Middle = strings.ToUpper(strings.Join(rest[1:], " "))
	} else {
		if len(words) < 2 {
			return Name{}, false
		}
		n.Given = strings.ToUpper(words[0])
		n.Family = strings.ToUpper(words[len(words)-1])
		n.Middle = strings.ToUpper(strings.Join(words[1:len(words)-1], " "))
	}
	if n.Family == "" || n.Given == "" {
		return Name{}, false
	}
	n.Raw = raw
	return n, true
}

// nameWord: letters with apostrophes or hyphens inside, at most one trailing comma.
func nameWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !isLetter(c) && !(i > 0 && (c == '\'' || c == '-')) {
			return false
		}
	}
	return true
}

var (
	reNumDate  = regexp.MustCompile(`^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})\b`)
	reISODate  = regexp.MustCompile(`^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})\b`)
	reDMonDate = regexp.MustCompile(`^(\d{1,2})[ \-]?([A-Za-z]{3,9})\.?[ \-,]*(\d{4}|\d{2})\b`)
	reMonDDate = regexp.MustCompile(`^([A-Za-z]{3,9})\.? ?(\d{1,2})(?:st|nd|rd|th)?,? ?(\d{4})\b`)
)

var months = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func monthOf(w string) int {
	w = strings.ToLower(w)
	if len(w) < 3 {
		return 0
	}
	for i, m := range months {
		if w[:3] == m {
			return i + 1
		}
	}
	return 0
}

// dateAt reads a date starting exactly at s. birth picks the century of
// two-digit years so that the date is not in the future.
func (x *Extractor) dateAt(s, norm string, birth bool) (DateCand, int, bool) {
	year := func(ys string) int {
		y, _ := strconv.Atoi(ys)
		if len(ys) == 2 {
			y += 2000
			if y > x.today.Year || birth && y == x.today.Year {
				y -= 100
			}
		}
		return y
	}
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	var dc DateCand
	var y, mo, d, n int
	if m := reISODate.FindStringSubmatch(norm); m != nil {
		y, mo, d = atoi(m[1]), atoi(m[2]), atoi(m[3])
		n = len(m[0])
	} else if m := reNumDate.FindStringSubmatch(norm); m != nil {
		mo, d, y = atoi(m[1]), atoi(m[2]), year(m[3])
		dc.Ambiguous = mo != d && d <= 12
		n = len(m[0])
	} else if m := reDMonDate.FindStringSubmatch(s); m != nil && monthOf(m[2]) > 0 {
		d, mo, y = atoi(m[1]), monthOf(m[2]), year(m[3])
		n = len(m[0])
	} else if m := reMonDDate.FindStringSubmatch(s); m != nil && monthOf(m[1]) > 0 {
		mo, d, y = monthOf(m[1]), atoi(m[2]), atoi(m[3])
		n = len(m[0])
	} else {
		return DateCand{}, 0, false
	}
	var err error
	if dc.Date, err = chart.MakeDate(y, time.Month(mo), d); err != nil {
		return DateCand{}, 0, false
	}
	if birth && (x.today.Before(dc.Date) || y < 1880) {
		return DateCand{}, 0, false
	}
	if !birth && (y < 1950 || y > x.today.Year+1) {
		return DateCand{}, 0, false
	}
	dc.Raw = s[:n]
	return dc, n, true
}

// dateValue reads the first date in the first few characters of seg.
func (x *Extractor) dateValue(seg string, birth bool) (DateCand, bool) {
	norm := normDigits(seg)
	for i := 0; i < len(seg) && i <= 6; i++ {
		if i > 0 && seg[i-1] != ' ' && seg[i-1] != ':' && seg[i-1] != '.' && seg[i-1] != '-' && seg[i-1] != '#' {
			continue
		}
		if dc, _, ok := x.dateAt(seg[i:], norm[i:], birth); ok {
			return dc, true
		}
	}
	return DateCand{}, false
}
