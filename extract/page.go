package extract

import (
	"cmp"
	"paperchart/chart"
	"slices"
	"strings"
)

// fuzzyPenalty lowers the confidence of a value found after a damaged label.
const fuzzyPenalty = 0.1

// Page reads one page of OCR text, lines separated by "\n".
func (x *Extractor) Page(text string) Found {
	if x.read != nil {
		x.read()
	}
	var f Found
	lines := strings.Split(text, "\n")
	for li, line := range lines {
		line = strings.TrimRight(line, "\r")
		header := li < x.headerLines
		toks := tokenize(line)
		hits := findLabels(line, toks, header)
		for hi, h := range hits {
			end := len(line)
			if hi+1 < len(hits) {
				end = hits[hi+1].start
			}
			seg := line[h.end:end]
			conf := h.def.weight
			if h.dist > 0 {
				conf -= fuzzyPenalty
			}
			at := li
			if strings.TrimSpace(strings.Trim(seg, ":#. ")) == "" && hi+1 == len(hits) && li+1 < len(lines) {
				// "Patient Name:" with the value on the next line, as on forms.
				seg, at, conf = lines[li+1], li+1, conf*0.8
				if hs := findLabels(seg, tokenize(seg), header); len(hs) > 0 {
					seg = seg[:hs[0].start]
				}
			}
			switch h.def.kind {
			case kindMRN:
				if v, raw, ok := x.mrnValue(seg); ok {
					f.MRNs = append(f.MRNs, Candidate{Value: chart.MRN(v), Raw: raw, Label: h.def.name, Line: at, Confidence: conf})
				}
			case kindName:
				if n, ok := nameValue(seg); ok {
					if otherPerson(lines, li, line) {
						conf *= 0.3
					}
					n.Label, n.Line, n.Confidence = h.def.name, at, conf
					f.Names = append(f.Names, n)
					// "Re: ROE, JANE 04/12/1961": an unlabelled date right
					// after the patient's name is the birth date.
					if dc, ok := x.dateAfterName(seg, n.Raw); ok {
						dc.Label, dc.Line, dc.Confidence = h.def.name, at, conf*nameDateFactor
						f.BirthDates = append(f.BirthDates, dc)
					}
				}
			case kindDOB, kindService:
				birth := h.def.kind == kindDOB
				if dc, ok := x.dateValue(seg, birth); ok {
					if dc.Ambiguous {
						conf *= 0.9
					}
					dc.Label, dc.Line, dc.Confidence = h.def.name, at, conf
					if birth {
						f.BirthDates = append(f.BirthDates, dc)
					} else {
						f.ServiceDates = append(f.ServiceDates, dc)
					}
				}
			}
		}
		// A letter's date stands alone on a header line.
		if header && len(hits) == 0 {
			if t := strings.TrimSpace(line); t != "" {
				if dc, ok := x.dateValue(t, false); ok && len(dc.Raw) >= len(t)-1 {
					dc.Line, dc.Confidence = li, 0.4
					f.ServiceDates = append(f.ServiceDates, dc)
				}
			}
		}
	}
	f.Facility = x.facility(lines)
	return merge([]Found{f}, []float64{1})
}

// nameDateFactor lowers the confidence of a birth date read without its
// label, after a name, below that of a labelled one.
const nameDateFactor = 0.8

// dateAfterName reads a date that follows the name raw in seg with nothing
// but spaces or punctuation between them.
func (x *Extractor) dateAfterName(seg, raw string) (DateCand, bool) {
	i := strings.Index(seg, raw)
	if i < 0 {
		return DateCand{}, false
	}
	rest := strings.TrimLeft(seg[i+len(raw):], " ,;-(")
	if rest == "" || rest[0] < '0' || rest[0] > '9' {
		return DateCand{}, false
	}
	dc, ok := x.dateValue(rest, true)
	if !ok || !strings.HasPrefix(rest, dc.Raw) {
		return DateCand{}, false
	}
	return dc, true
}

// otherPerson reports whether a name line is about someone other than the
// patient: an emergency contact, guarantor or insured.
func otherPerson(lines []string, li int, line string) bool {
	l := strings.ToLower(line)
	if strings.Contains(l, "relationship") || strings.Contains(l, "guarantor") || strings.Contains(l, "contact") {
		return true
	}
	for k := max(0, li-2); k < li; k++ {
		p := strings.ToLower(lines[k])
		if strings.Contains(p, "contact") || strings.Contains(p, "guarantor") || strings.Contains(p, "insured") || strings.Contains(p, "physician") {
			return true
		}
	}
	return false
}

var facilityWords = []string{"hospital", "clinic", "medical", "health", "center", "centre", "group",
	"associates", "cardiology", "orthopa", "practice", "physicians", "laboratory", "imaging", "radiology"}

