package classify

import (
	"regexp"
	"strings"
)

// Layout features: what a document's shape says about its type, apart from
// its words. Real notes differ from the generated ones in their words far
// more than in their layout: a SOAP note has SUBJECTIVE, OBJECTIVE,
// ASSESSMENT and PLAN headings whatever it discusses, and a letter has a
// salutation and a closing even when it talks about an operation. So the
// layout gets its own block of features (see featurizer.vector):
//
//   - "h:" and a section heading, normalised as titles are (upper case, OCR
//     digit-for-letter confusions undone, punctuation dropped). A heading is
//     a short line ending in ":", the short label before a colon at the
//     start of a line ("SUBJECTIVE: The patient ..."), or a short line all
//     in capitals;
//   - "n:" and the number of headings, in bands (none, 1-2, 3-5, 6-9, 10+);
//   - "l:" letter marks: a salutation ("Dear Dr. ...", "To whom it may
//     concern"), a closing ("Sincerely,"), a "Re:" or "cc:" line, and the
//     phrases letters between clinicians use ("Thank you for referring",
//     "I had the pleasure of seeing").

// structureLines is how many lines are searched for headings and marks.
const structureLines = 400

var (
	salutation   = regexp.MustCompile(`(?i)^(dear|to whom it may concern)\b`)
	dearDoctor   = regexp.MustCompile(`(?i)^dear (dr|doctor|colleague|drs)\b`)
	closing      = regexp.MustCompile(`(?i)^(sincerely|yours sincerely|sincerely yours|yours truly|very truly yours|truly yours|respectfully|respectfully yours|best regards|kind regards|with kind regards|warm regards|regards|best wishes|with best wishes|yours faithfully|cordially|with thanks)\b[ ,.]*$`)
	reLine       = regexp.MustCompile(`(?i)^(re|regarding|subject)\s*:`)
	ccLine       = regexp.MustCompile(`(?i)^(cc|c\.c\.|copy to|copies to|enc|enclosures?)\s*:`)
	letterThanks = regexp.MustCompile(`(?i)\bthank you (very much )?for (referring|your referral|the referral|this referral|allowing (me|us)|asking (me|us)|kindly referring|seeing|sending)\b`)
	pleasure     = regexp.MustCompile(`(?i)\b(had the pleasure of seeing|it was a pleasure (to see|seeing)|i saw (your|this|our) (patient|mutual patient)|i am writing (to|regarding|about)|i write (to|regarding)|please do not hesitate to (contact|call))\b`)
	// labelPrefix is an upper-case label before a colon at a line start.
	labelPrefix = regexp.MustCompile(`^([A-Z][A-Z0-9 &/()'.,-]{1,48}?)\s*:`)
	// titleLabel is a short Title Case label before a colon.
	titleLabel = regexp.MustCompile(`^([A-Z][a-z]+(?: (?:[A-Z][a-z]+|of|and|for|&|to|the))*)\s*:`)
)

// structure returns the layout tokens of text.
func structure(text string) []string {
	var out []string
	lines := strings.SplitN(text, "\n", structureLines+1)
	if len(lines) > structureLines {
		lines = lines[:structureLines]
	}
	headings := 0
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		switch {
		case salutation.MatchString(line):
			out = append(out, "l:salutation")
			if dearDoctor.MatchString(line) {
				out = append(out, "l:dear-doctor")
			}
			continue
		case closing.MatchString(line):
			out = append(out, "l:closing")
			continue
		case reLine.MatchString(line):
			out = append(out, "l:re")
			continue
		case ccLine.MatchString(line):
			out = append(out, "l:cc")
			continue
		}
		if h := heading(line); h != "" {
			out = append(out, "h:"+h)
			headings++
		}
	}
	if letterThanks.MatchString(text) {
		out = append(out, "l:thanks")
	}
	if pleasure.MatchString(text) {
		out = append(out, "l:first-person")
	}
	var band string
	switch {
	case headings == 0:
		band = "n:0"
	case headings <= 2:
		band = "n:1-2"
	case headings <= 5:
		band = "n:3-5"
	case headings <= 9:
		band = "n:6-9"
	default:
		band = "n:10+"
	}
	return append(out, band)
}

// heading returns the normalised section heading a (trimmed) line is or
// starts with, or "".
func heading(line string) string {
	var label string
	switch {
	case strings.HasSuffix(line, ":") && len(line) <= 60:
		label = strings.TrimSuffix(line, ":")
	case labelPrefix.MatchString(line):
		label = labelPrefix.FindStringSubmatch(line)[1]
	case titleLabel.MatchString(line):
		label = titleLabel.FindStringSubmatch(line)[1]
	case len(line) <= 60 && line == strings.ToUpper(line):
		label = line
	default:
		return ""
	}
	h := normaliseTitle(label)
	words := strings.Fields(h)
	if len(words) == 0 || len(words) > 6 || len(h) < 2 {
		return ""
	}
	letters := 0
	for i := 0; i < len(label); i++ {
		if c := label[i]; c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			letters++
		}
	}
	// A line of digits with a stray letter (a date, a phone number) is no
	// heading.
	if letters*2 < len(strings.ReplaceAll(label, " ", "")) {
		return ""
	}
	return h
}
