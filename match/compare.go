package match

import (
	_ "embed"
	"paperchart/chart"
	"strings"
	"sync"
)

// Field names one compared part of a Record.
type Field uint8

// The compared fields, in the order Score reports them.
const (
	FieldMRN Field = iota
	FieldFamily
	FieldGiven
	FieldMiddle
	FieldBirth
	FieldSex
	FieldAddress
	FieldCity
	FieldPostal
	FieldPhone
	numFields
)

var fieldNames = [numFields]string{"mrn", "family", "given", "middle", "birth_date", "sex", "address", "city", "postal_code", "phone"}

// String returns the field's name as used in the parameter file ("mrn", "family", ...).
func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return "unknown"
}

// Fields returns every compared field in report order.
func Fields() []Field {
	out := make([]Field, numFields)
	for i := range out {
		out[i] = Field(i)
	}
	return out
}

// Level is how well one field of two records agrees. Each field uses a subset of the levels
// (FieldLevels); LevelMissing (either side empty) always weighs 0.
type Level uint8

// Agreement levels, from the comparators.
const (
	LevelMissing         Level = iota // either record lacks the field: no evidence
	LevelExact                        // equal after normalization
	LevelOCR                          // MRN: equal after one OCR-confusable substitution (O/0, I/l/1, S/5, B/8, Z/2)
	LevelLeadingZero                  // MRN: equal but for leading zeros
	LevelNickname                     // given name: a nickname of the other (Bill/William)
	LevelCompound                     // name: one is a part of the other's compound or hyphenated name
	LevelTypo                         // name or city: Jaro–Winkler ≥ 0.94
	LevelSimilar                      // name: Jaro–Winkler ≥ 0.88
	LevelInitial                      // given or middle name: an initial agreeing with the other name
	LevelSwapped                      // family and given names exchanged between the records
	LevelDayMonthSwapped              // birth date: day and month exchanged
	LevelOneDigit                     // birth date: one digit different, or two adjacent digits exchanged
	LevelSameYearMonth                // birth date: same year and month, other day
	LevelHigh                         // address: token similarity ≥ 0.8
	LevelMedium                       // address: token similarity ≥ 0.5
	LevelOneEdit                      // postal code: one character different, added, dropped or swapped
	LevelLast7                        // phone: the last seven digits agree
	LevelDisagree                     // none of the above
	numLevels
)

var levelNames = [numLevels]string{"missing", "exact", "ocr", "leading_zero", "nickname", "compound", "typo", "similar",
	"initial", "swapped", "day_month_swapped", "one_digit", "same_year_month", "high", "medium", "one_edit", "last7", "disagree"}

// String returns the level's name as used in the parameter file ("exact", "nickname", ...).
func (l Level) String() string {
	if l < numLevels {
		return levelNames[l]
	}
	return "unknown"
}

func parseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), true
		}
	}
	return 0, false
}

func parseField(s string) (Field, bool) {
	for i, n := range fieldNames {
		if n == s {
			return Field(i), true
		}
	}
	return 0, false
}

// FieldLevels returns the levels a field's comparator can return, best first, LevelMissing
// excluded.
func FieldLevels(f Field) []Level {
	switch f {
	case FieldMRN:
		return []Level{LevelExact, LevelOCR, LevelLeadingZero, LevelDisagree}
	case FieldFamily:
		return []Level{LevelExact, LevelCompound, LevelTypo, LevelSimilar, LevelSwapped, LevelDisagree}
	case FieldGiven:
		return []Level{LevelExact, LevelNickname, LevelCompound, LevelTypo, LevelSimilar, LevelInitial, LevelSwapped, LevelDisagree}
	case FieldMiddle:
		return []Level{LevelExact, LevelInitial, LevelDisagree}
	case FieldBirth:
		return []Level{LevelExact, LevelDayMonthSwapped, LevelOneDigit, LevelSameYearMonth, LevelDisagree}
	case FieldSex:
		return []Level{LevelExact, LevelDisagree}
	case FieldAddress:
		return []Level{LevelExact, LevelHigh, LevelMedium, LevelDisagree}
	case FieldCity:
		return []Level{LevelExact, LevelTypo, LevelDisagree}
	case FieldPostal:
		return []Level{LevelExact, LevelOneEdit, LevelDisagree}
	case FieldPhone:
		return []Level{LevelExact, LevelLast7, LevelDisagree}
	}
	return nil
}

