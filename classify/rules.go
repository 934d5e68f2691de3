package classify

import (
	"regexp"
	"strings"
)

// Layout rules, beside the title rules (titles.go): two kinds of document
// say what they are in words no other kind uses, whatever else they
// discuss, and each adds a bonus to its types' scores, fitted with the
// title bonus and the temperature on the held-out split:
//
//   - a letter: a salutation line ("Dear Dr. Roe,", "To whom it may
//     concern") among its first letterLines lines. Its bonus goes to both
//     letter types, referral-letter and correspondence: a letter to a
//     colleague about an operation is still a letter, not an operative
//     report;
//   - a consultation request, in the first consultChars characters of a
//     document that is neither a letter nor titled as another type: the
//     words by which a consult names who asked for it ("referred by her
//     primary care physician", "seen in consultation at the request of",
//     "REASON FOR CONSULTATION", "I was asked to see"). Its bonus goes to
//     consult-note: a consult laid out like a history and physical is
//     still a consult.

// letterLines is how many lines from the top a salutation is looked for,
// consultChars how many characters a consultation request.
const (
	letterLines  = 40
	consultChars = 3000
)

var consultRequest = regexp.MustCompile(`(?i)\b(referred (by|from)\b|was referred (here|to us|to our|today for)|referred (her|him|the patient) (here|to us|to our)|in consultation at the request of|at the request of (dr|doctor)\b|(i was|we were|i have been|we have been) asked to (see|evaluate)|asked by [a-z .,]{0,40} to (see|evaluate)|reason for (consultation|consult)\b|presents? for an? [a-z ]{0,30}consult|thank you for (this|the) consultation|consultation (was )?requested by)`)

// layoutHits is what the rules found in one document.
type layoutHits struct {
	title   int  // type index of the recognised title, or -1
	letter  bool // a salutation near the top
	consult bool // a consultation request, and not a letter
}

// bonuses are the fitted score bonuses of the rules.
type bonuses struct {
	title, consult, letter float64
}

func matchRules(text string) layoutHits {
	h := layoutHits{title: typeIndex(matchTitle(text))}
	lines := strings.SplitN(text, "\n", letterLines+1)
	if len(lines) > letterLines {
		lines = lines[:letterLines]
	}
	for _, l := range lines {
		if salutation.MatchString(strings.TrimSpace(l)) {
			h.letter = true
			break
		}
	}
	// The request is stated at the top (reason, history), and a document
	// titled as another kind (a discharge summary saying the patient was
	// referred from another hospital) keeps its title.
	head := text
	if len(head) > consultChars {
		head = head[:consultChars]
	}
	h.consult = !h.letter && (h.title < 0 || h.title == consultIndex) && consultRequest.MatchString(head)
	return h
}

var (
	consultIndex = typeIndex(ConsultNote)
	letterIndex  = [2]int{typeIndex(ReferralLetter), typeIndex(Correspondence)}
)
