package extract_test

import (
	"strings"
	"testing"
	"time"

	"paperchart/chart"
	"paperchart/extract"
)

// FuzzPage reads any OCR text: no panic, and what it finds is well formed:
// MRNs not empty and of digits when padded, names upper case, dates real
// calendar dates, birth dates not after today, confidences in [0, 1],
// lines on the page, and the same answer twice.
func FuzzPage(f *testing.F) {
	for _, s := range []string{
		"GENERAL HOSPITAL\nPatient: HARTMANN, Greta M\nMRN: 00410001\nDOB: 04/12/1961\nDate of Service: 02/14/2026\n",
		"Patlent Name: Smith, John\nMed Rec #: O0I23456\nD0B: 1961-04-12\n",
		"Re: Ann Lee (DOB 3 April 1962)\nMR# 12345678 Phone 555-0100\nPage 1 of 2",
		"Name: ÉLODIE D'ARCY-ÖSTERGÅRD\nDOB: 31/12/99\nCollected: 2026-02-30\n",
		"MRN:\nMRN: MRN: 1\nDOB: 00/00/0000\n\x00\xff\xfe",
		"Date: Feb 29, 2025\nDOB: 2/29/2024\nMRN 9999999999999999999999\n",
		strings.Repeat("Patient: A B C D E F G H\n", 40),
		"",
	} {
		f.Add(s)
	}
	today := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	plain, err := extract.New(extract.Config{Today: today})
	if err != nil {
		f.Fatal(err)
	}
	padded, err := extract.New(extract.Config{Today: today, MRNWidth: 8, MRNPatterns: []string{`([A-Z][0-9]{5,9})\b`, `([0-9]{6,10})\b`}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		lines := strings.Count(text, "\n") + 1
		for _, x := range []*extract.Extractor{plain, padded} {
			got := x.Page(text)
			checkFound(t, got, lines, chart.DateOf(today))
			if again := x.Page(text); !sameFound(got, again) {
				t.Fatalf("two reads of one text differ")
			}
			checkFound(t, x.Document([]string{text, text}), lines, chart.DateOf(today))
		}
	})
}

func checkFound(t *testing.T, got extract.Found, lines int, today chart.Date) {
	t.Helper()
	for _, c := range got.MRNs {
		if c.Value == "" || c.Confidence < 0 || c.Confidence > 1 || c.Line < 0 || c.Line >= lines {
			t.Fatalf("MRN candidate %+v", c)
		}
	}
	for _, n := range got.Names {
		if n.Family == "" && n.Given == "" {
			t.Fatalf("an empty name %+v", n)
		}
		for _, p := range []string{n.Family, n.Given, n.Middle} {
			if strings.ToUpper(p) != p {
				t.Fatalf("name part %q is not upper case", p)
			}
		}
		if n.Confidence < 0 || n.Confidence > 1 || n.Line < 0 || n.Line >= lines {
			t.Fatalf("name %+v", n)
		}
	}
	check := func(what string, ds []extract.DateCand) {
		for _, d := range ds {
			if d.IsZero() || chart.DateOf(d.Time()) != d.Date || d.Confidence < 0 || d.Confidence > 1 || d.Line < 0 || d.Line >= lines {
				t.Fatalf("%s %+v", what, d)
			}
		}
	}
	check("birth date", got.BirthDates)
	check("service date", got.ServiceDates)
	for _, d := range got.BirthDates {
		if today.Before(d.Date) {
			t.Fatalf("birth date %v after today", d.Date)
		}
	}
}

func sameFound(a, b extract.Found) bool {
	if len(a.MRNs) != len(b.MRNs) || len(a.Names) != len(b.Names) || len(a.BirthDates) != len(b.BirthDates) ||
		len(a.ServiceDates) != len(b.ServiceDates) || a.Facility != b.Facility {
		return false
	}
	for i := range a.MRNs {
		if a.MRNs[i] != b.MRNs[i] {
			return false
		}
	}
	for i := range a.Names {
		if a.Names[i] != b.Names[i] {
			return false
		}
	}
	return true
}
