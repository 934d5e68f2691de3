package review

import (
	"strings"
	"testing"

	"paperchart/chart"
	"paperchart/patients"
)

func render(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		if s.Kind != "" {
			b.WriteString("[" + s.Kind + ":" + s.Text + "]")
		} else {
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

func TestHighlight(t *testing.T) {
	ids := chart.Identifiers{MRN: "00410001", Family: "HARTMANN", Given: "ELISE", BirthDate: chart.Date{Year: 1961, Month: 4, Day: 12}, ServiceDate: chart.Date{Year: 2024, Month: 3, Day: 14}}
	tests := []struct{ text, want string }{
		{"Patient: HARTMANN, ELISE\nMRN: 00410001\nDOB: 04/12/1961\nDate of Service: 03/14/2024",
			"Patient: [name:HARTMANN], [name:ELISE]\nMRN: [mrn:00410001]\nDOB: [birth:04/12/1961]\nDate of Service: [service:03/14/2024]"},
		// OCR damage: letters for digits, leading zeros lost, other case.
		{"MRN O04l0OO1 and 410001; Hartmann", "MRN [mrn:O04l0OO1] and [mrn:410001]; [name:Hartmann]"},
		// Dates in other written forms; not inside longer numbers.
		{"born 1961-04-12, seen April 12, 1961 / 4/12/61 / 12 Apr 1961", "born [birth:1961-04-12], seen [birth:April 12, 1961] / [birth:4/12/61] / [birth:12 Apr 1961]"},
		{"ref 1004104000011 HARTMANNS ELISEE", "ref 1004104000011 HARTMANNS ELISEE"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := render(highlight(tc.text, ids)); got != tc.want {
			t.Errorf("highlight(%q)\n got %q\nwant %q", tc.text, got, tc.want)
		}
	}
	// Nothing read: the text as it is.
	if got := render(highlight("MRN: 00410001", chart.Identifiers{})); got != "MRN: 00410001" {
		t.Errorf("without identifiers: %q", got)
	}
	// Regular-expression characters in a name are literal.
	if got := render(highlight("O'BRIEN (A.) X", chart.Identifiers{Family: "O'BRIEN", Given: "(A.)"})); got != "[name:O'BRIEN] [name:(A.)] X" {
		t.Errorf("quoted name: %q", got)
	}
}

func TestParseSearch(t *testing.T) {
	date := func(s string) chart.Date {
		d, err := chart.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		in   string
		want patients.Query
	}{
		{"00410001", patients.Query{MRN: "00410001"}},
		{"O04l0OO1", patients.Query{MRN: "O04l0OO1"}},
		{"HARTMANN, ELISE", patients.Query{Family: "HARTMANN", Given: "ELISE"}},
		{"HARTMANN,ELISE 04/12/1961", patients.Query{Family: "HARTMANN", Given: "ELISE", BirthDate: date("1961-04-12")}},
		{"Elise Hartmann", patients.Query{Family: "Hartmann", Given: "Elise"}},
		{"nguyen 1990-02-27", patients.Query{Family: "nguyen", BirthDate: date("1990-02-27")}},
		{"  ", patients.Query{}},
	}
	for _, tc := range tests {
		got, err := parseSearch(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSearch(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"31/31/1990", "1990-13-01", strings.Repeat("x", 300)} {
		if _, err := parseSearch(bad); err == nil {
			t.Errorf("parseSearch(%q) accepted", bad)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/review/doc/3?reason=type": "/review/doc/3?reason=type",
		"":                          "/review/",
		"https://evil.example/":     "/review/",
		"//evil.example/review/":    "/review/",
		"/api/documents/1":          "/review/",
		"/review/login?next=/x":     "/review/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
