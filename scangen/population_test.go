package scangen

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"paperchart/chart"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// distractorChecks say, for each kind of hard case, how it must resemble
// its original; each returns what is wrong, or "".
var distractorChecks = map[string]func(p, o Patient) string{
	distractorTwin: func(p, o Patient) string {
		if p.Family != o.Family || !p.BirthDate.Equal(o.BirthDate) || p.Given == o.Given || !sameHome(p, o) {
			return "not a twin"
		}
		return ""
	},
	distractorSameName: func(p, o Patient) string {
		if p.Family != o.Family || p.Given != o.Given || p.BirthDate.Equal(o.BirthDate) {
			return "not the same name with another birth date"
		}
		return ""
	},
	distractorParentChild: func(p, o Patient) string {
		years := p.BirthDate.Year() - o.BirthDate.Year()
		if p.Family != o.Family || p.Given != o.Given || !sameHome(p, o) || abs(years) < 18 || abs(years) > 40 {
			return fmt.Sprintf("not a parent or child (%d years apart)", years)
		}
		return ""
	},
	distractorSimilarName: func(p, o Patient) string {
		df, dg := chart.EditsString(strings.ToUpper(p.Family), strings.ToUpper(o.Family), -1, false), chart.EditsString(strings.ToUpper(p.Given), strings.ToUpper(o.Given), -1, false)
		if !p.BirthDate.Equal(o.BirthDate) || df+dg != 1 {
			return fmt.Sprintf("not one letter off with the same birth date (distances %d, %d)", df, dg)
		}
		return ""
	},
	distractorNearMRN: func(p, o Patient) string {
		if !nearMRNs(p.MRN, o.MRN) {
			return "MRN not one digit or one swap away"
		}
		return ""
	},
}

func sameHome(p, o Patient) bool {
	return p.Address == o.Address && p.City == o.City && p.PostalCode == o.PostalCode && p.Phone == o.Phone
}

func abs(n int) int { return max(n, -n) }

// nearMRNs reports whether two MRNs of the same length differ in one digit
// or by two neighbouring digits swapped.
func nearMRNs(a, b string) bool {
	if len(a) != len(b) || a == b {
		return false
	}
	var diff []int
	for i := range len(a) {
		if a[i] != b[i] {
			diff = append(diff, i)
		}
	}
	switch len(diff) {
	case 1:
		return true
	case 2:
		i, j := diff[0], diff[1]
		return j == i+1 && a[i] == b[j] && a[j] == b[i]
	}
	return false
}

var (
	mrnPattern    = regexp.MustCompile(`^[0-9]{8}$`)
	postalPattern = regexp.MustCompile(`^[0-9]{5}$`)
	phonePattern  = regexp.MustCompile(`^\([2-9][0-9]{2}\) 555-01[0-9]{2}$`)
	namePattern   = regexp.MustCompile(`^[A-Z][a-z]+( [A-Z][a-z]+)?$`)
)

func TestPopulation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n          int
		wantHard   int  // distractors
		everyKind  bool // each kind at least once
		checkShare bool // share within 10-15%
	}{
		{n: -1},
		{n: 0},
		{n: 1},
		{n: 7},
		{n: 8, wantHard: 1},
		{n: 40, wantHard: 5, everyKind: true, checkShare: true},
		{n: 1000, wantHard: 125, everyKind: true, checkShare: true},
		{n: 5000, wantHard: 625, everyKind: true, checkShare: true},
	}
	minBirth := time.Date(populationMinBirth, 1, 1, 0, 0, 0, 0, time.UTC)
	maxBirth := time.Date(populationMaxBirth, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			ps, hard := population(42, tt.n)
			if len(ps) != max(0, tt.n) || len(hard) != tt.wantHard {
				t.Fatalf("%d patients, %d hard cases; want %d, %d", len(ps), len(hard), max(0, tt.n), tt.wantHard)
			}
			if !reflect.DeepEqual(ps, Population(42, tt.n)) {
				t.Error("Population differs from population with the same seed")
			}
			byMRN := map[string]Patient{}
			leadingZero := false
			for _, p := range ps {
				if !mrnPattern.MatchString(p.MRN) {
					t.Errorf("MRN %q is not 8 digits", p.MRN)
				}
				if _, dup := byMRN[p.MRN]; dup {
					t.Errorf("MRN %s given twice", p.MRN)
				}
				byMRN[p.MRN] = p
				leadingZero = leadingZero || p.MRN[0] == '0'
				if !namePattern.MatchString(p.Family) || !namePattern.MatchString(p.Given) {
					t.Errorf("%s: name %q %q", p.MRN, p.Family, p.Given)
				}
				if p.Sex != "F" && p.Sex != "M" {
					t.Errorf("%s: sex %q", p.MRN, p.Sex)
				}
				if p.BirthDate.Before(minBirth) || p.BirthDate.After(maxBirth) || p.BirthDate.Location() != time.UTC ||
					p.BirthDate.Truncate(24*time.Hour) != p.BirthDate {
					t.Errorf("%s: birth date %v", p.MRN, p.BirthDate)
				}
				if p.Address == "" || p.City == "" || !postalPattern.MatchString(p.PostalCode) || !phonePattern.MatchString(p.Phone) {
					t.Errorf("%s: home %q, %q, %q, %q", p.MRN, p.Address, p.City, p.PostalCode, p.Phone)
				}
			}
			if tt.n >= 1000 && !leadingZero {
				t.Error("no MRN with a leading zero")
			}

			kinds := map[string]int{}
			hardMRN := map[string]bool{}
			lastHard := 0
			for _, d := range hard {
				p, ok1 := byMRN[d.mrn]
				o, ok2 := byMRN[d.of]
				if !ok1 || !ok2 {
					t.Fatalf("hard case %+v names a patient not in the population", d)
				}
				check, ok := distractorChecks[d.kind]
				if !ok {
					t.Fatalf("unknown kind %q", d.kind)
				}
				if why := check(p, o); why != "" {
					t.Errorf("%s %s of %s: %s:\n%+v\n%+v", d.kind, d.mrn, d.of, why, p, o)
				}
				if p.MRN == o.MRN {
					t.Errorf("%s shares the MRN of its original", d.kind)
				}
				kinds[d.kind]++
				hardMRN[d.mrn] = true
			}
			for i, p := range ps {
				if hardMRN[p.MRN] {
					lastHard = i
				}
			}
			if len(hard) > 4 && lastHard < len(ps)/2 {
				t.Errorf("hard cases are not spread through the population (last at %d of %d)", lastHard, len(ps))
			}
			for _, k := range distractorKinds {
				if c := kinds[k]; c > len(hard)/len(distractorKinds)+1 || c < len(hard)/len(distractorKinds) || (tt.everyKind && c == 0) {
					t.Errorf("%d hard cases of kind %s: %v", c, k, kinds)
				}
			}
			if share := float64(len(hard)) / float64(max(1, tt.n)); tt.checkShare && (share < 0.10 || share > 0.15) {
				t.Errorf("%.3f of the population are hard cases", share)
			}
		})
	}
}

