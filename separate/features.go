package separate

import (
	"math"
	"strconv"

	"paperchart/chart"
	"paperchart/extract"
	"paperchart/match"
)

// This file owns the boundary model: the features that compare a page with
// the pages before it, and the logistic model that turns them into the
// probability that the page starts a new document.

// Feature indices. The weights (weights.go) are in this order; featureNames
// names them for the weights file and for tests.
const (
	fBias = iota
	fTitle
	fContinued
	fPageOne
	fPageLater
	fPrevEnded
	fPrevMid
	fPageSeq
	fMRNSame
	fMRNDiff
	fNameSame
	fNameDiff
	fDOBSame
	fDOBDiff
	fHasDOB
	fLetterhead
	fIDsTop
	fRunning
	fServiceSame
	fServiceDiff
	fPrevSigned
	fBlankBefore
	fTypeSame
	fTypeChange
	fTitleTypeChange
	fGarbage
	fPrevGarbage
	fFaxNew
	fFaxSeq
	fPrevOpen
	fOpenLower
	fMRNNear
	fGarbageMid
	numFeatures
)

var featureNames = [numFeatures]string{
	"bias", "title", "continued", "page_one", "page_later", "prev_ended", "prev_mid", "page_seq",
	"mrn_same", "mrn_diff", "name_same", "name_diff", "dob_same", "dob_diff", "has_dob", "letterhead",
	"ids_top", "running_header", "service_same", "service_diff", "prev_signed", "blank_before",
	"type_same", "type_change", "title_type_change", "garbage", "prev_garbage",
	"fax_new", "fax_seq", "prev_open", "open_lower", "mrn_near", "garbage_mid",
}

// Floors on the boundary probability for evidence that is sufficient on
// its own. They are reasoned, not fitted: in generated batches a change of
// patient never comes without a title, a letterhead or a patient block, so
// a fit learns little weight for it, yet a page of another patient belongs
// to another document whatever else it shows.
const (
	// labelFloor: a patient-label barcode (read exactly) names another MRN
	// than the labels of the document so far.
	labelFloor = 0.995
	// mrnFloor: an MRN differs from every MRN of the document by more than
	// misreads or a slip explain (see farMRN), and neither the name nor the
	// birth date agrees.
	mrnFloor = 0.97
	// nameDOBFloor: both the patient's name and birth date differ, and the
	// MRN does not agree; or the MRN differs (one digit is enough: that is
	// another patient's MRN) and so does the name or the birth date, with
	// neither agreeing.
	nameDOBFloor = 0.95
)

// confidentType is the type probability over which two pages' differing
// types count as a type change.
const confidentType = 0.8

// vector is one page's features.
type vector [numFeatures]float64

// evidence is what features found beside the fitted features: strong
// signs that the generator never varies on their own, so the fitted model
// cannot weigh them (see floors in score).
type evidence struct {
	labelDiff bool // a patient-label barcode names another MRN than the document's
	mrnDiff   bool // the MRN differs from every MRN of the document, and neither name nor birth date agrees
	nameDOB   bool // both the patient's name and birth date differ and the MRN does not agree; or the MRN differs (even by one digit) and the name or birth date differs while neither agrees
}

