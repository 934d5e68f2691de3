package patients_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"paperchart/patients"
	"paperchart/storage"
)

const sixPatients = "mrn,family,given,birth_date\n" +
	"A,Able,Amy,1950-01-01\nB,Baker,Ben,1951-02-02\nC,Cole,Cy,1952-03-03\n" +
	"D,Dunn,Di,1953-04-04\nE,Eads,Ed,1954-05-05\nF,Fox,Flo,1955-06-06\n"

func ref(mrn string) patients.PatientRef { return patients.PatientRef{MRN: mrn} }

func TestMerge(t *testing.T) {
	ctx := context.Background()
	x, db := newIndex(t, patients.Options{})
	importString(t, x, sixPatients, patients.FormatCSV, patients.ImportOptions{})
	id := map[string]int64{}
	for _, m := range []string{"A", "B", "C", "D", "E", "F"} {
		id[m] = byMRN(t, x, "", m).ID
	}
	// F is inactive (say, a FHIR record marked so), not merged.
	if _, err := db.Pool().Exec(ctx, `UPDATE patients SET active = false WHERE mrn = 'F'`); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name          string
		retire, into  string
		wantErr       error
		wantMergedTo  string // the retired record's merged_into after the step ("" not merged)
		wantMergeRows int
	}{
		{"A into B", "A", "B", nil, "B", 1},
		{"A into B again changes nothing", "A", "B", nil, "B", 1},
		{"B into C: A's chain now ends at C", "B", "C", nil, "C", 2},
		{"D into A follows A's chain to C", "D", "A", nil, "C", 3},
		{"C into A would make a cycle", "C", "A", patients.ErrMergeCycle, "", 3},
		{"C into itself", "C", "C", patients.ErrMergeSelf, "", 3},
		{"A, merged to C, into E", "A", "E", patients.ErrAlreadyMerged, "C", 3},
		{"E into inactive F", "E", "F", patients.ErrSurvivorInactive, "", 3},
		{"unknown retired MRN", "Z", "E", patients.ErrNotFound, "", 3},
		{"unknown surviving MRN", "E", "Z", patients.ErrNotFound, "", 3},
	}
	for _, st := range steps {
		err := x.Merge(ctx, ref(st.retire), ref(st.into), "test")
		if !errors.Is(err, st.wantErr) {
			t.Errorf("%s: error %v, want %v", st.name, err, st.wantErr)
			continue
		}
		if st.retire == "Z" {
			continue
		}
		p := byMRN(t, x, "", st.retire)
		switch {
		case st.wantMergedTo == "" && (p.MergedInto != nil || !p.Active):
			t.Errorf("%s: %s merged_into %v active %v, want untouched", st.name, st.retire, p.MergedInto, p.Active)
		case st.wantMergedTo != "" && (p.MergedInto == nil || *p.MergedInto != id[st.wantMergedTo] || p.Active):
			t.Errorf("%s: %s merged_into %v active %v, want merged into %s (%d), inactive", st.name, st.retire, p.MergedInto, p.Active, st.wantMergedTo, id[st.wantMergedTo])
		}
		var n int
		testMust(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM patient_merges`).Scan(&n))
		if n != st.wantMergeRows {
			t.Errorf("%s: %d merges recorded, want %d", st.name, n, st.wantMergeRows)
		}
	}
	// Every retired record points at C, and resolves to it; C to itself.
	for _, m := range []string{"A", "B", "D"} {
		if p := byMRN(t, x, "", m); p.MergedInto == nil || *p.MergedInto != id["C"] {
			t.Errorf("%s merged_into %v, want C (%d)", m, p.MergedInto, id["C"])
		}
	}
	for _, m := range []string{"A", "B", "C", "D"} {
		p, err := x.Resolve(ctx, id[m])
		if err != nil || p.ID != id["C"] {
			t.Errorf("Resolve(%s) = %d, %v; want C (%d)", m, p.ID, err, id["C"])
		}
	}
	var retired, surviving int64
	var source string
	testMust(t, db.Pool().QueryRow(ctx, `SELECT retired_id, surviving_id, source FROM patient_merges ORDER BY id DESC LIMIT 1`).Scan(&retired, &surviving, &source))
	if retired != id["D"] || surviving != id["C"] || source != "test" {
		t.Errorf("last merge recorded %d → %d (%s), want D %d → C %d (test)", retired, surviving, source, id["D"], id["C"])
	}
}

// With a documents table (the documents migration adds it later), a merge
// moves the retired patient's documents, in its transaction.
func TestMergeRepointsDocuments(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		table    bool                 // create documents
		hooks    []patients.MergeHook // nil: the default hooks
		merges   [][2]string
		wantErr  bool
		wantDocs map[string]int // MRN → documents filed to it after the merges
	}{
		{"no documents table: merge works", false, nil, [][2]string{{"A", "B"}}, false, nil},
		{"documents move to the survivor", true, nil, [][2]string{{"A", "B"}}, false, map[string]int{"A": 0, "B": 3, "C": 1}},
		{"and along a chain", true, nil, [][2]string{{"A", "B"}, {"B", "C"}}, false, map[string]int{"A": 0, "B": 0, "C": 4}},
		{"into a merged record: to the end of its chain", true, nil, [][2]string{{"B", "C"}, {"A", "B"}}, false, map[string]int{"A": 0, "B": 0, "C": 4}},
		{"a failing hook rolls everything back", true,
			[]patients.MergeHook{patients.RepointDocuments, func(context.Context, pgx.Tx, int64, int64) error { return errors.New("hook failed") }},
			[][2]string{{"A", "B"}}, true, map[string]int{"A": 2, "B": 1, "C": 1}},
	}
	_, db := newIndex(t, patients.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reset(t, db)
			x := patients.New(db.Pool(), patients.Options{OnMerge: tc.hooks})
			importString(t, x, sixPatients, patients.FormatCSV, patients.ImportOptions{})
			if tc.table {
				mustExec(t, db, `CREATE TABLE documents (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
					patient_id bigint REFERENCES patients(id))`)
				mustExec(t, db, `INSERT INTO documents (patient_id) SELECT id FROM patients WHERE mrn IN ('A', 'A', 'B', 'C')
					UNION ALL SELECT id FROM patients WHERE mrn = 'A'`)
			}
			for _, m := range tc.merges {
				err := x.Merge(ctx, ref(m[0]), ref(m[1]), "test")
				if (err != nil) != tc.wantErr {
					t.Fatalf("merge %s into %s: %v, want error %v", m[0], m[1], err, tc.wantErr)
				}
			}
			for mrn, want := range tc.wantDocs {
				var n int
				testMust(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM documents d JOIN patients p ON p.id = d.patient_id
					WHERE p.mrn = $1`, mrn).Scan(&n))
				if n != want {
					t.Errorf("%s has %d documents, want %d", mrn, n, want)
				}
			}
			a := byMRN(t, x, "", "A")
			if a.Active != tc.wantErr {
				t.Errorf("A active %v after merge (error wanted %v)", a.Active, tc.wantErr)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	x, _ := newIndex(t, patients.Options{})
	importString(t, x, "mrn,family\n  M1 ,One\n", patients.FormatCSV, patients.ImportOptions{Authority: "H1"})
	importString(t, x, "mrn,family\nM1,Other\n", patients.FormatCSV, patients.ImportOptions{})
	p, err := x.ByMRN(ctx, "H1", " M1")
	if err != nil || p.Family != "One" || p.Authority != "H1" {
		t.Fatalf("ByMRN(H1, M1) = %+v, %v", p, err)
	}
	if q, err := x.ByMRN(ctx, "", "M1"); err != nil || q.Family != "Other" || q.Authority != patients.DefaultAuthority {
		t.Errorf("ByMRN(default, M1) = %+v, %v", q, err)
	}
	if q, err := x.ByID(ctx, p.ID); err != nil || q.MRN != "M1" || q.Authority != "H1" {
		t.Errorf("ByID(%d) = %+v, %v", p.ID, q, err)
	}
	if _, err := x.ByMRN(ctx, "H2", "M1"); !errors.Is(err, patients.ErrNotFound) {
		t.Errorf("ByMRN in another authority: %v, want ErrNotFound", err)
	}
	if _, err := x.ByID(ctx, 999999); !errors.Is(err, patients.ErrNotFound) {
		t.Errorf("ByID(unknown): %v, want ErrNotFound", err)
	}
	if _, err := x.Resolve(ctx, 999999); !errors.Is(err, patients.ErrNotFound) {
		t.Errorf("Resolve(unknown): %v, want ErrNotFound", err)
	}
}

func mustExec(t testing.TB, db *storage.DB, sql string) {
	t.Helper()
	if _, err := db.Pool().Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
