package main

import (
	"flag"
	"io"
	"os"
	"testing"
)

// TestEnvEmptyMeansEmpty: a PAPERCHART_* variable set to nothing is an
// empty setting, not the default; one not set at all is the default.
func TestEnvEmptyMeansEmpty(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   bool
		value string
		addr  string
	}{
		{"unset", false, "", "127.0.0.1:2575"},
		{"empty", true, "", ""},
		{"given", true, "0.0.0.0:2576", "0.0.0.0:2576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.set {
				t.Setenv("PAPERCHART_HL7_ADDR", tc.value)
			} else {
				t.Setenv("PAPERCHART_HL7_ADDR", "x")
				unsetenv(t, "PAPERCHART_HL7_ADDR")
			}
			t.Setenv("PAPERCHART_HL7_MAX_BYTES", "") // a number: empty is unset
			var h hl7Config
			fs := flag.NewFlagSet("hl7", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			h.register(fs, &config{})
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			if h.Addr != tc.addr {
				t.Errorf("hl7 address %q, want %q", h.Addr, tc.addr)
			}
			if h.MaxBytes <= 0 {
				t.Errorf("an empty PAPERCHART_HL7_MAX_BYTES gave %d, want the default", h.MaxBytes)
			}
		})
	}
}

// unsetenv removes name for the rest of the test (t.Setenv first, so that
// it is put back after).
func unsetenv(t *testing.T, name string) {
	t.Helper()
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}