// CompareMRN compares two identifiers with chart.CompareMRN: exact, a leading-zero difference,
// equal once OCR confusions are undone (chart.DigitFor), or disagree. Any other difference — even
// one digit — is a disagreement: neighbouring MRNs belong to other patients.
func CompareMRN(a, b chart.MRN) Level {
	switch chart.CompareMRN(a, b) {
	case chart.MRNMissing:
		return LevelMissing
	case chart.MRNExact:
		return LevelExact
	case chart.MRNLeadingZeros:
		return LevelLeadingZero
	case chart.MRNConfusable:
		return LevelOCR
	}
	return LevelDisagree
}

// Name thresholds on Jaro–Winkler similarity.
const (
	typoJW    = 0.94
	similarJW = 0.88
)

// nameLevel compares two normalized names (family or given) without swaps.
func nameLevel(a, b string, given bool) Level {
	if a == "" || b == "" {
		return LevelMissing
	}
	if a == b {
		return LevelExact
	}
	sa, sb := squash(a), squash(b)
	if sa == sb { // "mc carthy" / "mccarthy", "anne-marie" / "annemarie"
		return LevelExact
	}
	if given {
		if len(sa) == 1 || len(sb) == 1 { // an initial: only its letter can agree
			if sa[0] == sb[0] {
				return LevelInitial
			}
			return LevelDisagree
		}
		if isNickname(firstWord(a), firstWord(b)) {
			return LevelNickname
		}
	}
	if compoundPart(a, b) {
		return LevelCompound
	}
	switch jw := JaroWinkler(sa, sb); {
	case jw >= typoJW:
		return LevelTypo
	case jw >= similarJW:
		return LevelSimilar
	}
	return LevelDisagree
}

// squash removes spaces and hyphens.
func squash(s string) string {
	if !strings.ContainsAny(s, " -") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '-' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " -"); i > 0 {
		return s[:i]
	}
	return s
}

