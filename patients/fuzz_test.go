package patients

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzMarker is a name in the seeds: a rejection's reason must never
// repeat it (reasons name fields, never their values).
const fuzzMarker = "Zyxwvutsr"

// FuzzImportParse reads any input as an import file, CSV or FHIR, the way
// Import does up to the database: no panic, no endless loop, every record
// it keeps has an MRN and clean fields within their limits, and no
// rejection quotes the input.
func FuzzImportParse(f *testing.F) {
	for _, name := range []string{"patients.csv", "patients.ndjson", "bundle.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	for _, s := range []string{
		"mrn,family,given,birth_date,sex\n1," + fuzzMarker + ",Ann,1961-04-12,f\n2,\"bad\"quote,x,,\n3,a,b,13/45/2000,x\n,Nomrn,,,\n",
		"\xef\xbb\xbfMRN , Family\n00410001," + fuzzMarker + "\n00410002\n",
		`{"resourceType":"Patient","identifier":[{"type":{"coding":[{"code":"MR"}]},"value":"1"},{"system":"s","value":"v"}],` +
			`"name":[{"text":"Ann ` + fuzzMarker + `"}],"birthDate":"1961-04-12","gender":"female","telecom":[{"system":"phone","value":"1"}]}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","identifier":[{"type":{"coding":[{"code":"MR"}]},"value":"2","use":"old"}],` +
			`"name":[{"family":"` + fuzzMarker + `","given":["A"]}],"birthDate":"1961-13"}},{"resource":{"resourceType":"Observation"}},{"x":1},7]}`,
		`{"resourceType":"Patient","identifier":[{"type":{"coding":[{"code":"MR"}]},"value":"1"}],"name":{"family":1}}`,
		"{\"resourceType\":\"Patient\"}\n{\"resourceType\":\"Patient\",\"identifier\":[{\"type\":{\"coding\":[{\"code\":\"MR\"}]},\"value\":\"\\u0000\"}]}\n{",
		"{", "mrn", "", " \n\t",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Add([]byte("mrn,family\n1,x\n"), uint8(1))
	f.Add([]byte(`{"resourceType":"Patient"}`), uint8(2))
	formats := []Format{FormatAuto, FormatCSV, FormatFHIR}
	f.Fuzz(func(t *testing.T, input []byte, format uint8) {
		opt := ImportOptions{Authority: DefaultAuthority, MRNSystem: "urn:mrn"}
		_, src, err := openSource(bytes.NewReader(input), formats[int(format)%len(formats)], opt)
		if err != nil {
			return
		}
		// Each call reads at least one byte, or ends.
		for n := 0; n <= len(input)+1; n++ {
			rec, rej, err := src.next()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			if rej != nil {
				if bytes.Contains(input, []byte(fuzzMarker)) && strings.Contains(rej.Reason, fuzzMarker) {
					t.Fatalf("a rejection quotes the input: %q", rej.Reason)
				}
				continue
			}
			checkRecord(t, rec)
		}
		t.Fatalf("more records than bytes in the input (%d): the source does not move on", len(input))
	})
}

// checkRecord fails unless rec is what check lets through.
func checkRecord(t *testing.T, rec record) {
	t.Helper()
	if rec.mrn == "" {
		t.Fatal("a record without an MRN was kept")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"mrn", rec.mrn, maxMRN}, {"family", rec.family, maxName}, {"given", rec.given, maxName},
		{"address", rec.address, maxOther}, {"city", rec.city, maxName}, {"postal", rec.postal, maxName},
		{"phone", rec.tel, maxName}, {"authority", rec.authority, maxOther},
	} {
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) || utf8.RuneCountInString(f.v) > f.max ||
			f.v != strings.Join(strings.Fields(f.v), " ") {
			t.Fatalf("%s %q kept unclean", f.name, f.v)
		}
	}
	for _, id := range rec.idents {
		if id.System == "" || id.Value == "" || !utf8.ValidString(id.System+id.Value) {
			t.Fatalf("identifier %q|%q kept", id.System, id.Value)
		}
	}
	switch rec.sex {
	case "", SexMale, SexFemale, SexOther, SexUnknown:
	default:
		t.Fatalf("sex %q kept", rec.sex)
	}
}
