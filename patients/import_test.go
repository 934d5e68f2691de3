package patients_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"paperchart/patients"
)

// stored is what a test expects of one record in the index.
type stored struct {
	Authority, MRN, Family, Given, BirthDate, Sex, Address, City, Postal, Phone string
	Active                                                                      bool
	Identifiers                                                                 []patients.Identifier
}

func storedOf(p patients.Patient) stored {
	return stored{p.Authority, p.MRN, p.Family, p.Given, p.BirthDate.String(), p.Sex, p.Address, p.City, p.PostalCode,
		p.Phone, p.Active, p.Identifiers}
}

const oid = "urn:oid:2.16.840.1.113883.19.5"

func TestImport(t *testing.T) {
	tests := []struct {
		name       string
		file       string // under testdata/, or
		input      string // inline
		format     patients.Format
		opt        patients.ImportOptions
		wantFormat string
		want       counts
		wantReject []string // "line N: reason" / "entry N: reason", prefixes of the reason
		wantWarn   []string // the same for warnings; nil: not checked
		wantStored []stored
	}{
		{
			name: "CSV, auto-detected, extra column, three date forms", file: "testdata/patients.csv",
			wantFormat: patients.ReadCSV, want: counts{Read: 4, Inserted: 4},
			wantStored: []stored{
				{"MRN", "000123", "Smith", "John", "1980-03-04", "male", "1 Main St", "Springfield", "12345", "555-0101", true, nil},
				{"MRN", "A-77", "O'Brien", "Mary Ann", "1975-12-31", "female", "2 Oak Ave, Apt 3", "Shelbyville", "54321", "", true, nil},
				{"MRN", "98765", "Nguyen", "Thi", "1990-07-04", "female", "", "", "", "", true, nil},
				{"MRN", "55501", "Kowalski", "Jan", "", "unknown", "", "", "", "555-0199", true, nil},
			},
		},
		{
			name:  "CSV columns in another order, optional ones missing, authority given",
			input: "given,birth_date,family,mrn\nAda,1815-12-10,Lovelace,L1\n  Alan , 19120623 ,  Turing ,L2\n",
			opt:   patients.ImportOptions{Authority: "STGEORGE"}, format: patients.FormatCSV,
			wantFormat: patients.ReadCSV, want: counts{Read: 2, Inserted: 2},
			wantStored: []stored{
				{"STGEORGE", "L1", "Lovelace", "Ada", "1815-12-10", "", "", "", "", "", true, nil},
				{"STGEORGE", "L2", "Turing", "Alan", "1912-06-23", "", "", "", "", "", true, nil},
			},
		},
		{
			name: "CSV with a byte order mark and CRLF line ends", input: "\ufeffmrn,family\r\nB1,Bom\r\n",
			wantFormat: patients.ReadCSV, want: counts{Read: 1, Inserted: 1},
			wantStored: []stored{{"MRN", "B1", "Bom", "", "", "", "", "", "", "", true, nil}},
		},
		{
			name: "CSV bad rows are reported by line and skipped",
			input: "mrn,family,given,birth_date,sex\n" +
				"1001,Good,Row,1990-01-01,m\n" + // 2: imported... until line 11 repeats its MRN
				",Nomrn,Xavier,1990-01-01,m\n" + // 3
				"1003,,Xavier,1990-01-01,m\n" + // 4
				"1004,Baddate,Xavier,1990-13-45,m\n" + // 5
				"1005,Badsex,Xavier,1990-01-01,x\n" + // 6
				"1006,Shortrow,Xavier\n" + // 7
				"1007,Future,Xavier,2999-01-01,f\n" + // 8
				"1008,\"Bad\"quote,Xavier,1990-01-01,m\n" + // 9
				"1009,\"Multi\nLine\",Xavier,1990-01-01,f\n" + // 10-11: good, a name with a newline
				"1001,Dupe,Row,1990-01-01,m\n" + // 12: same MRN as line 2, wins
				"1012,Toolong" + strings.Repeat("x", 300) + ",Xavier,,\n", // 13
			wantFormat: patients.ReadCSV, want: counts{Read: 11, Inserted: 3, Rejected: 8},
			wantReject: []string{
				"line 2: the same MRN appears again at line 12",
				"line 3: mrn is empty",
				"line 5: birth_date is not a date",
				"line 6: sex is not one of",
				"line 7: has 3 fields, the header has 5",
				"line 8: birth date is in the future",
				"line 9: is not valid CSV",
				"line 13: family is longer than 200 characters",
			},
			wantWarn: []string{"line 4: family name is empty: imported"},
			wantStored: []stored{
				{"MRN", "1001", "Dupe", "Row", "1990-01-01", "male", "", "", "", "", true, nil},
				{"MRN", "1003", "", "Xavier", "1990-01-01", "male", "", "", "", "", true, nil},
				{"MRN", "1009", "Multi Line", "Xavier", "1990-01-01", "female", "", "", "", "", true, nil},
			},
		},
		{
			name:       "CSV rows without family name or birth date are kept, with a warning",
			input:      "mrn,family,given,birth_date\nK1,,Ann,1970-01-01\nK2,Lee,,\nK3,,,\n",
			wantFormat: patients.ReadCSV, want: counts{Read: 3, Inserted: 3},
			wantWarn: []string{"line 2: family name is empty", "line 3: birth date is empty", "line 4: family name and birth date are empty"},
			wantStored: []stored{
				{"MRN", "K1", "", "Ann", "1970-01-01", "", "", "", "", "", true, nil},
				{"MRN", "K2", "Lee", "", "", "", "", "", "", "", true, nil},
				{"MRN", "K3", "", "", "", "", "", "", "", "", true, nil},
			},
		},
		{
			name: "FHIR Bundle: MR identifier, other identifiers, name, address and phone choice", file: "testdata/bundle.json",
			wantFormat: patients.ReadFHIRBundle, want: counts{Read: 4, Inserted: 2, Rejected: 2, Ignored: 1},
			wantReject: []string{
				"entry 4: gender is not one of male, female, other, unknown",
				"entry 5: has no MRN identifier",
			},
			wantStored: []stored{
				{oid, "F-1001", "Adams", "Eve Marie", "1965-02-28", "female", "12 Elm St, Flat 2", "Riverton", "11111", "555-0301", true,
					[]patients.Identifier{{System: "http://hl7.org/fhir/sid/us-ssn", Value: "999-00-1111"}}},
				{oid, "F-1002", "Brown", "Bob Lee", "", "male", "", "", "", "", false,
					[]patients.Identifier{{System: oid, Value: "F-0009"}}},
			},
		},
		{
			name: "FHIR NDJSON with a configured MRN system", file: "testdata/patients.ndjson", format: patients.FormatFHIR,
			opt:        patients.ImportOptions{Authority: "NDJ", MRNSystem: "urn:example:local"},
			wantFormat: patients.ReadFHIRNDJSON, want: counts{Read: 5, Inserted: 2, Rejected: 3, Ignored: 1},
			wantReject: []string{
				"line 5: is not a valid JSON object",
				"line 6: birthDate is not a date",
				"line 7: element active has the wrong JSON type",
			},
			wantStored: []stored{
				{"NDJ", "N-1", "Usual", "Una", "2001-10-09", "other", "", "", "", "555-0400", true, nil},
				{"urn:example:local", "L-2", "Local", "Lou", "1999-01-02", "", "", "", "", "", true, nil},
			},
		},
		{
			name:       "FHIR: a single Patient, pretty-printed, is read as a one-entry stream",
			input:      "{\n \"resourceType\": \"Patient\",\n \"identifier\": [{\"type\": {\"coding\": [{\"code\": \"MR\"}]}, \"value\": \"P-1\"}],\n \"name\": [{\"family\": \"Solo\"}]\n}\n",
			wantFormat: patients.ReadFHIRBundle, want: counts{Read: 1, Inserted: 1},
			wantStored: []stored{{"MRN", "P-1", "Solo", "", "", "", "", "", "", "", true, nil}},
		},
	}
	x, db := newIndex(t, patients.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reset(t, db)
			var rep patients.ImportReport
			if tc.file != "" {
				rep = importFile(t, x, tc.file, tc.format, tc.opt)
			} else {
				rep = importString(t, x, tc.input, tc.format, tc.opt)
			}
			if rep.Format != tc.wantFormat {
				t.Errorf("format %q, want %q", rep.Format, tc.wantFormat)
			}
			if got := countsOf(rep); got != tc.want {
				t.Errorf("report %+v, want %+v", got, tc.want)
			}
			if len(rep.Rejections) != len(tc.wantReject) {
				t.Errorf("rejections %v, want %v", rep.Rejections, tc.wantReject)
			}
			for i := 0; i < len(rep.Rejections) && i < len(tc.wantReject); i++ {
				if got := rep.Rejections[i].String(); !strings.HasPrefix(got, tc.wantReject[i]) {
					t.Errorf("rejection %d: %q, want %q...", i, got, tc.wantReject[i])
				}
			}
			if tc.wantWarn != nil && (len(rep.Warnings) != len(tc.wantWarn) || rep.Warned != len(tc.wantWarn)) {
				t.Errorf("warnings %v (%d), want %v", rep.Warnings, rep.Warned, tc.wantWarn)
			}
			for i := 0; i < len(rep.Warnings) && i < len(tc.wantWarn); i++ {
				if got := rep.Warnings[i].String(); !strings.HasPrefix(got, tc.wantWarn[i]) {
					t.Errorf("warning %d: %q, want %q...", i, got, tc.wantWarn[i])
				}
			}
			for _, want := range tc.wantStored {
				p := byMRN(t, x, want.Authority, want.MRN)
				if got := storedOf(p); !reflect.DeepEqual(got, want) {
					t.Errorf("stored\n got %+v\nwant %+v", got, want)
				}
			}
			var n int
			if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM patients`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != len(tc.wantStored) {
				t.Errorf("%d patients stored, want %d", n, len(tc.wantStored))
			}
		})
	}
}

// Rejection reasons name the line and the problem, never a value.
func TestImportRejectionsHoldNoPatientData(t *testing.T) {
	x, _ := newIndex(t, patients.Options{})
	values := []string{"Zebulon", "Quixote", "1911-11-11", "MRN4242", "Flibbertigibbet", "nonbinaryish", "31/31/1931"}
	input := "mrn,family,given,birth_date,sex\n" +
		"MRN4242,Quixote,Zebulon,31/31/1931,m\n" +
		"MRN4243,Quixote,Zebulon,1911-11-11,nonbinaryish\n" +
		",Flibbertigibbet,Zebulon,1911-11-11,m\n" +
		"MRN4245,Quixote,Zebulon\n" +
		"OK1,Fine,Row,,\n"
	rep := importString(t, x, input, patients.FormatAuto, patients.ImportOptions{})
	if rep.Rejected != 4 {
		t.Fatalf("rejected %d, want 4: %v", rep.Rejected, rep.Rejections)
	}
	for _, r := range rep.Rejections {
		for _, v := range values {
			if strings.Contains(r.String(), v) {
				t.Errorf("rejection %q repeats the value %q", r, v)
			}
		}
	}
}

func TestImportFails(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		format  patients.Format
		wantErr error  // errors.Is, or
		wantMsg string // substring
	}{
		{"empty input", "", patients.FormatAuto, patients.ErrNoPatients, ""},
		{"only white space", " \n\n", patients.FormatAuto, patients.ErrNoPatients, ""},
		{"header only", "mrn,family\n", patients.FormatAuto, patients.ErrNoPatients, "no patient records"},
		{"every row bad", "mrn,family,birth_date\n1,A,never\n,B,\n", patients.FormatAuto, patients.ErrNoPatients, "all 2 records were rejected"},
		{"no mrn column", "id,family\n1,A\n", patients.FormatCSV, nil, "must name the columns mrn and family"},
		{"FHIR with no Patient", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Organization"}}]}`, patients.FormatAuto, patients.ErrNoPatients, ""},
		{"FHIR that is not JSON", "{ not json at all", patients.FormatFHIR, nil, "read FHIR"},
		{"JSON array given as FHIR", `[{"resourceType":"Patient"}]`, patients.FormatFHIR, nil, "not a Bundle or Patient object"},
	}
	x, db := newIndex(t, patients.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reset(t, db)
			_, err := x.Import(context.Background(), strings.NewReader(tc.input), tc.format, patients.ImportOptions{})
			if err == nil {
				t.Fatal("import succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q, want it to say %q", err, tc.wantMsg)
			}
			var n int
			if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM patients`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d patients stored after a failed import", n)
			}
		})
	}
}

// Re-importing updates in place: changed records are updated, the others
// left alone (their updated_at does not move), new ones inserted.
func TestReimport(t *testing.T) {
	ctx := context.Background()
	x, _ := newIndex(t, patients.Options{})
	base := "mrn,family,given,birth_date,sex,phone\n" +
		"R1,Alpha,Ann,1950-01-01,f,555-0001\n" +
		"R2,Bravo,Bob,1960-02-02,m,555-0002\n" +
		"R3,Charlie,Cat,1970-03-03,f,\n" +
		"R4,Delta,Dan,,m,555-0004\n"
	first := importString(t, x, base, patients.FormatAuto, patients.ImportOptions{})
	if got := countsOf(first); got != (counts{Read: 4, Inserted: 4}) {
		t.Fatalf("first import %+v", got)
	}
	before := map[string]patients.Patient{}
	for _, m := range []string{"R1", "R2", "R3", "R4"} {
		before[m] = byMRN(t, x, "", m)
	}
	steps := []struct {
		name    string
		input   string
		want    counts
		changed []string // MRNs whose updated_at must move
	}{
		{"same file again", base, counts{Read: 4, Unchanged: 4}, nil},
		{"one phone changed", strings.Replace(base, "555-0002", "555-9999", 1), counts{Read: 4, Updated: 1, Unchanged: 3}, []string{"R2"}},
		{"a birth date added, a new patient, rows in another order",
			"mrn,phone,family,given,birth_date,sex\nR5,,Echo,Eve,1990-05-05,f\nR4,555-0004,Delta,Dan,1940-04-04,m\n" +
				"R3,,Charlie,Cat,1970-03-03,f\nR2,555-9999,Bravo,Bob,1960-02-02,m\nR1,555-0001,Alpha,Ann,1950-01-01,f\n",
			counts{Read: 5, Inserted: 1, Updated: 1, Unchanged: 3}, []string{"R4"}},
	}
	for _, st := range steps {
		rep := importString(t, x, st.input, patients.FormatAuto, patients.ImportOptions{})
		if got := countsOf(rep); got != st.want {
			t.Errorf("%s: report %+v, want %+v", st.name, got, st.want)
		}
		for m, old := range before {
			now := byMRN(t, x, "", m)
			moved := !now.UpdatedAt.Equal(old.UpdatedAt)
			if want := contains(st.changed, m); moved != want {
				t.Errorf("%s: %s updated_at moved %v, want %v", st.name, m, moved, want)
			}
			if now.ID != old.ID {
				t.Errorf("%s: %s changed ID %d → %d, want an update in place", st.name, m, old.ID, now.ID)
			}
			before[m] = now
		}
	}
	if p := byMRN(t, x, "", "R2"); p.Phone != "555-9999" {
		t.Errorf("R2 phone %q after update", p.Phone)
	}
	if p := byMRN(t, x, "", "R4"); p.BirthDate != date("1940-04-04") {
		t.Errorf("R4 birth date %v after update", p.BirthDate)
	}

	// A merged record stays merged and inactive when the file lists it again.
	testMust(t, x.Merge(ctx, patients.PatientRef{MRN: "R1"}, patients.PatientRef{MRN: "R2"}, "test"))
	rep := importString(t, x, base, patients.FormatAuto, patients.ImportOptions{})
	// R2's phone and R4's birth date go back; R1 is unchanged although the file says active.
	if got := countsOf(rep); got != (counts{Read: 4, Updated: 2, Unchanged: 2}) {
		t.Errorf("re-import after merge: %+v, want 2 updated, 2 unchanged", got)
	}
	if p := byMRN(t, x, "", "R1"); p.Active || p.MergedInto == nil {
		t.Errorf("merged R1 after re-import: active %v merged_into %v", p.Active, p.MergedInto)
	}
}

// FHIR re-import: a change of other identifiers alone is an update.
func TestReimportFHIRIdentifiers(t *testing.T) {
	x, _ := newIndex(t, patients.Options{})
	res := func(mrn, ssn string) string {
		ids := fmt.Sprintf(`{"type":{"coding":[{"code":"MR"}]},"value":%q}`, mrn)
		if ssn != "" {
			ids += fmt.Sprintf(`,{"system":"http://hl7.org/fhir/sid/us-ssn","value":%q}`, ssn)
		}
		return fmt.Sprintf(`{"resourceType":"Patient","identifier":[%s],"name":[{"family":"Fam%s"}]}`, ids, mrn)
	}
	steps := []struct {
		name  string
		lines []string
		want  counts
		ssn   map[string]string // MRN → SSN stored ("" none)
	}{
		{"first", []string{res("A", "111"), res("B", "")}, counts{Read: 2, Inserted: 2}, map[string]string{"A": "111", "B": ""}},
		{"again", []string{res("A", "111"), res("B", "")}, counts{Read: 2, Unchanged: 2}, map[string]string{"A": "111", "B": ""}},
		{"identifier added", []string{res("A", "111"), res("B", "222")}, counts{Read: 2, Updated: 1, Unchanged: 1}, map[string]string{"A": "111", "B": "222"}},
		{"identifier changed", []string{res("A", "333"), res("B", "222")}, counts{Read: 2, Updated: 1, Unchanged: 1}, map[string]string{"A": "333", "B": "222"}},
		{"identifier removed", []string{res("A", ""), res("B", "222")}, counts{Read: 2, Updated: 1, Unchanged: 1}, map[string]string{"A": "", "B": "222"}},
	}
	for _, st := range steps {
		rep := importString(t, x, strings.Join(st.lines, "\n")+"\n", patients.FormatAuto, patients.ImportOptions{})
		if got := countsOf(rep); got != st.want {
			t.Errorf("%s: %+v, want %+v", st.name, got, st.want)
		}
		for mrn, ssn := range st.ssn {
			p := byMRN(t, x, "", mrn)
			var got string
			for _, id := range p.Identifiers {
				got = id.Value
			}
			if got != ssn || len(p.Identifiers) > 1 {
				t.Errorf("%s: %s identifiers %v, want SSN %q", st.name, mrn, p.Identifiers, ssn)
			}
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]patients.Format{"": patients.FormatAuto, "auto": patients.FormatAuto,
		"CSV": patients.FormatCSV, "fhir": patients.FormatFHIR, "ndjson": patients.FormatFHIR} {
		if got, err := patients.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := patients.ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) succeeded")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func testMust(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
