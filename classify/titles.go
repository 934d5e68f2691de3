package classify

import (
	"paperchart/chart"
	"strings"
)

// Title rules: a document's title, printed near the top of its first page,
// names its type more reliably than its body. A line counts as a title
// when, once normalised (upper case, OCR digit-for-letter confusions undone,
// punctuation dropped), it is within a small edit distance of a known title
// for one type. Section headings (lines ending in ":") never count.

// titleLines is how many lines from the top are searched.
const titleLines = 20

type titleRule struct {
	title  string // normalised
	prefix bool   // the line starts with title (imaging exam names)
	code   string
}

var titleRules = func() []titleRule {
	var out []titleRule
	add := func(code string, prefix bool, titles ...string) {
		for _, t := range titles {
			out = append(out, titleRule{title: normaliseTitle(t), prefix: prefix, code: code})
		}
	}
	add(DischargeSummary, false, "DISCHARGE SUMMARY", "HOSPITAL DISCHARGE SUMMARY", "D/C SUMMARY", "DISCHARGE NOTE")
	add(HistoryPhysical, false, "HISTORY AND PHYSICAL", "HISTORY & PHYSICAL", "ADMISSION HISTORY AND PHYSICAL", "H&P", "HISTORY AND PHYSICAL EXAMINATION")
	add(ProgressNote, false, "PROGRESS NOTE", "DAILY PROGRESS NOTE", "CLINIC NOTE", "OFFICE VISIT", "FOLLOW-UP VISIT", "OFFICE NOTE")
	add(ConsultNote, false, "CONSULTATION", "CONSULTATION NOTE", "CONSULTATION REPORT", "CONSULT NOTE", "INPATIENT CONSULTATION")
	for _, s := range []string{"CARDIOLOGY", "ORTHOPEDICS", "GASTROENTEROLOGY", "PULMONOLOGY", "ENDOCRINOLOGY", "NEUROLOGY",
		"NEPHROLOGY", "DERMATOLOGY", "RHEUMATOLOGY", "GENERAL SURGERY", "SURGICAL", "ORTHOPEDIC", "INFECTIOUS DISEASE"} {
		add(ConsultNote, false, s+" CONSULTATION", s+" CONSULT NOTE")
	}
	add(OperativeReport, false, "OPERATIVE REPORT", "OPERATIVE NOTE", "REPORT OF OPERATION", "BRIEF OPERATIVE NOTE", "OPERATION REPORT")
	add(LabReport, false, "LABORATORY REPORT", "LAB REPORT", "LABORATORY RESULTS", "CLINICAL LABORATORY REPORT", "CUMULATIVE LAB SUMMARY", "LAB RESULTS")
	add(PathologyReport, false, "SURGICAL PATHOLOGY REPORT", "PATHOLOGY REPORT", "PATHOLOGY CONSULTATION REPORT", "CYTOLOGY REPORT")
	add(ImagingReport, false, "RADIOLOGY REPORT", "DIAGNOSTIC IMAGING REPORT", "IMAGING REPORT", "BILATERAL SCREENING MAMMOGRAM")
	add(ImagingReport, true, "CT ", "MRI ", "XR ", "ULTRASOUND ", "US ", "CHEST X-RAY", "X-RAY ", "MAMMOGRAM")
	add(MedicationList, false, "MEDICATION LIST", "CURRENT MEDICATIONS", "MEDICATION RECONCILIATION", "PRESCRIPTION", "MEDICATION ADMINISTRATION RECORD")
	add(ReferralLetter, false, "REFERRAL", "REFERRAL LETTER", "REFERRAL REQUEST", "PATIENT REFERRAL FORM")
	add(ConsentForm, false, "CONSENT FOR SURGERY OR PROCEDURE", "INFORMED CONSENT", "CONSENT TO TREATMENT", "CONSENT FOR ANESTHESIA",
		"AUTHORIZATION AND CONSENT", "CONSENT FOR BLOOD TRANSFUSION")
	add(ConsentForm, true, "CONSENT FOR ")
	add(InsuranceCard, false, "COPY OF INSURANCE CARD", "INSURANCE CARD", "INSURANCE CARD - FRONT AND BACK")
	add(Other, false, "FAX", "FACSIMILE TRANSMITTAL", "FAX COVER SHEET", "PATIENT REGISTRATION FORM", "PATIENT INFORMATION UPDATE")
	return out
}()

// normaliseTitle upper-cases a line, undoes the digit-for-letter
// confusions OCR makes in titles (chart.LetterFor) and turns everything but
// letters into single spaces.
func normaliseTitle(s string) string {
	return strings.TrimSpace(squeeze(s, func(c byte) (byte, bool) {
		if r, ok := chart.LetterFor(c); ok {
			c = r
		}
		switch {
		case c >= 'a' && c <= 'z':
			return c - ('a' - 'A'), true
		case c >= 'A' && c <= 'Z':
			return c, true
		}
		return c, false
	}))
}

// matchTitle returns the type whose title is on one of the first lines of
// text, or "".
func matchTitle(text string) string {
	lines := strings.SplitN(text, "\n", titleLines+1)
	if len(lines) > titleLines {
		lines = lines[:titleLines]
	}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasSuffix(line, ":") || len(line) > 60 {
			continue
		}
		if code := titleOf(line); code != "" {
			return code
		}
		// "Community Health and Hospitals: History & Physical": a
		// facility's name, then the title, on one line.
		if i := strings.LastIndex(line, ": "); i > 0 {
			if before := strings.Fields(line[:i]); len(before) >= 2 && !reLine.MatchString(line) {
				if code := titleOf(strings.TrimSpace(line[i+2:])); code != "" {
					return code
				}
			}
		}
	}
	return ""
}

// titleOf returns the type whose title the (trimmed) line is, or "".
func titleOf(line string) string {
	n := normaliseTitle(line)
	if n == "" {
		return ""
	}
	best, bestDist := "", 1<<30
	for _, r := range titleRules {
		if r.prefix {
			// Exam names: upper case in the original, the prefix exact.
			if strings.HasPrefix(n+" ", r.title) && line == strings.ToUpper(line) && len(strings.Fields(n)) <= 8 {
				return r.code
			}
			continue
		}
		limit := allowed(len(r.title))
		if d := chart.EditsString(n, r.title, limit, false); d <= limit && d < bestDist {
			best, bestDist = r.code, d
		}
	}
	return best
}

// allowed is the edit distance tolerated for a title of n letters: none for
// short ones (FAX, H P), then about one error in eight characters.
func allowed(n int) int {
	switch {
	case n < 6:
		return 0
	case n < 12:
		return 1
	}
	return n / 8
}
