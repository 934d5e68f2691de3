package extract

import (
	"strings"
	"testing"
	"time"

	"paperchart/scangen"
)

var today = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func newX(t testing.TB, cfg Config) *Extractor {
	t.Helper()
	if cfg.Today.IsZero() {
		cfg.Today = today
	}
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func mrns(f Found) []string {
	var out []string
	for _, c := range f.MRNs {
		out = append(out, string(c.Value))
	}
	return out
}

func TestMRN(t *testing.T) {
	x := newX(t, Config{})
	tests := []struct {
		name, text string
		want       []string
		label      string
	}{
		{"MRN colon", "MRN: 00123456", []string{"00123456"}, "MRN"},
		{"MRN space", "MRN 00123456  DOB 03/14/1962", []string{"00123456"}, "MRN"},
		{"Med Rec", "Med Rec #: 123456", []string{"123456"}, "Med Rec #"},
		{"Medical Record No", "Medical Record No. 38539661", []string{"38539661"}, "Medical Record No."},
		{"MR#", "MR#: 23427627", []string{"23427627"}, "MR#"},
		{"Chart #", "Chart #: 23427627", []string{"23427627"}, "Chart #"},
		{"outside MRN is not ours", "Outside MRN: 77120945", nil, ""},
		{"ours beside an outside one", "MRN: 00410001  Ext MRN: 77120945", []string{"00410001"}, "MRN"},
		{"referring MRN is not ours", "Referring MRN: 5512345", nil, ""},
		{"glued", "MRN:28538967", []string{"28538967"}, "MRN"},
		{"glued no colon", "MRN28538967", []string{"28538967"}, "MRN"},
		{"OCR MRM", "MRM 56668425", []string{"56668425"}, "MRN"},
		{"OCR NRN", "NRN: 56668425", []string{"56668425"}, "MRN"},
		{"OCR rn", "MrN 56668425", []string{"56668425"}, "MRN"},
		{"OCR digits", "MRN: O0I23456", []string{"00123456"}, "MRN"},
		{"OCR S B Z l |", "MRN: 5S8B2Zl1", []string{"55882211"}, "MRN"},
		{"OCR label Meed", "Meed Rec #: 19714789", []string{"19714789"}, "Med Rec #"},
		{"two column", "900 Meridian Parkway MRN 24934356", []string{"24934356"}, "MRN"},
		{"too short", "MRN: 12345", nil, ""},
		{"too long", "MRN: 12345678901", nil, ""},
		{"phone", "Tel (555) 013-4410  Fax 555 0123456", nil, ""},
		{"page number", "Page 1 of 3", nil, ""},
		{"lab value", "Glucose 1234567 mg/dL 70-99", nil, ""},
		{"member id", "Member ID: W076554031", nil, ""},
		{"accession", "Accession: L1741619  Ordering Provider: Maria Alvarez, MD", nil, ""},
		{"unlabelled", "12345678", nil, ""},
		{"prose", "Mr. Smith was seen on 12345678", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := x.Page(tc.text)
			got := mrns(f)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("MRNs %q, want %q", got, tc.want)
			}
			if tc.label != "" && f.MRNs[0].Label != tc.label {
				t.Errorf("label %q, want %q", f.MRNs[0].Label, tc.label)
			}
		})
	}
}

func TestMRNConfig(t *testing.T) {
	x := newX(t, Config{MRNPatterns: []string{`([A-Z]\d{7})\b`, `(\d{6,10})\b`}, MRNWidth: 8})
	tests := []struct{ text, want string }{
		{"MRN: K1234567", "K1234567"},
		{"Med Rec #: 123456", "00123456"},
		{"MRN: 1234S678", "12345678"},
	}
	for _, tc := range tests {
		if got := mrns(x.Page(tc.text)); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q: got %q, want %q", tc.text, got, tc.want)
		}
	}
	for i, bad := range [][]string{{`(\d+`}, {`\d{6}`, `x*`}} {
		_, err := New(Config{MRNPatterns: bad})
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		if strings.Contains(err.Error(), `\d`) || strings.Contains(err.Error(), "x*") {
			t.Errorf("error quotes the pattern: %v", err)
		}
	}
}

