package patients

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"paperchart/chart"
	"paperchart/internal/testenv"
)

// Synthetic patients for the scale tests, each a pure function of its number.
var (
	commonFamilies = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
		Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
		Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
		Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Kowalski Schmidt Murphy`)
	syllables = strings.Fields(`bar ber bran cal cor dan del dor fen gar gil hal har kel kin lan lor mar
		mel mon nor pal per ran ril sal sen tor val ven wil wyn ston ley ford ton son man berg field`)
	givens = strings.Fields(`James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William
		Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew
		Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle
		Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca
		Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan
		Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine`)
)

type synthPatient struct {
	mrn, family, given, sex string
	birth                   chart.Date
}

func synth(i int) synthPatient {
	r := rand.New(rand.NewPCG(20261122, uint64(i)))
	var fam string
	if r.IntN(10) < 3 {
		fam = commonFamilies[r.IntN(len(commonFamilies))]
	} else {
		n := 2 + r.IntN(2)
		for j := 0; j < n; j++ {
			fam += syllables[r.IntN(len(syllables))]
		}
		fam = strings.ToUpper(fam[:1]) + fam[1:]
	}
	d := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(90*365))
	sex := SexFemale
	if r.IntN(2) == 0 {
		sex = SexMale
	}
	return synthPatient{
		mrn:    fmt.Sprintf("%08d", 1000+i*37),
		family: fam, given: givens[r.IntN(len(givens))], sex: sex, birth: chart.DateOf(d),
	}
}

// synthCSV streams n synthetic patients as CSV; the phone of every
// patient whose number is a multiple of changeEvery (if positive) differs.
func synthCSV(n, changeEvery int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		fmt.Fprintln(w, "mrn,family,given,birth_date,sex,address,city,postal_code,phone")
		for i := 0; i < n; i++ {
			p := synth(i)
			phone := fmt.Sprintf("555-%04d", i%10000)
			if changeEvery > 0 && i%changeEvery == 0 {
				phone = "555-CHANGED"
			}
			fmt.Fprintf(w, "%s,%s,%s,%s,%s,%d Main St,Springfield,%05d,%s\n", p.mrn, p.family, p.given, p.birth, p.sex, i%999+1, i%99999, phone)
		}
		pw.CloseWithError(w.Flush())
	}()
	return pr
}

// TestScale100k imports 100,000 patients, re-imports them with some
// changed, and checks that candidate search finds the right patient for
// queries with typos, swapped dates and OCR-confused MRNs, and that it uses
// the indexes. It logs the times; it asserts none.
func TestScale100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 patients: skipped with -short")
	}
	ctx := context.Background()
	db := testenv.DB(t)
	x := New(db.Pool(), Options{Log: slog.New(slog.DiscardHandler)})
	const n = 100_000

	rep, err := x.Import(ctx, synthCSV(n, 0), FormatAuto, ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if rep.Inserted != n || rep.Rejected != 0 {
		t.Fatalf("import: %+v", rep)
	}
	t.Logf("import of %d new patients (CSV): %v (%.0f patients/s)", n, rep.Elapsed.Round(time.Millisecond), n/rep.Elapsed.Seconds())

	rep, err = x.Import(ctx, synthCSV(n, 100), FormatAuto, ImportOptions{})
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	if rep.Updated != n/100 || rep.Unchanged != n-n/100 || rep.Inserted != 0 {
		t.Fatalf("re-import: %+v", rep)
	}
	t.Logf("re-import of %d patients, %d changed: %v", n, rep.Updated, rep.Elapsed.Round(time.Millisecond))

	if _, err := db.Pool().Exec(ctx, `ANALYZE patients`); err != nil {
		t.Fatal(err)
	}

	// The indexes serve the search.
	sql, args, err := candidateQuery(Query{MRN: "0OO1234", Family: "Smiht", Given: "Jon", BirthDate: chart.Date{Year: 1950, Month: 3, Day: 4}}, 20)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	rows, err := db.Pool().Query(ctx, "EXPLAIN "+sql, args)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for _, idx := range []string{"patients_mrn_key", "patients_birth_date", "patients_family_trgm", "patients_family_dmetaphone", "patients_given_trgm"} {
		if !strings.Contains(strings.Join(plan, "\n"), idx) {
			t.Errorf("the candidate query does not use %s:\n%s", idx, strings.Join(plan, "\n"))
		}
	}

	kinds := []struct {
		name  string
		query func(p synthPatient, r *rand.Rand) Query
	}{
		{"family typo (letters swapped) + given + birth date", func(p synthPatient, r *rand.Rand) Query {
			return Query{Family: transpose(p.family, r), Given: p.given, BirthDate: p.birth}
		}},
		{"family and given typos + birth date day/month swapped", func(p synthPatient, r *rand.Rand) Query {
			d, ok := p.birth.Swapped()
			if !ok {
				d = p.birth
			}
			return Query{Family: drop(p.family, r), Given: transpose(p.given, r), BirthDate: d}
		}},
		{"MRN as OCR misread it, leading zeros lost", func(p synthPatient, r *rand.Rand) Query {
			return Query{MRN: ocrMangle(strings.TrimLeft(p.mrn, "0"))}
		}},
		{"MRN misread + family typo", func(p synthPatient, r *rand.Rand) Query {
			return Query{MRN: ocrMangle(p.mrn), Family: drop(p.family, r)}
		}},
		{"names swapped + birth date", func(p synthPatient, r *rand.Rand) Query {
			return Query{Family: p.given, Given: p.family, BirthDate: p.birth}
		}},
	}
	r := rand.New(rand.NewPCG(7, 7))
	const perKind = 60
	for _, k := range kinds {
		var times []time.Duration
		found, first := 0, 0
		for j := 0; j < perKind; j++ {
			i := r.IntN(n)
			p := synth(i)
			q := k.query(p, r)
			start := time.Now()
			cs, err := x.Candidates(ctx, q, 20)
			times = append(times, time.Since(start))
			if err != nil {
				t.Fatalf("%s: %v", k.name, err)
			}
			pos := slices.IndexFunc(cs, func(c Patient) bool { return c.MRN == p.mrn })
			if pos < 0 {
				t.Errorf("%s: patient %d not among %d candidates", k.name, i, len(cs))
				continue
			}
			found++
			if pos == 0 {
				first++
			}
		}
		slices.Sort(times)
		t.Logf("%s: right patient among candidates %d/%d, first %d/%d; query median %v, p95 %v, max %v",
			k.name, found, perKind, first, perKind, times[len(times)/2].Round(time.Microsecond),
			times[len(times)*95/100].Round(time.Microsecond), times[len(times)-1].Round(time.Microsecond))
	}

}

// BenchmarkImport100k measures importing 100,000 new patients, from CSV
// and from FHIR NDJSON (run: go test -run - -bench Import100k -benchtime 1x).
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	db := testenv.DB(b)
	x := New(db.Pool(), Options{Log: slog.New(slog.DiscardHandler)})
	for _, f := range []string{"csv", "ndjson"} {
		b.Run(f, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				auth := fmt.Sprintf("bench-%s-%d", f, i)
				in := synthCSV(n, 0)
				if f == "ndjson" {
					in = synthNDJSON(n, auth)
				}
				rep, err := x.Import(ctx, in, FormatAuto, ImportOptions{Authority: auth})
				if err != nil || rep.Inserted != n {
					b.Fatalf("import: %v %+v", err, rep)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "patients/s")
		})
	}
}

// synthNDJSON streams n synthetic patients as FHIR NDJSON, each with an
// MR identifier in the system and a second identifier.
func synthNDJSON(n int, system string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		for i := 0; i < n; i++ {
			p := synth(i)
			fmt.Fprintf(w, `{"resourceType":"Patient","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":%q,"value":%q},{"system":"urn:example:ssn","value":"%09d"}],"name":[{"use":"official","family":%q,"given":[%q]}],"gender":%q,"birthDate":%q,"address":[{"use":"home","line":["%d Main St"],"city":"Springfield","postalCode":"%05d"}],"telecom":[{"system":"phone","use":"home","value":"555-%04d"}]}`+"\n",
				system, p.mrn, i, p.family, p.given, p.sex, p.birth.String(), i%999+1, i%99999, i%10000)
		}
		pw.CloseWithError(w.Flush())
	}()
	return pr
}

// transpose swaps two adjacent letters.
func transpose(s string, r *rand.Rand) string {
	if len(s) < 3 {
		return s
	}
	b := []byte(s)
	i := 1 + r.IntN(len(b)-2)
	b[i], b[i+1] = b[i+1], b[i]
	return string(b)
}

// drop leaves out one letter (not the first).
func drop(s string, r *rand.Rand) string {
	if len(s) < 4 {
		return s
	}
	i := 1 + r.IntN(len(s)-1)
	return s[:i] + s[i+1:]
}

// ocrMangle misreads digits as the letters OCR confuses them with.
func ocrMangle(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= '0' && c <= '9' {
			b[i], _ = chart.LetterFor(c)
		}
	}
	return string(b)
}