// features compares cur with the pages of the document it may continue
// (doc, never empty; its last page is the previous content page). blank
// says whether a blank page lies between cur and the previous content page.
func features(doc []signals, cur *signals, blank bool, classOf func(int) string) (vector, evidence) {
	var x vector
	var ev evidence
	x[fBias] = 1
	prev := &doc[len(doc)-1]
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	x[fTitle] = b(cur.title)
	x[fContinued] = b(cur.continued)
	x[fPageOne] = b(cur.num.ok && cur.num.k == 1)
	x[fPageLater] = b(cur.num.ok && cur.num.k > 1)
	x[fPrevEnded] = b(prev.num.ok && prev.num.n > 0 && prev.num.k == prev.num.n)
	x[fPrevMid] = b(prev.num.ok && prev.num.n > 0 && prev.num.k < prev.num.n)
	x[fPageSeq] = b(cur.num.ok && prev.num.ok && cur.num.k == prev.num.k+1 && cur.num.n == prev.num.n)

	mrnsOf := func(s *signals) []string { return s.mrns }
	same, diff := compareDoc(doc, cur, mrnsOf, sameMRN)
	// Another MRN one digit off is another patient's, but MRNs within two
	// edits are also what misread digits give: the fit weighs them
	// (mrn_near); only MRNs further apart are sufficient evidence on their
	// own (the floor).
	_, far := compareDoc(doc, cur, mrnsOf, farMRN)
	x[fMRNSame], x[fMRNDiff], x[fMRNNear] = b(same), b(far), b(diff && !far)
	mrnSame := same
	ev.mrnDiff = far
	same, diff = compareDoc(doc, cur, func(s *signals) []extract.Name { return s.names }, sameName)
	x[fNameSame], x[fNameDiff] = b(same), b(diff)
	nameDiff := diff
	same, diff = compareDoc(doc, cur, func(s *signals) []ymd { return s.dobs }, sameDate)
	x[fDOBSame], x[fDOBDiff] = b(same), b(diff)
	mrnOther := x[fMRNDiff] == 1 || x[fMRNNear] == 1
	ev.nameDOB = nameDiff && diff && !mrnSame ||
		mrnOther && (nameDiff || diff) && x[fNameSame] == 0 && x[fDOBSame] == 0
	ev.mrnDiff = ev.mrnDiff && x[fNameSame] == 0 && x[fDOBSame] == 0
	same, diff = compareDoc(doc, cur, func(s *signals) []ymd { return s.services }, sameDate)
	x[fServiceSame], x[fServiceDiff] = b(same), b(diff)
	_, ev.labelDiff = compareDoc(doc, cur, func(s *signals) []string { return s.labels },
		func(p, q string) (bool, bool) { return p == q, p != q })

	x[fHasDOB] = b(len(cur.dobs) > 0)
	x[fLetterhead] = b(cur.letter)
	x[fIDsTop] = b(cur.idsTop)
	x[fRunning] = b(cur.idsTop && !cur.letter && len(cur.dobs) == 0)
	x[fPrevSigned] = b(prev.signed)
	x[fBlankBefore] = b(blank)
	if len(cur.types) > 0 && len(prev.types) == len(cur.types) {
		var s float64
		for i := range cur.types {
			s += cur.types[i] * prev.types[i]
		}
		x[fTypeSame] = s
		x[fTypeChange] = b(cur.typeIdx != prev.typeIdx && cur.typeProb >= confidentType && prev.typeProb >= confidentType)
		x[fTitleTypeChange] = b(cur.title && cur.titleType != "" && prev.typeIdx >= 0 && prev.typeProb >= 0.5 && classOf(prev.typeIdx) != cur.titleType)
	}
	x[fGarbage] = b(cur.garbage)
	x[fPrevGarbage] = b(prev.garbage)
	// A fax header on the page: a new transmission (page 1, or another
	// sender or count than the page before) starts a document; the next
	// page of the same transmission says nothing either way.
	if cur.fax.ok {
		seq := cur.fax.follows(prev.fax)
		x[fFaxSeq] = b(seq)
		x[fFaxNew] = b(!seq && (cur.fax.k == 1 || !prev.fax.ok))
	}
	// An unreadable page after "Page k of N" with k < N is most likely
	// page k+1.
	x[fGarbageMid] = b(cur.garbage && x[fPrevMid] == 1)
	x[fPrevOpen] = b(prev.prevOpen && !prev.signed)
	x[fOpenLower] = b(cur.openLower && !cur.title)
	return x, ev
}