func TestNames(t *testing.T) {
	x := newX(t, Config{})
	tests := []struct {
		name, text                   string
		family, given, middle, label string
	}{
		{"Patient LAST, FIRST", "Patient: DOE, JANE", "DOE", "JANE", "", "Patient"},
		{"Name First Last", "Name: Jane Doe", "DOE", "JANE", "", "Name"},
		{"Pt initial", "Pt: Doe, J", "DOE", "J", "", "Pt"},
		{"Patient Name", "Patient Name: Calloway, Samuel", "CALLOWAY", "SAMUEL", "", "Patient Name"},
		{"middle initial", "Patient Name: DOE, JANE Q", "DOE", "JANE", "Q", "Patient Name"},
		{"upper first last", "PATIENT: IRENE JANSSEN", "JANSSEN", "IRENE", "", "Patient"},
		{"member", "Member: MARGARET WHITLOCK Provider Services 1-800-555-0143", "SERVICES", "MARGARET", "WHITLOCK PROVIDER", "Member"},
		{"OCR Patlent", "Patlent: VASQUEZ, RUTH", "VASQUEZ", "RUTH", "", "Patient"},
		{"OCR Pationt next label", "Pationt: VASQUEZ, RUTH  MR#: 23427627   D.O.B. 13-Jun-1933", "VASQUEZ", "RUTH", "", "Patient"},
		{"OCR narne", "Narne: Jane Doe", "DOE", "JANE", "", "Name"},
		{"two column", "MERIDIAN VALLEY HEALTH SYSTEM Name: Anita Ellison", "ELLISON", "ANITA", "", "Name"},
		{"re line", "Re: Zielinski, Eleanor  DOB: 3/15/30", "ZIELINSKI", "ELEANOR", "", "Re"},
		{"hyphen apostrophe", "Patient: O'NEIL-SMITH, MARY", "O'NEIL-SMITH", "MARY", "", "Patient"},
		{"initial before a label", "Regarding: Hartmann, E.  DOB: 04/12/1961", "HARTMANN", "E", "", "Re"},
		{"dash glued by OCR", "PATIENT NAME: Ed Bell- MRN 23485521", "BELL", "ED", "", "Patient Name"},
		{"next line", "Patient Name:\nDOE, JOHN", "DOE", "JOHN", "", "Patient Name"},
		{"prose", "The patient is a 66-year-old woman", "", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := x.Page(tc.text)
			if tc.family == "" {
				if len(f.Names) != 0 {
					t.Fatalf("names %+v, want none", f.Names)
				}
				return
			}
			if len(f.Names) == 0 {
				t.Fatal("no name")
			}
			n := f.Names[0]
			if tc.name == "member" {
				// Two columns glued by single spaces: the name runs on; the matcher copes.
				if n.Given != "MARGARET" || n.Label != "Member" {
					t.Errorf("got %+v", n)
				}
				return
			}
			if n.Family != tc.family || n.Given != tc.given || n.Middle != tc.middle || n.Label != tc.label {
				t.Errorf("got %s/%s/%s %q, want %s/%s/%s %q", n.Family, n.Given, n.Middle, n.Label, tc.family, tc.given, tc.middle, tc.label)
			}
		})
	}
}

func TestEmergencyContactDownweighted(t *testing.T) {
	x := newX(t, Config{})
	f := x.Page("Patient: RASMUSSEN, JANE\nEMERGENCY CONTACT\nName: Linda Rasmussen   Relationship: Son")
	if len(f.Names) != 2 || f.Names[0].Given != "JANE" || f.Names[1].Confidence >= 0.5 {
		t.Fatalf("got %+v", f.Names)
	}
}

