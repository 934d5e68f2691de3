package patients_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"paperchart/internal/testenv"
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

// TestChangeHooks checks the hooks callers pass to Upsert, Import and Merge
// (their audit entries): they run in the change's transaction, see what it
// did, and roll it back when they fail.
func TestChangeHooks(t *testing.T) {
	ctx := context.Background()
	x, _ := newIndex(t, patients.Options{})
	failed := errors.New("hook failed")
	fail := func(context.Context, pgx.Tx, patients.UpsertResult) error { return failed }

	// Upsert: a failing hook leaves no record; a passing one sees it.
	amy := patients.Patient{MRN: "A", Family: "Able", Given: "Amy"}
	if _, err := x.Upsert(ctx, amy, fail); !errors.Is(err, failed) {
		t.Fatalf("upsert with a failing hook: %v", err)
	}
	if _, err := x.ByMRN(ctx, "", "A"); !errors.Is(err, patients.ErrNotFound) {
		t.Errorf("record after a failed hook: %v, want not found", err)
	}
	var seen []patients.UpsertResult
	see := func(_ context.Context, tx pgx.Tx, res patients.UpsertResult) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM patients WHERE id = $1`, res.ID).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("the hook's transaction does not see patient %d: %d, %v", res.ID, n, err)
		}
		seen = append(seen, res)
		return nil
	}
	for _, p := range []patients.Patient{amy, amy, {MRN: "A", Family: "Able", Given: "Amy Jo"}} {
		_, err := x.Upsert(ctx, p, see)
		testenv.Must(t, err, "upsert")
	}
	if len(seen) != 3 || !seen[0].Created || seen[1].Created || seen[1].Updated || !seen[2].Updated {
		t.Errorf("hooks saw %+v, want created, unchanged, updated", seen)
	}

	// Import: Then sees the counts; failing, it rolls the import back.
	_, err := x.Import(ctx, strings.NewReader(sixPatients), patients.FormatCSV, patients.ImportOptions{
		Then: func(context.Context, pgx.Tx, patients.ImportReport) error { return failed }})
	if !errors.Is(err, failed) {
		t.Fatalf("import with a failing Then: %v", err)
	}
	if _, err := x.ByMRN(ctx, "", "F"); !errors.Is(err, patients.ErrNotFound) {
		t.Errorf("record after a failed import: %v, want not found", err)
	}
	var counts patients.ImportReport
	importString(t, x, sixPatients, patients.FormatCSV, patients.ImportOptions{
		Then: func(_ context.Context, _ pgx.Tx, rep patients.ImportReport) error { counts = rep; return nil }})
	if counts.Read != 6 || counts.Inserted != 5 || counts.Updated != 1 {
		t.Errorf("Then saw %+v, want 6 read, 5 inserted, 1 updated", counts)
	}

	// Merge: the caller's hooks run after the Index's, with the IDs; a
	// failing one rolls the merge back, and a merge that changes nothing
	// runs none.
	var merged [][2]int64
	note := func(_ context.Context, _ pgx.Tx, r, s int64) error {
		merged = append(merged, [2]int64{r, s})
		return nil
	}
	failMerge := func(context.Context, pgx.Tx, int64, int64) error { return failed }
	if err := x.Merge(ctx, ref("B"), ref("C"), "test", failMerge); !errors.Is(err, failed) {
		t.Fatalf("merge with a failing hook: %v", err)
	}
	if b, err := x.ByMRN(ctx, "", "B"); err != nil || b.MergedInto != nil {
		t.Errorf("record after a failed merge: %+v, %v", b, err)
	}
	testenv.Must(t, x.Merge(ctx, ref("B"), ref("C"), "test", note), "merge")
	testenv.Must(t, x.Merge(ctx, ref("B"), ref("C"), "test", note), "merge again")
	b, _ := x.ByMRN(ctx, "", "B")
	c, _ := x.ByMRN(ctx, "", "C")
	if len(merged) != 1 || merged[0] != [2]int64{b.ID, c.ID} {
		t.Errorf("merge hooks ran with %v, want once with [%d %d]", merged, b.ID, c.ID)
	}
}
