package filing_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
)

// faxLine is the header a fax machine prints on page k of n.
func faxLine(k, n int) string {
	return fmt.Sprintf("03/14/2024 10:42 FROM: (555) 010-2345 RIVERSIDE CLINIC TO: (555) 019-8888 P.%03d/%03d\n", k, n)
}

// faxCover is a fax cover sheet that names its patient alone.
func faxCover(name string) string { return faxCoverOf(name, 2) }

// faxCoverOf is a fax cover sheet announcing pages pages (none when 0).
func faxCoverOf(name string, pages int) string {
	count := ""
	if pages > 0 {
		count = fmt.Sprintf("Number of pages including cover: %d\n", pages)
	}
	return "FAX COVER SHEET\nDate: 03/14/2024\nTo: Health Information Management\nFrom: Riverside Clinic\n" +
		count + "Regarding: " + name + "\nComments:\nPlease find the requested records attached.\n" +
		"CONFIDENTIALITY NOTICE: This facsimile contains confidential health information that is protected by law.\n"
}

// TestFaxCoverFiledWithItsTransmission: a fax cover sheet that names the
// patient alone, or whose name and birth date fit two records alike, is
// filed with the document faxed after it when that one is filed to a
// person the sheet fits, and only then.
func TestFaxCoverFiledWithItsTransmission(t *testing.T) {
	ctx := context.Background()
	su := filingtest.New(t, nil)
	db, obj, x, f := su.DB, su.Objects, su.Index, su.Filer
	// Two records of one person (a duplicate in the index): name and birth
	// date alone cannot choose.
	const dup = "mrn,family,given,birth_date,sex\n00410011,PATEL,MARGARET,1981-12-17,female\n00410012,PATEL,MARGAARET,1981-12-17,female\n"
	_, err := x.Import(ctx, strings.NewReader(dup), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import duplicates")
	patel := strings.NewReplacer("HARTMANN, ELISE", "PATEL, MARGARET", "00410001", "00410012", "04/12/1961", "12/17/1981").Replace(filingtest.Discharge)
	faxed := func(texts ...string) []filingtest.Page {
		var ps []filingtest.Page
		for i, s := range texts {
			ps = append(ps, filingtest.Page{Text: faxLine(i+1, len(texts)) + s})
		}
		return ps
	}
	cases := []struct {
		name  string
		pages []filingtest.Page
		want  string // MRN the cover sheet is filed to, "" for review
		own   bool   // filed on its own evidence, not the transmission's
	}{
		{"same patient", faxed(faxCover("Elise Hartmann"), filingtest.Discharge), "00410001", false},
		// Family name, initial and birth date are two identifiers.
		{"family name, initial and birth date", faxed(faxCover("Hartmann, E.  DOB: 04/12/1961"), filingtest.Discharge), "00410001", true},
		{"birth date alone", faxed(faxCover("(see attached)  DOB: 04/12/1961"), filingtest.Discharge), "", false},
		{"another patient's record follows", faxed(faxCover("Elise Hartmann"), filingtest.Lab), "", false},
		{"two records fit the cover sheet alike", faxed(faxCover("PATEL, MARGARET  DOB: 12/17/1981"), patel), "00410012", false},
		// No fax header and no page count: nothing says they came together.
		{"two records fit, not faxed together", []filingtest.Page{{Text: faxCoverOf("PATEL, MARGARET  DOB: 12/17/1981", 0)}, {Text: patel}}, "", false},
		{"not faxed together", []filingtest.Page{{Text: faxCoverOf("Elise Hartmann", 0)}, {Text: filingtest.Discharge}}, "", false},
		// The cover's page count says the next page came with it.
		{"the cover's page count, no fax header", []filingtest.Page{{Text: faxCover("Elise Hartmann")}, {Text: filingtest.Discharge}}, "00410001", false},
		{"the page after the cover's count", []filingtest.Page{{Text: faxCoverOf("Elise Hartmann", 1)}, {Text: filingtest.Discharge}}, "", false},
		{"the record follows but is not filed", faxed(faxCover("Elise Hartmann"), filingtest.Namesake), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := filingtest.Batch(t, db, obj, "fax-"+testenv.Name(tc.name), tc.pages)
			_, err = f.FileBatch(ctx, id)
			testenv.Must(t, err, "file batch")
			docs, err := db.BatchDocuments(ctx, id)
			testenv.Must(t, err, "documents")
			if len(docs) < 2 || !slices.Equal(docs[0].Pages, []int{1}) {
				t.Fatalf("%d documents, the first of pages %v: want the cover sheet alone", len(docs), docs[0].Pages)
			}
			for _, d := range docs {
				t.Logf("doc %v %s %q by %s %.3f %q %+v", d.Pages, d.State, d.ReviewReasons, d.SeparatedBy, d.SplitConfidence, d.SplitReasons, d.Candidates)
			}
			cover := docs[0]
			got := ""
			if cover.State == storage.DocFiled {
				p, err := x.ByID(ctx, *cover.PatientID)
				testenv.Must(t, err, "patient")
				got = p.MRN
				if !tc.own && !slices.ContainsFunc(cover.Candidates[0].Reasons, func(r string) bool { return strings.Contains(r, "fax transmission") }) {
					t.Errorf("filed without saying why: %q", cover.Candidates[0].Reasons)
				}
				if slices.ContainsFunc(cover.ReviewReasons, func(r string) bool { return strings.Contains(r, "identifiers") }) {
					t.Errorf("filed, still saying %q", cover.ReviewReasons)
				}
			}
			if got != tc.want {
				t.Errorf("cover sheet filed to %q (%s, %q), want %q", got, cover.State, cover.ReviewReasons, tc.want)
			}
		})
	}
}