// facility picks the letterhead: the first header line (cut before any
// label) that is upper case words, or names a kind of facility.
func (x *Extractor) facility(lines []string) string {
	for li := 0; li < len(lines) && li < 4; li++ {
		line := lines[li]
		if hs := findLabels(line, tokenize(line), true); len(hs) > 0 {
			line = line[:hs[0].start]
		}
		line = strings.TrimSpace(line)
		words := strings.Fields(line)
		if len(words) < 2 || strings.ContainsAny(line, "0123456789:") {
			continue
		}
		letters, upper := 0, 0
		for i := 0; i < len(line); i++ {
			if isLetter(line[i]) {
				letters++
				if line[i] <= 'Z' {
					upper++
				}
			}
		}
		low := strings.ToLower(line)
		named := false
		for _, w := range facilityWords {
			if strings.Contains(low, w) {
				named = true
				break
			}
		}
		if named || letters > 0 && upper*10 >= letters*9 {
			return line
		}
	}
	return ""
}

// Document reads the pages of one document and merges what they hold
// (Merge).
func (x *Extractor) Document(pages []string) Found {
	fs := make([]Found, len(pages))
	for i, p := range pages {
		fs[i] = x.Page(p)
	}
	return Merge(fs)
}

// Merge combines what Page found on each page of one document, in order:
// equal values are counted once, their confidence raised by each repeat,
// and values from the first page weigh most. Each value's Page says which
// page it came from. The pages' findings are not changed.
func Merge(pages []Found) Found {
	fs := make([]Found, len(pages))
	ws := make([]float64, len(pages))
	for i, f := range pages {
		fs[i] = Found{
			MRNs:         slices.Clone(f.MRNs),
			Names:        slices.Clone(f.Names),
			BirthDates:   slices.Clone(f.BirthDates),
			ServiceDates: slices.Clone(f.ServiceDates),
			Facility:     f.Facility,
		}
		ws[i] = 0.8
		for j := range fs[i].MRNs {
			fs[i].MRNs[j].Page = i
		}
		for j := range fs[i].Names {
			fs[i].Names[j].Page = i
		}
		for j := range fs[i].BirthDates {
			fs[i].BirthDates[j].Page = i
		}
		for j := range fs[i].ServiceDates {
			fs[i].ServiceDates[j].Page = i
		}
	}
	if len(ws) > 0 {
		ws[0] = 1
	}
	return merge(fs, ws)
}

// merge combines findings, weighting each by its page's weight; repeats of
// a value combine as independent evidence (noisy-or), capped below 1.
func merge(fs []Found, ws []float64) Found {
	var out Found
	mrn := map[chart.MRN]int{}
	name := map[[3]string]int{}
	bd := map[chart.Date]int{}
	sd := map[chart.Date]int{}
	for i, f := range fs {
		w := ws[i]
		if out.Facility == "" {
			out.Facility = f.Facility
		}
		for _, c := range f.MRNs {
			c.Confidence *= w
			if k, ok := mrn[c.Value]; ok {
				out.MRNs[k].Confidence = orConf(out.MRNs[k].Confidence, c.Confidence)
				continue
			}
			mrn[c.Value] = len(out.MRNs)
			out.MRNs = append(out.MRNs, c)
		}
		for _, n := range f.Names {
			n.Confidence *= w
			key := [3]string{n.Family, n.Given, n.Middle}
			if k, ok := name[key]; ok {
				out.Names[k].Confidence = orConf(out.Names[k].Confidence, n.Confidence)
				continue
			}
			name[key] = len(out.Names)
			out.Names = append(out.Names, n)
		}
		out.BirthDates = mergeDates(out.BirthDates, f.BirthDates, bd, w)
		out.ServiceDates = mergeDates(out.ServiceDates, f.ServiceDates, sd, w)
	}
	slices.SortStableFunc(out.MRNs, func(a, b Candidate) int { return cmp.Compare(b.Confidence, a.Confidence) })
	slices.SortStableFunc(out.Names, func(a, b Name) int { return cmp.Compare(b.Confidence, a.Confidence) })
	byConf := func(a, b DateCand) int { return cmp.Compare(b.Confidence, a.Confidence) }
	slices.SortStableFunc(out.BirthDates, byConf)
	slices.SortStableFunc(out.ServiceDates, byConf)
	return out
}

func mergeDates(out, in []DateCand, seen map[chart.Date]int, w float64) []DateCand {
	for _, d := range in {
		d.Confidence *= w
		key := d.Date
		if k, ok := seen[key]; ok {
			out[k].Confidence = orConf(out[k].Confidence, d.Confidence)
			continue
		}
		seen[key] = len(out)
		out = append(out, d)
	}
	return out
}

func orConf(a, b float64) float64 { return min(0.99, 1-(1-a)*(1-b)) }