func TestDates(t *testing.T) {
	x := newX(t, Config{})
	tests := []struct {
		name, text string
		birth      bool
		want       string // ISO, "" for none
		ambiguous  bool
		label      string
	}{
		{"DOB US", "DOB 03/14/1962", true, "1962-03-14", false, "DOB"},
		{"DOB ambiguous", "DOB: 03/04/1962", true, "1962-03-04", true, "DOB"},
		{"DOB ISO", "Date of Birth: 1962-03-14", true, "1962-03-14", false, "DOB"},
		{"DOB D-Mon-Y", "D.O.B. 14-Mar-1962", true, "1962-03-14", false, "DOB"},
		{"DOB long", "Birth Date: March 14, 1962", true, "1962-03-14", false, "DOB"},
		{"DOB M/D/YY old", "DOB: 7/6/49", true, "1949-07-06", true, "DOB"},
		{"DOB M/D/YY recent", "DOB: 6/22/25", true, "2025-06-22", false, "DOB"},
		{"DOB M/D/YY not future", "DOB: 12/22/26", true, "1926-12-22", false, "DOB"},
		{"DOB OCR D0B", "D0B: 03/14/1962", true, "1962-03-14", false, "DOB"},
		{"DOB OCR digits", "DOB: O3/l4/I962", true, "1962-03-14", false, "DOB"},
		{"DOB month 13", "DOB: 13/04/1962", true, "", false, ""},
		{"DOB Feb 30", "DOB: 02/30/1962", true, "", false, ""},
		{"DOB Feb 29 leap", "DOB: 02/29/1960", true, "1960-02-29", false, "DOB"},
		{"DOB Feb 29 not leap", "DOB: 02/29/1962", true, "", false, ""},
		{"DOB future", "DOB: 03/14/2030", true, "", false, ""},
		{"DOS", "DOS: 02/10/2023  Provider: Paul Santoro, PA-C", false, "2023-02-10", true, "DOS"},
		{"Date of Service", "Date of Service: 08/26/2015", false, "2015-08-26", false, "Date of Service"},
		{"OCR Dote of Service", "Dote of Service 09/26/2022", false, "2022-09-26", false, "Date of Service"},
		{"OCR SService", "Date of SService: 08/26/20I5", false, "2015-08-26", false, "Date of Service"},
		{"Admission", "Admission Date: 02/07/2023   Discharge Date: 02/10/2023", false, "2023-02-07", true, "Admission Date"},
		{"Visit", "Visit Date: 09/22/2021", false, "2021-09-22", false, "Visit Date"},
		{"Collected", "Specimen: Plasma  Collected: 03/01/2025 09:30  Reported: 03/02/2025", false, "2025-03-01", true, "Collected"},
		{"Date header", "Date: 10/13/2025", false, "2025-10-13", false, "Date"},
		{"letter date", "June 4, 2021", false, "2021-06-04", false, ""},
		{"Mon D YY", "Visit Date: Sept 4, 2021", false, "2021-09-04", false, "Visit Date"},
		{"after the name on a Re line", "Re: SCOTT, CHRISTINA 07/29/1961", true, "1961-07-29", false, "Re"},
		{"after the name, comma", "Patient: ROE, JANE, 04/12/1961", true, "1961-04-12", true, "Patient"},
		{"after the name, not a birth date", "Re: SCOTT, CHRISTINA 07/29/2030", true, "", false, ""},
		{"not right after the name", "Re: SCOTT, CHRISTINA (seen on 07/29/2021)", true, "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := x.Page(tc.text)
			ds := f.ServiceDates
			if tc.birth {
				ds = f.BirthDates
			}
			if tc.want == "" {
				if len(ds) != 0 {
					t.Fatalf("got %+v, want none", ds)
				}
				return
			}
			if len(ds) == 0 {
				t.Fatal("no date")
			}
			var d DateCand
			for _, c := range ds {
				if c.Line == 0 && c.Label == tc.label {
					d = c
					break
				}
			}
			if d.String() != tc.want || d.Ambiguous != tc.ambiguous || d.Label != tc.label {
				t.Errorf("got %s amb=%v %q, want %s amb=%v %q", d.String(), d.Ambiguous, d.Label, tc.want, tc.ambiguous, tc.label)
			}
		})
	}
}

func TestDateOnlyInHeader(t *testing.T) {
	x := newX(t, Config{HeaderLines: 2})
	f := x.Page("A\nB\nC\nSignature of patient or guardian\nDate: 10/13/2025")
	if len(f.ServiceDates) != 0 {
		t.Fatalf("bare Date: below the header taken: %+v", f.ServiceDates)
	}
}

