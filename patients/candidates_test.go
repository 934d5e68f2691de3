package patients_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"paperchart/chart"
	"paperchart/patients"
)

const candidatePatients = "mrn,family,given,birth_date,sex\n" +
	"000123,Smith,John,1980-03-04,m\n" +
	"000124,Smith,Jane,1982-11-30,f\n" +
	"S5B0Z,Kowalski,Jan,1975-06-01,m\n" +
	"77001,Johnson,Robert,1980-03-04,m\n" +
	"77002,Garcia,Maria,1991-12-25,f\n" +
	"77003,Nguyen,Thi,1990-07-04,f\n" +
	"77004,Schmidt,Johann,1944-02-14,m\n" +
	"77005,Peterson,Erik,1966-08-08,m\n" +
	"77006,Brown,Old,1970-01-01,m\n" + // merged into 77007 below
	"77007,Brown,New,1970-01-01,m\n" +
	"77008,Inactive,Ivy,1985-05-05,f\n" + // made inactive below
	"77009,Thompson,Anne,1958-09-10,f\n"

func TestCandidates(t *testing.T) {
	ctx := context.Background()
	x, db := newIndex(t, patients.Options{})
	importString(t, x, candidatePatients, patients.FormatCSV, patients.ImportOptions{})
	importString(t, x, "mrn,family,given,birth_date\n000123,Other,Authority,2000-01-01\n", patients.FormatCSV, patients.ImportOptions{Authority: "ELSEWHERE"})
	testMust(t, x.Merge(ctx, ref("77006"), ref("77007"), "test"))
	mustExec(t, db, `UPDATE patients SET active = false WHERE mrn = '77008'`)
	id := func(mrn string) int64 { return byMRN(t, x, "", mrn).ID }

	tests := []struct {
		name     string
		q        patients.Query
		want     string            // MRN (default authority) that must come first
		wantWhy  []patients.Reason // its reasons, exactly
		absent   []string          // MRNs that must not be candidates
		wantVia  string            // MRN of the merged record it was found through
		minCount int
	}{
		{name: "exact MRN", q: patients.Query{Authority: "MRN", MRN: "000123"}, want: "000123",
			wantWhy: []patients.Reason{patients.ReasonMRN}},
		{name: "MRN without leading zeros", q: patients.Query{Authority: "MRN", MRN: "123"}, want: "000123",
			wantWhy: []patients.Reason{patients.ReasonMRNVariant}},
		{name: "MRN with O for 0 and l for 1", q: patients.Query{Authority: "MRN", MRN: "OO0l23"}, want: "000123",
			wantWhy: []patients.Reason{patients.ReasonMRNVariant}},
		{name: "MRN letters read as digits", q: patients.Query{MRN: "55802"}, want: "S5B0Z",
			wantWhy: []patients.Reason{patients.ReasonMRNVariant}},
		{name: "MRN in any authority finds both", q: patients.Query{MRN: "000123"}, want: "000123",
			wantWhy: []patients.Reason{patients.ReasonMRN}, minCount: 2},
		{name: "family typo, given typo, birth date", q: patients.Query{Family: "Smiht", Given: "Jonh", BirthDate: date("1980-03-04")},
			want: "000123", wantWhy: []patients.Reason{patients.ReasonBirthDate, patients.ReasonFamilySimilar}},
		{name: "birth date with day and month swapped", q: patients.Query{Family: "Smith", Given: "John", BirthDate: date("1980-04-03")},
			want: "000123", wantWhy: []patients.Reason{patients.ReasonBirthDateSwapped, patients.ReasonFamilySimilar,
				patients.ReasonFamilySoundsLike, patients.ReasonGivenSimilar}},
		{name: "sounds alike only", q: patients.Query{Family: "Pietersen"}, want: "77005",
			wantWhy: []patients.Reason{patients.ReasonFamilySoundsLike}},
		{name: "similar family name, same sound", q: patients.Query{Family: "Smyth", Given: "Jane"}, want: "000124",
			wantWhy: []patients.Reason{patients.ReasonFamilySimilar, patients.ReasonFamilySoundsLike, patients.ReasonGivenSimilar}},
		{name: "family and given swapped", q: patients.Query{Family: "Thi", Given: "Nguyen"}, want: "77003",
			wantWhy: []patients.Reason{patients.ReasonNamesSwapped}},
		{name: "MRN of a merged record gives its survivor", q: patients.Query{Authority: "MRN", MRN: "77006"}, want: "77007",
			wantWhy: []patients.Reason{patients.ReasonMRN, patients.ReasonMerged}, absent: []string{"77006"}, wantVia: "77006"},
		{name: "inactive patients are left out", q: patients.Query{Family: "Inactive", Given: "Ivy", BirthDate: date("1985-05-05")},
			absent: []string{"77008"}},
		{name: "everything agrees", q: patients.Query{MRN: "77009", Family: "Thompson", Given: "Anne", BirthDate: date("1958-09-10")},
			want: "77009", wantWhy: []patients.Reason{patients.ReasonMRN, patients.ReasonBirthDate, patients.ReasonFamilySimilar,
				patients.ReasonFamilySoundsLike, patients.ReasonGivenSimilar}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := x.Candidates(ctx, tc.q, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < tc.minCount {
				t.Errorf("%d candidates, want at least %d", len(got), tc.minCount)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Rank > got[i-1].Rank {
					t.Errorf("candidates not ranked: %d (%.2f) after %d (%.2f)", got[i].ID, got[i].Rank, got[i-1].ID, got[i-1].Rank)
				}
			}
			for _, c := range got {
				if !c.Active || c.MergedInto != nil {
					t.Errorf("candidate %d is inactive or merged", c.ID)
				}
				for _, a := range tc.absent {
					if c.Authority == patients.DefaultAuthority && c.MRN == a {
						t.Errorf("candidate %s should not be among them", a)
					}
				}
			}
			if tc.want == "" {
				return
			}
			if len(got) == 0 {
				t.Fatalf("no candidates, want %s first", tc.want)
			}
			first := got[0]
			if first.ID != id(tc.want) {
				t.Fatalf("first candidate %s/%s (%v, rank %.2f), want %s", first.Authority, first.MRN, first.Why, first.Rank, tc.want)
			}
			if !slices.Equal(first.Why, tc.wantWhy) {
				t.Errorf("why %v, want %v", first.Why, tc.wantWhy)
			}
			if tc.wantVia != "" && !slices.Equal(first.FoundVia, []int64{id(tc.wantVia)}) {
				t.Errorf("found via %v, want [%d]", first.FoundVia, id(tc.wantVia))
			}
		})
	}

	if _, err := x.Candidates(ctx, patients.Query{Given: "only given"}, 5); !errors.Is(err, patients.ErrEmptyQuery) {
		t.Errorf("query with only a given name: %v, want ErrEmptyQuery", err)
	}
	if got, err := x.Candidates(ctx, patients.Query{BirthDate: date("1980-03-04")}, 1); err != nil || len(got) != 1 {
		t.Errorf("limit 1: %d candidates, %v", len(got), err)
	}
}

