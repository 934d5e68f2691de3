package patients_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"paperchart/chart"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
)

// newIndex returns an index on a migrated database of the test's own.
func newIndex(t testing.TB, opt patients.Options) (*patients.Index, *storage.DB) {
	t.Helper()
	db := testenv.DB(t)
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return patients.New(db.Pool(), opt), db
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func importString(t testing.TB, x *patients.Index, input string, f patients.Format, opt patients.ImportOptions) patients.ImportReport {
	t.Helper()
	rep, err := x.Import(context.Background(), strings.NewReader(input), f, opt)
	if err != nil {
		t.Fatalf("import: %v (report %+v)", err, rep)
	}
	return rep
}

func importFile(t testing.TB, x *patients.Index, path string, f patients.Format, opt patients.ImportOptions) patients.ImportReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return importString(t, x, string(b), f, opt)
}

func byMRN(t testing.TB, x *patients.Index, authority, mrn string) patients.Patient {
	t.Helper()
	p, err := x.ByMRN(context.Background(), authority, mrn)
	if err != nil {
		t.Fatalf("ByMRN: %v", err)
	}
	return p
}

func date(s string) chart.Date {
	d, err := chart.ParseDate(s)
	if err != nil {
		panic(s + ": " + err.Error())
	}
	return d
}

// counts is an ImportReport's figures, for comparing.
type counts struct{ Read, Inserted, Updated, Unchanged, Rejected, Ignored int }

func countsOf(r patients.ImportReport) counts {
	return counts{r.Read, r.Inserted, r.Updated, r.Unchanged, r.Rejected, r.Ignored}
}

// reset empties the index and drops the documents table (the merge tests
// make a small one of their own, or none), so that
// the cases of a table share one database.
func reset(t testing.TB, db *storage.DB) {
	t.Helper()
	if _, err := db.Pool().Exec(context.Background(), `DROP TABLE IF EXISTS documents CASCADE;
		TRUNCATE patients, patient_identifiers, patient_merges RESTART IDENTITY CASCADE`); err != nil {
		t.Fatalf("empty the index: %v", err)
	}
}
