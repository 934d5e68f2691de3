package evaluate

import (
	"slices"
	"strings"
	"unicode"
)

// Kinds of review reason, as ReasonKind returns them.
const (
	ReasonBoundary          = "boundary uncertain"
	ReasonType              = "type uncertain"
	ReasonCoverType         = "cover sheet names an unknown type"
	ReasonNoIdentifiers     = "no patient identifiers on the pages"
	ReasonNoCandidate       = "no similar patient in the index"
	ReasonBelowThreshold    = "match probability below threshold"
	ReasonRunnerUp          = "next candidate almost as good"
	ReasonFewIdentifiers    = "fewer than two identifiers agree"
	ReasonBirthDiffers      = "birth date differs"
	ReasonCoverBarcodes     = "cover sheet barcodes disagree"
	ReasonCoverNotInIndex   = "cover sheet MRN not in the index"
	ReasonCoverInactive     = "cover sheet patient inactive"
	ReasonCoverMRNDiffers   = "pages carry another MRN than the cover sheet"
	ReasonCoverBirthDiffers = "pages carry another birth date than the cover sheet"
	ReasonMoreThanOneMRN    = "more than one MRN"
	ReasonMRNDiffers        = "pages carry an MRN that is not the candidate's"
	ReasonNone              = "no reason recorded"
)

// reasonKinds maps a phrase of a stored reason to its kind, most specific
// first. The phrases are the stable parts of what the filing stage and the
// matcher write; the numbers around them (percentages, probabilities, bits)
// are not.
var reasonKinds = [...]struct{ phrase, kind string }{
	{"starts or ends is not certain", ReasonBoundary},
	{"names a document type", ReasonCoverType},
	{"document type uncertain", ReasonType},
	{"no patient identifiers", ReasonNoIdentifiers},
	{"no patient in the index resembles", ReasonNoCandidate},
	{"no candidate patient", ReasonNoCandidate},
	{"barcodes name different", ReasonCoverBarcodes},
	{"cover sheet's mrn is not in the patient index", ReasonCoverNotInIndex},
	{"record is inactive", ReasonCoverInactive},
	{"another mrn than the cover sheet", ReasonCoverMRNDiffers},
	{"another birth date than the cover sheet", ReasonCoverBirthDiffers},
	{"more than one mrn", ReasonMoreThanOneMRN},
	{"an mrn that is not this patient's", ReasonMRNDiffers},
	{"match probability", ReasonBelowThreshold},
	{"next candidate scores almost as well", ReasonRunnerUp},
	{"fewer than two identifiers", ReasonFewIdentifiers},
	{"birth date differs", ReasonBirthDiffers},
}

// ReasonKind returns the kind of a review reason as the filing stage
// stores it ("document type uncertain (41% sure)" is ReasonType), so that
// reasons can be counted. A reason of no known kind is returned as its
// words up to the first number, parenthesis or colon (after a leading
// "not filed automatically:"), lower case, so that its figures do not split
// the count.
func ReasonKind(reason string) string {
	low := strings.ToLower(strings.TrimSpace(reason))
	for _, k := range reasonKinds {
		if strings.Contains(low, k.phrase) {
			return k.kind
		}
	}
	low = strings.TrimSpace(strings.TrimPrefix(low, "not filed automatically:"))
	if i := strings.IndexFunc(low, func(r rune) bool { return unicode.IsDigit(r) || r == '(' || r == ':' }); i >= 0 {
		low = low[:i]
	}
	low = strings.TrimRight(strings.TrimSpace(low), " ,;.-")
	if low == "" {
		return "other"
	}
	return low
}

// ReasonKinds returns the distinct kinds of a held document's reasons,
// sorted; ReasonNone when it has none.
func ReasonKinds(reasons []string) []string {
	var out []string
	for _, r := range reasons {
		if k := ReasonKind(r); !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return []string{ReasonNone}
	}
	slices.Sort(out)
	return out
}