// chart.MRN.Key in Go and the SQL function patient_mrn_key behind the index
// agree on every ASCII character alone, between digits, and on real-looking
// MRNs; and the function's body is the one chart.KeySQL builds from the table.
func TestMRNKeyMatchesSQL(t *testing.T) {
	_, db := newIndex(t, patients.Options{})
	ctx := context.Background()
	rows := []string{"000123", "OO0l23", "S5B0Z", "ab-12 3/4.5", "0000", "", "i|Il1", "sSzZB8", "mrn-0042", "ÖÄ1",
		"DQ1G$", "dqg", "0012 3456", "00-123-456"}
	for c := 1; c < 128; c++ {
		rows = append(rows, string(rune(c)), "1"+string(rune(c))+"2")
	}
	for _, in := range rows {
		var sql string
		testMust(t, db.Pool().QueryRow(ctx, `SELECT patient_mrn_key($1)`, in).Scan(&sql))
		if got := chart.MRN(in).Key(); got != sql {
			t.Errorf("MRN(%q).Key() = %q, SQL patient_mrn_key %q", in, got, sql)
		}
	}
	var body string
	testMust(t, db.Pool().QueryRow(ctx, `SELECT pg_get_functiondef('patient_mrn_key(text)'::regprocedure)`).Scan(&body))
	if want := chart.KeySQL(); !strings.Contains(strings.ReplaceAll(body, "::text", ""), want) {
		t.Errorf("patient_mrn_key is\n%s\nwant its body to be %s", body, want)
	}
}
