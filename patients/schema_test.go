package patients_test

import (
	"context"
	"testing"

	"paperchart/patients"
)

// The migration runs as the role paperchart, which is not a superuser: the
// extensions it needs are trusted, and the constraints hold.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	x, db := newIndex(t, patients.Options{})
	var super bool
	testMust(t, db.Pool().QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super))
	if super {
		t.Log("the test role is a superuser: trusted extensions are not proven")
	}
	var ext int
	testMust(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_extension WHERE extname IN ('pg_trgm', 'fuzzystrmatch')`).Scan(&ext))
	if ext != 2 {
		t.Errorf("%d of pg_trgm, fuzzystrmatch installed", ext)
	}
	importString(t, x, "mrn,family\nK1,One\nK2,Two\n", patients.FormatCSV, patients.ImportOptions{})
	for _, bad := range []string{
		`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', 'K1')`,                          // duplicate MRN
		`INSERT INTO patients (assigning_authority, mrn) VALUES ('MRN', '')`,                            // empty MRN
		`INSERT INTO patients (assigning_authority, mrn, sex) VALUES ('MRN', 'K3', 'M')`,                // sex not coded
		`UPDATE patients SET merged_into = id, active = false WHERE mrn = 'K1'`,                         // into itself
		`UPDATE patients SET merged_into = (SELECT id FROM patients WHERE mrn = 'K2') WHERE mrn = 'K1'`, // merged but active
		`INSERT INTO patient_identifiers SELECT id, 's', 'v' FROM patients`,                             // one identifier, two patients
	} {
		if _, err := db.Pool().Exec(ctx, bad); err == nil {
			t.Errorf("the schema accepted %s", bad)
		}
	}
}