func TestPopulationSeeds(t *testing.T) {
	a, b := Population(1, 200), Population(2, 200)
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 1 and 2 give %d identical patients", same)
	}
	if !reflect.DeepEqual(Population(1, 50), Population(1, 50)) {
		t.Error("same seed, different population")
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for a population larger than PopulationMax")
		}
	}()
	Population(1, PopulationMax+1)
}

func TestOneLetterOffAndNearMRN(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	for _, name := range []string{"Lee", "Cox", "Kowalczyk", "Mary Ann", "Amy"} {
		for range 200 {
			got := oneLetterOff(r, name)
			if d := chart.EditsString(strings.ToUpper(got), strings.ToUpper(name), -1, false); d != 1 || got[0] != name[0] || !namePattern.MatchString(got) {
				t.Fatalf("oneLetterOff(%q) = %q (distance %d)", name, got, d)
			}
		}
	}
	used := map[string]bool{"00000000": true, "12345678": true}
	for _, mrn := range []string{"00000000", "12345678", "11111112"} {
		for range 200 {
			if got := nearMRN(r, mrn, used); !nearMRNs(got, mrn) || used[got] {
				t.Fatalf("nearMRN(%q) = %q", mrn, got)
			}
		}
	}
}

func TestWritePatientsCSV(t *testing.T) {
	tests := []struct {
		name string
		in   []Patient
		want [][]string // rows after the header
	}{
		{"none", nil, nil},
		{
			"quoting, sex and missing birth date",
			[]Patient{
				{MRN: "00012345", Family: "Doe", Given: "Jane", BirthDate: time.Date(1958, 3, 14, 0, 0, 0, 0, time.UTC), Sex: "F",
					Address: "12 Elm Street, Apt 3", City: "Millbrook", PostalCode: "44012", Phone: "(614) 555-0101"},
				{MRN: "A-7", Family: `Say "Hi"`, Given: "Al", Sex: "m"},
				{MRN: "9", Family: "Roe", Sex: "X"},
			},
			[][]string{
				{"00012345", "Doe", "Jane", "1958-03-14", "female", "12 Elm Street, Apt 3", "Millbrook", "44012", "(614) 555-0101"},
				{"A-7", `Say "Hi"`, "Al", "", "male", "", "", "", ""},
				{"9", "Roe", "", "", "", "", "", "", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WritePatientsCSV(&buf, tt.in); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 || strings.Join(rows[0], ",") != PatientsCSVHeader {
				t.Fatalf("header %v", rows)
			}
			if !reflect.DeepEqual(rows[1:], tt.want) && len(rows[1:])+len(tt.want) > 0 {
				t.Errorf("rows\n%q\nwant\n%q", rows[1:], tt.want)
			}
		})
	}
}

// TestPopulationCSVRoundTrip writes a population and reads it back.
func TestPopulationCSVRoundTrip(t *testing.T) {
	ps := Population(9, 500)
	var buf bytes.Buffer
	if err := WritePatientsCSV(&buf, ps); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), PatientsCSVHeader+"\n") {
		t.Fatalf("the file starts %q", buf.String()[:80])
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ps)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(ps)+1)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, row := range rows[1:] {
		birth, err := time.Parse(time.DateOnly, row[col["birth_date"]])
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		sex := map[string]string{"female": "F", "male": "M"}[row[col["sex"]]]
		got := Patient{MRN: row[col["mrn"]], Family: row[col["family"]], Given: row[col["given"]], BirthDate: birth, Sex: sex,
			Address: row[col["address"]], City: row[col["city"]], PostalCode: row[col["postal_code"]], Phone: row[col["phone"]]}
		if got != ps[i] {
			t.Errorf("row %d reads back as\n%+v\nwant\n%+v", i+1, got, ps[i])
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWritePatientsCSVError(t *testing.T) {
	full := errors.New("disk full")
	err := WritePatientsCSV(failingWriter{full}, Population(1, 3))
	if !errors.Is(err, full) {
		t.Errorf("err = %v, want it to wrap %v", err, full)
	}
}