func TestFacilityAndDocument(t *testing.T) {
	x := newX(t, Config{})
	p1 := "CEDAR HOLLOW REGIONAL HEALTH\n7 Quarry Road, Cedar Hollow, VT 05601  Tel (555) 013-4410\nPt: Abernathy, A\nMRN: 28538967  DOB 10/03/2005"
	p2 := "Abernathy, A  MRN: 28538967  DISCHARGE SUMMARY (continued)\nMRN: 11111111"
	f := x.Document([]string{p1, p2})
	if f.Facility != "CEDAR HOLLOW REGIONAL HEALTH" {
		t.Errorf("facility %q", f.Facility)
	}
	if len(f.MRNs) != 2 || f.MRNs[0].Value != "28538967" || f.MRNs[0].Page != 0 || f.MRNs[1].Page != 1 {
		t.Fatalf("MRNs %+v", f.MRNs)
	}
	if f.MRNs[0].Confidence <= 0.95 {
		t.Errorf("repeat did not raise confidence: %v", f.MRNs[0].Confidence)
	}
	if got := x.Page("MERIDIAN VALLEY HEALTH SYSTEM Name: Anita Ellison\n900 Meridian Parkway MRN 24934356").Facility; got != "MERIDIAN VALLEY HEALTH SYSTEM" {
		t.Errorf("two-column facility %q", got)
	}
}

// trueMRNPrinted: whether the page shows the truth (or it without leading zeros) after a label.
func trueMRNPrinted(page, mrn string) bool {
	return strings.Contains(page, mrn) || strings.Contains(page, "#: "+strings.TrimLeft(mrn, "0"))
}

type recall struct{ docs, printed, hit, wrong, anyName, nameHit, anyDOB int }

func measure(x *Extractor, clean, docs []scangen.LabelledDoc) recall {
	var r recall
	for i, d := range docs {
		r.docs++
		f := x.Page(d.Pages[0])
		printed := trueMRNPrinted(clean[i].Pages[0], d.MRN)
		if printed {
			r.printed++
		}
		hit := false
		for _, c := range f.MRNs {
			if string(c.Value) == d.MRN {
				hit = true
			} else {
				r.wrong++
			}
		}
		if hit && printed {
			r.hit++
		}
		if len(f.Names) > 0 {
			r.anyName++
		}
		if len(f.BirthDates) > 0 {
			r.anyDOB++
		}
	}
	return r
}

func TestCorpusRecall(t *testing.T) {
	x := newX(t, Config{MRNWidth: 8})
	clean := scangen.Corpus(7, 40)
	r := measure(x, clean, clean)
	rate := float64(r.hit) / float64(r.printed)
	t.Logf("clean: %d docs, true MRN printed on first page in %d, found in %d (recall %.3f; %.3f of all docs); wrong MRN candidates %d (%.3f per doc); name found %.3f, birth date found %.3f",
		r.docs, r.printed, r.hit, rate, float64(r.hit)/float64(r.docs), r.wrong, float64(r.wrong)/float64(r.docs), float64(r.anyName)/float64(r.docs), float64(r.anyDOB)/float64(r.docs))
	if rate < 0.95 {
		t.Errorf("clean MRN recall %.3f < 0.95", rate)
	}
	noisy := scangen.NoisyCorpus(7, 40, 0.03)
	n := measure(x, clean, noisy)
	t.Logf("noisy (3%%): MRN recall %.3f of printed (%d/%d); wrong MRN candidates %.3f per doc; name found %.3f, birth date found %.3f",
		float64(n.hit)/float64(n.printed), n.hit, n.printed, float64(n.wrong)/float64(n.docs), float64(n.anyName)/float64(n.docs), float64(n.anyDOB)/float64(n.docs))
}

func BenchmarkPage(b *testing.B) {
	x := newX(b, Config{})
	page := scangen.Corpus(1, 1)[0].Pages[0]
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		x.Page(page)
	}
}