// compoundPart reports whether one name's words (split at spaces and hyphens) are all among the
// other's, which has more: "garcia" / "garcia-lopez", "mary" / "mary ann".
func compoundPart(a, b string) bool {
	wa, wb := nameWords(a), nameWords(b)
	if len(wa) == len(wb) {
		return false
	}
	if len(wa) > len(wb) {
		wa, wb = wb, wa
	}
	for _, w := range wa {
		found := false
		for _, v := range wb {
			if w == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func nameWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' })
}

// CompareFamily compares two family names (normalized here): exact, compound part (hyphenated or
// double-barrelled), typo (Jaro–Winkler ≥ 0.94), similar (≥ 0.88), or disagree.
func CompareFamily(a, b string) Level {
	return nameLevel(NormalizeName(a), NormalizeName(b), false)
}

// CompareGiven compares two given names (normalized here): exact, nickname (Bill/William),
// compound part (Mary/Mary Ann), typo, similar, initial (J/John), or disagree.
func CompareGiven(a, b string) Level {
	return nameLevel(NormalizeName(a), NormalizeName(b), true)
}

// CompareNames compares family and given names together, recognising names written the other way
// round (family in the given field and given in the family field). Both fields then get
// LevelSwapped.
func CompareNames(aFamily, aGiven, bFamily, bGiven string) (family, given Level) {
	af, ag, bf, bg := NormalizeName(aFamily), NormalizeName(aGiven), NormalizeName(bFamily), NormalizeName(bGiven)
	family, given = nameLevel(af, bf, false), nameLevel(ag, bg, true)
	if family == LevelMissing || given == LevelMissing || (agreesName(family) && agreesName(given)) {
		return family, given
	}
	if af == ag { // "smith smith" cannot be swapped
		return family, given
	}
	if agreesName(nameLevel(af, bg, false)) && agreesName(nameLevel(ag, bf, false)) &&
		!(family == LevelExact || given == LevelExact) {
		return LevelSwapped, LevelSwapped
	}
	return family, given
}

func agreesName(l Level) bool {
	return l == LevelExact || l == LevelTypo || l == LevelCompound
}

// CompareMiddle compares middle names: exact, initial, or disagree.
func CompareMiddle(a, b string) Level {
	a, b = NormalizeName(a), NormalizeName(b)
	if a == "" || b == "" {
		return LevelMissing
	}
	if a == b {
		return LevelExact
	}
	if (len(a) == 1 || len(b) == 1) && a[0] == b[0] {
		return LevelInitial
	}
	return LevelDisagree
}

// CompareBirth compares birth dates: exact, day and month swapped, one digit off or two adjacent
// digits transposed (in YYYYMMDD), same year and month, or disagree. A date with unknown year is
// missing.
func CompareBirth(a, b chart.Date) Level {
	if a.IsZero() || b.IsZero() {
		return LevelMissing
	}
	if a == b {
		return LevelExact
	}
	if s, ok := a.Swapped(); ok && s == b {
		return LevelDayMonthSwapped
	}
	da, db := a.Digits(), b.Digits()
	if oneEdit(string(da[:]), string(db[:])) {
		return LevelOneDigit
	}
	if a.Year == b.Year && a.Month == b.Month {
		return LevelSameYearMonth
	}
	return LevelDisagree
}

// CompareSex compares sexes: exact or disagree; anything not recognisable as male or female is
// missing.
func CompareSex(a, b string) Level {
	a, b = normalizeSex(a), normalizeSex(b)
	if a == "" || b == "" {
		return LevelMissing
	}
	if a == b {
		return LevelExact
	}
	return LevelDisagree
}

// ComparePostal compares postal codes (letters and digits, case ignored; a US ZIP+4 is cut to
// five digits): exact, one edit, or disagree.
func ComparePostal(a, b string) Level {
	a, b = normalizePostal(a), normalizePostal(b)
	if a == "" || b == "" {
		return LevelMissing
	}
	if a == b {
		return LevelExact
	}
	if oneEdit(a, b) {
		return LevelOneEdit
	}
	return LevelDisagree
}

func normalizePostal(s string) string {
	s = normalizeID(s)
	if len(s) == 9 && strings.Trim(s, "0123456789") == "" { // ZIP+4
		s = s[:5]
	}
	return s
}

// ComparePhone compares phone numbers by their digits: exact (at least seven digits, all equal),
// the last seven digits equal (area code or country prefix differs or missing), or disagree.
// Numbers with fewer than seven digits are missing.
func ComparePhone(a, b string) Level {
	a, b = digitsOnly(a), digitsOnly(b)
	if len(a) < 7 || len(b) < 7 {
		return LevelMissing
	}
	if a == b {
		return LevelExact
	}
	if a[len(a)-7:] == b[len(b)-7:] {
		return LevelLast7
	}
	return LevelDisagree
}

// CompareCity compares city (suburb) names: exact, typo (Jaro–Winkler ≥ 0.94), or disagree.
func CompareCity(a, b string) Level {
	a, b = squash(NormalizeName(a)), squash(NormalizeName(b))
	if a == "" || b == "" {
		return LevelMissing
	}
	if a == b {
		return LevelExact
	}
	if JaroWinkler(a, b) >= typoJW {
		return LevelTypo
	}
	return LevelDisagree
}

var streetWords = map[string]string{
	"st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue", "dr": "drive",
	"ln": "lane", "ct": "court", "crt": "court", "pl": "place", "blvd": "boulevard", "hwy": "highway",
	"cres": "crescent", "cct": "circuit", "pde": "parade", "tce": "terrace", "ter": "terrace",
	"cir": "circle", "pkwy": "parkway", "sq": "square", "apt": "unit", "flt": "unit", "flat": "unit",
	"ste": "suite", "n": "north", "s": "south", "e": "east", "w": "west", "no": "", "#": "",
}

// addressTokens splits an address into lower-case words with common abbreviations expanded.
func addressTokens(s string) []string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	out := words[:0]
	for _, w := range words {
		if e, ok := streetWords[w]; ok {
			w = e
		}
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// AddressSimilarity returns the share of words two addresses have in common, in any order, a word
// counting as common when equal or, for words of four letters or more, when its Jaro–Winkler
// similarity is at least 0.9 (typos): 2·common / (words in a + words in b). Words run together
// ("pridhamstreet") are split against the other address's words first.
func AddressSimilarity(a, b string) float64 {
	ta, tb := addressTokens(a), addressTokens(b)
	if len(ta) == 0 || len(tb) == 0 {
		return 0
	}
	ta, tb = splitJoined(ta, tb), splitJoined(tb, ta)
	used := make([]bool, len(tb))
	common := 0
	for _, w := range ta {
		best, bi := 0.0, -1
		for j, v := range tb {
			if used[j] {
				continue
			}
			s := 0.0
			if w == v {
				s = 1
			} else if len(w) >= 4 && len(v) >= 4 {
				s = JaroWinkler(w, v)
			}
			if s > best {
				best, bi = s, j
			}
		}
		if bi >= 0 && best >= 0.9 {
			used[bi] = true
			common++
		}
	}
	return 2 * float64(common) / float64(len(ta)+len(tb))
}

// splitJoined splits a word of ws that is two words of other run together.
func splitJoined(ws, other []string) []string {
	var out []string
	for _, w := range ws {
		split := false
		for _, o := range other {
			if len(o) < len(w) && strings.HasPrefix(w, o) {
				rest := w[len(o):]
				for _, o2 := range other {
					if rest == o2 {
						out = append(out, o, rest)
						split = true
						break
					}
				}
			}
			if split {
				break
			}
		}
		if !split {
			out = append(out, w)
		}
	}
	return out
}

// CompareAddress compares street addresses by word similarity (AddressSimilarity): exact (same
// words, any order), high (≥ 0.8), medium (≥ 0.5), or disagree.
func CompareAddress(a, b string) Level {
	if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
		return LevelMissing
	}
	switch s := AddressSimilarity(a, b); {
	case s >= 0.999:
		return LevelExact
	case s >= 0.8:
		return LevelHigh
	case s >= 0.5:
		return LevelMedium
	}
	if len(addressTokens(a)) == 0 || len(addressTokens(b)) == 0 {
		return LevelMissing
	}
	return LevelDisagree
}

//go:embed nicknames.txt
var nicknameText string

// nicknameGroups maps each name of the embedded table to the groups (line numbers) it is in. It is
// built once from the read-only embedded table and never modified.
var nicknameGroups = sync.OnceValue(func() map[string][]int {
	m := make(map[string][]int)
	for i, line := range strings.Split(nicknameText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		for _, n := range strings.Fields(line) {
			m[n] = append(m[n], i)
		}
	}
	return m
})

// IsNickname reports whether two different given names are forms of one another in the built-in
// table of common English nicknames (Bill/William, Peggy/Margaret, Kate/Katie, ...). Names are
// normalized here.
func IsNickname(a, b string) bool {
	return isNickname(NormalizeName(a), NormalizeName(b))
}

// isNickname is IsNickname on normalized names.
func isNickname(a, b string) bool {
	if a == "" || b == "" || a == b {
		return false
	}
	g := nicknameGroups()
	for _, x := range g[a] {
		for _, y := range g[b] {
			if x == y {
				return true
			}
		}
	}
	return false
}