// compareDoc compares what get returns for cur with the same on every page
// of doc: same when some page agrees, diff when none does and some clearly
// differs; both false when either side has nothing (a missing identifier is
// not a change).
func compareDoc[T any](doc []signals, cur *signals, get func(*signals) []T, eq func(p, q T) (bool, bool)) (bool, bool) {
	c := get(cur)
	if len(c) == 0 {
		return false, false
	}
	anyDiff := false
	for i := range doc {
		s, d := compareSets(get(&doc[i]), c, eq)
		if s {
			return true, false
		}
		anyDiff = anyDiff || d
	}
	return false, anyDiff
}

// compareSets reports same when some pair of values is the same, and diff
// when none is and at least one pair clearly differs.
func compareSets[T any](a, c []T, eq func(p, q T) (same, diff bool)) (bool, bool) {
	anyDiff := false
	for i := range a {
		for j := range c {
			s, d := eq(a[i], c[j])
			if s {
				return true, false
			}
			anyDiff = anyDiff || d
		}
	}
	return false, anyDiff
}

// sameMRN compares identifiers as match.CompareMRN (chart.CompareMRN) does:
// exact, equal once OCR confusions (chart.DigitFor) are undone, or leading
// zeros apart are the same; any other difference, even one digit, is another
// patient's MRN (neighbouring MRNs belong to other patients).
func sameMRN(p, q string) (bool, bool) {
	switch match.CompareMRN(chart.MRN(p), chart.MRN(q)) {
	case match.LevelMissing:
		return false, false
	case match.LevelDisagree:
		return false, true
	}
	return true, false
}

// farMRN is sameMRN, except that MRNs within two edits once OCR-confusable
// letters are read as digits (their chart.MRN keys: digits changed, dropped, doubled or swapped:
// what misreads of a damaged line or a slip give) do not count as
// different: only MRNs further apart do, as two MRNs drawn at random are.
func farMRN(p, q string) (bool, bool) {
	same, diff := sameMRN(p, q)
	if !diff {
		return same, false
	}
	return false, chart.EditsString(chart.MRN(p).Key(), chart.MRN(q).Key(), 2, true) > 2
}

// sameName compares family names (one edit allowed per four letters) and
// given names (an initial matches a name starting with it).
func sameName(p, q extract.Name) (bool, bool) {
	lim := max(1, min(len(p.Family), len(q.Family))/4)
	fam := chart.EditsString(p.Family, q.Family, lim+2, true)
	if fam > lim+1 {
		return false, true
	}
	if fam > lim {
		return false, false
	}
	g1, g2 := p.Given, q.Given
	if g1 == "" || g2 == "" {
		return true, false
	}
	if len(g1) == 1 || len(g2) == 1 {
		return g1[0] == g2[0], false
	}
	gl := max(1, min(len(g1), len(g2))/4)
	d := chart.EditsString(g1, g2, gl+2, true)
	return d <= gl, d > gl+1
}

// sameDate: equal, day and month swapped, or one digit apart (a slip of
// the pen, an OCR misread).
func sameDate(p, q ymd) (bool, bool) {
	if p == q || p.y == q.y && p.m == q.d && p.d == q.m {
		return true, false
	}
	a := strconv.Itoa(p.y*10000 + p.m*100 + p.d)
	c := strconv.Itoa(q.y*10000 + q.m*100 + q.d)
	if len(a) == len(c) {
		diffs := 0
		for i := range a {
			if a[i] != c[i] {
				diffs++
			}
		}
		if diffs <= 1 {
			return true, false
		}
	}
	if p.y == q.y && p.m == q.m && (p.d-q.d == 1 || q.d-p.d == 1) {
		return true, false
	}
	return false, true
}

// logit is the boundary log-odds of x under w.
func logit(w *vector, x *vector) float64 {
	var z float64
	for i := range x {
		z += w[i] * x[i]
	}
	return z
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func logOdds(p float64) float64 { return math.Log(p / (1 - p)) }
