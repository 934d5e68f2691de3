package review

import (
	"paperchart/chart"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// segment is a run of OCR text; Kind names the identifier it is, if any
// ("mrn", "name", "birth", "service").
type segment struct {
	Text string
	Kind string
}

// highlight cuts a page's OCR text into segments, marking what the pipeline
// read as the patient's identifiers: the MRNs (also as OCR misreads them),
// the names, the birth date and the date of service (in the usual written
// forms of the date).
func highlight(text string, ids chart.Identifiers) []segment {
	type pattern struct {
		re   *regexp.Regexp
		kind string
	}
	var pats []pattern
	add := func(expr, kind string) {
		if expr == "" {
			return
		}
		if re, err := regexp.Compile(expr); err == nil {
			pats = append(pats, pattern{re, kind})
		}
	}
	mrns := append(append([]chart.MRN{ids.MRN, ids.CoverMRN}, ids.OtherMRNs...), ids.LabelMRNs...)
	for _, m := range mrns {
		add(m.Pattern(), "mrn")
	}
	for _, n := range []string{ids.Family, ids.Given, ids.Middle} {
		add(namePattern(n), "name")
	}
	add(datePattern(ids.BirthDate), "birth")
	add(datePattern(ids.ServiceDate), "service")

	type span struct {
		from, to int
		kind     string
	}
	var spans []span
	for _, p := range pats {
		for _, m := range p.re.FindAllStringSubmatchIndex(text, -1) {
			// Group 1 is the identifier without its boundary characters.
			if len(m) >= 4 && m[2] >= 0 {
				spans = append(spans, span{m[2], m[3], p.kind})
			}
		}
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].from != spans[j].from {
			return spans[i].from < spans[j].from
		}
		return spans[i].to > spans[j].to
	})
	var out []segment
	at := 0
	for _, s := range spans {
		if s.from < at || s.to <= s.from {
			continue // overlaps one already marked
		}
		if s.from > at {
			out = append(out, segment{Text: text[at:s.from]})
		}
		out = append(out, segment{Text: text[s.from:s.to], Kind: s.kind})
		at = s.to
	}
	if at < len(text) {
		out = append(out, segment{Text: text[at:]})
	}
	return out
}

// namePattern matches a name as a whole word, in any case.
func namePattern(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 || len(strings.Join(f, "")) < 2 {
		return ""
	}
	for i := range f {
		f[i] = regexp.QuoteMeta(f[i])
	}
	return `(?i)(?:^|[^\pL])(` + strings.Join(f, `\s+`) + `)(?:$|[^\pL])`
}

// datePattern matches a date written as ISO, month/day/year,
// day.month.year or with the month's name.
func datePattern(dt chart.Date) string {
	if dt.IsZero() {
		return ""
	}
	t := dt.Time()
	y, m, d := t.Year(), int(t.Month()), t.Day()
	num := func(n int) string { return `0?` + strconv.Itoa(n) }
	yy := `(?:` + strconv.Itoa(y/100) + `)?` + pad2(y%100)
	month := t.Month().String()
	alts := []string{
		strconv.Itoa(y) + `[-/.]` + pad2(m) + `[-/.]` + pad2(d),
		num(m) + `[-/.]` + num(d) + `[-/.]` + yy,
		num(d) + `[-/.]` + num(m) + `[-/.]` + yy,
		month[:3] + `[a-z]*\.?\s+` + num(d) + `,?\s+` + strconv.Itoa(y),
		num(d) + `\s+` + month[:3] + `[a-z]*\.?,?\s+` + strconv.Itoa(y),
	}
	return `(?i)(?:^|[^0-9])(` + strings.Join(alts, "|") + `)(?:$|[^0-9])`
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
