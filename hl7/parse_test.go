package hl7

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"paperchart/chart"
	"paperchart/patients"
)

// msg joins segments with carriage returns.
func msg(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

const testMSH = `MSH|^~\&|REG|HOSP|PAPERCHART|HOSP|20260101120000||ADT^A08^ADT_A01|C1|P|2.5.1`

func mustParse(t *testing.T, b []byte) *Message {
	t.Helper()
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

func TestParseValues(t *testing.T) {
	m := mustParse(t, msg(testMSH,
		`PID|1||123^^^HOSP&1.2.3&ISO^MR~999-88-7777^^^SSA^SS||O'Neil\S\Smith^Mary Ann^B~Smith^Mary^^^^^M||19800102|F|||1 Main St^Apt 2^Springfield^IL^62701^^H~PO Box 5^^Springfield^IL^62705^^M||^PRN^PH^^1^217^5550100~^NET^Internet^m@example.org`,
		`NTE|1||line one\.br\line two \F\ pipe \R\ tilde \E\ backslash \T\ amp \X41C3A9\ \H\bold\N\ \Z99\ \Xzz\`,
		`ZZZ`))
	pid, ok := m.Segment("PID")
	if !ok {
		t.Fatal("no PID")
	}
	nte, _ := m.Segment("NTE")
	zzz, _ := m.Segment("ZZZ")
	code, event, structure := m.Type()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"MSH-1", m.Header().Field(1).String(), "|"},
		{"MSH-2", m.Header().Field(2).String(), `^~\&`},
		{"MSH-3", m.Header().Field(3).String(), "REG"},
		{"MSH-9.1", code, "ADT"},
		{"MSH-9.2", event, "A08"},
		{"MSH-9.3", structure, "ADT_A01"},
		{"MSH-10", m.ControlID(), "C1"},
		{"MSH-12", m.Version(), "2.5.1"},
		{"field past the end", m.Header().Field(40).String(), ""},
		{"PID-1", pid.Field(1).String(), "1"},
		{"PID-3 first repetition, component 1", pid.Field(3).Component(1).String(), "123"},
		{"PID-3.4 subcomponent 1", pid.Field(3).Component(4).Sub(1).String(), "HOSP"},
		{"PID-3.4 subcomponent 2", pid.Field(3).Component(4).Sub(2).String(), "1.2.3"},
		{"PID-3.4 subcomponent 9", pid.Field(3).Component(4).Sub(9).String(), ""},
		{"PID-3 second repetition", pid.Field(3).Repetitions()[1].Component(1).String(), "999-88-7777"},
		{"PID-3 second repetition type", pid.Field(3).Repetitions()[1].Component(5).String(), "SS"},
		{"PID-5 family with an escaped component separator", pid.Field(5).Component(1).String(), "O'Neil^Smith"},
		{"PID-5 raw", pid.Field(5).Component(1).Raw(), `O'Neil\S\Smith`},
		{"PID-5 given", pid.Field(5).Component(2).String(), "Mary Ann"},
		{"PID-5 component past the end", pid.Field(5).Component(12).String(), ""},
		{"PID-5 second name type", pid.Field(5).Repetitions()[1].Component(7).String(), "M"},
		{"PID-11 home city", pid.Field(11).Component(3).String(), "Springfield"},
		{"component of a component", pid.Field(11).Component(3).Component(1).String(), "Springfield"},
		{"component 2 of a component", pid.Field(11).Component(3).Component(2).String(), ""},
		{"sub of a repetition", pid.Field(11).Repetitions()[1].Sub(1).String(), "PO Box 5"},
		{"escapes", nte.Field(3).String(), "line one\nline two | pipe ~ tilde \\ backslash & amp Aé bold \\Z99\\ \\Xzz\\"},
		{"segment without fields", zzz.Field(1).String(), ""},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if n := len(pid.Field(3).Repetitions()); n != 2 {
		t.Errorf("PID-3 has %d repetitions, want 2", n)
	}
	if n := len(pid.Field(2).Repetitions()); n != 0 {
		t.Errorf("empty PID-2 has %d repetitions, want 0", n)
	}
}

func TestParseOtherDelimitersAndLineEnds(t *testing.T) {
	// Custom separators, segments ended by CR LF, a null field.
	raw := []byte("MSH#*@!%#REG#HOSP#PC#H#20260101##ADT*A04#C2#P#2.3\r\nPID#1##55*!!*!!*HOSP*MR@66####\"\"#M\r\nPV1#1#O\n")
	m := mustParse(t, raw)
	if m.Delims != (Delimiters{Field: '#', Component: '*', Repetition: '@', Escape: '!', Subcomponent: '%'}) {
		t.Fatalf("delimiters %+v", m.Delims)
	}
	if len(m.Segments) != 3 {
		t.Fatalf("%d segments, want 3", len(m.Segments))
	}
	pid, _ := m.Segment("PID")
	if got := pid.Field(3).Component(1).String(); got != "55" {
		t.Errorf("PID-3.1 = %q, want 55", got)
	}
	if got := pid.Field(3).Component(2).String(); got != "!!" { // an empty escape sequence is kept as it is
		t.Errorf("PID-3.2 = %q, want !!", got)
	}
	if got := pid.Field(3).Component(4).String(); got != "HOSP" {
		t.Errorf("PID-3.4 = %q, want HOSP", got)
	}
	if got := len(pid.Field(3).Repetitions()); got != 2 {
		t.Errorf("PID-3 repetitions = %d, want 2", got)
	}
	if !pid.Field(7).IsNull() || pid.Field(7).String() != "" {
		t.Errorf("PID-7 should be null, raw %q", pid.Field(7).Raw())
	}
	if !pid.Field(6).IsEmpty() || pid.Field(6).IsNull() {
		t.Errorf("PID-6 should be empty")
	}
	_, ev, _ := m.Type()
	if ev != "A04" || m.Version() != "2.3" {
		t.Errorf("event %q version %q", ev, m.Version())
	}
}

func TestParseLatin1(t *testing.T) {
	raw := append([]byte(testMSH+"|||||8859/1\rPID|1||1^^^^MR||M"), 0xfc, 'l', 'l', 'e', 'r', '\r')
	m := mustParse(t, raw)
	pid, _ := m.Segment("PID")
	if got := pid.Field(5).String(); got != "Müller" {
		t.Errorf("PID-5 = %q, want Müller", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		raw   []byte
		field int
		want  string
	}{
		{"empty", []byte(""), 0, "does not begin with an MSH"},
		{"no MSH", msg("PID|1||1"), 0, "does not begin with an MSH"},
		{"short encoding characters", msg("MSH|^~|A|B"), 2, "four encoding characters"},
		{"letters as separators", msg("MSH|abcd|A|B"), 2, "distinct separators"},
		{"repeated separator", msg("MSH|^^\\&|A|B"), 2, "distinct separators"},
		{"no control ID", msg(`MSH|^~\&|A|B|C|D|20260101||ADT^A04||P|2.5`), 10, "MSH-10"},
		{"no type", msg(`MSH|^~\&|A|B|C|D|20260101|||C1|P|2.5`), 9, "MSH-9"},
		{"no version", msg(`MSH|^~\&|A|B|C|D|20260101||ADT^A04|C1|P|`), 12, "MSH-12"},
		{"bad segment name", msg(testMSH, "P|1"), 0, "segment 2 does not begin"},
		{"two MSH", msg(testMSH, testMSH), 0, "second MSH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.raw)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want an *Error", err)
			}
			if !strings.Contains(e.Reason, tc.want) || e.Field != tc.field {
				t.Errorf("error %q at field %d, want %q at %d", e.Reason, e.Field, tc.want, tc.field)
			}
		})
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	d := DefaultDelimiters()
	for _, s := range []string{"", "plain", `a|b^c~d\e&f`, "two\r\nlines", "ünïcode"} {
		esc := Escape(s, d)
		if strings.ContainsAny(esc, "|^~&\r\n") {
			t.Errorf("Escape(%q) = %q still holds a separator", s, esc)
		}
		if got := unescape(esc, d); got != s {
			t.Errorf("unescape(Escape(%q)) = %q", s, got)
		}
	}
}

func TestBirthDate(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) chart.Date { return chart.Date{Year: y, Month: m, Day: d} }
	tests := []struct {
		in      string
		want    chart.Date
		wantErr string
	}{
		{"19800102", day(1980, 1, 2), ""},
		{"198001021230", day(1980, 1, 2), ""},
		{"19800102123059", day(1980, 1, 2), ""},
		{"19800102123059.1234", day(1980, 1, 2), ""},
		{"19800102123059-0500", day(1980, 1, 2), ""},
		{"198001021230+0100", day(1980, 1, 2), ""},
		{"20000229", day(2000, 2, 29), ""},
		{"", chart.Date{}, ""},
		{"1980", chart.Date{}, ""},   // year only: unknown
		{"198001", chart.Date{}, ""}, // year and month: unknown
		{"800102", chart.Date{}, "not a date"},
		{"80010203", chart.Date{}, "not a date"}, // two-digit year padded: year 8001
		{"19800230", chart.Date{}, "not a date"},
		{"19801301", chart.Date{}, "not a date"},
		{"19000229", chart.Date{}, "not a date"},
		{"1980010", chart.Date{}, "not a date"},
		{"198001022460", chart.Date{}, "not a date"},
		{"1980-01-02", chart.Date{}, "not a date"},
		{"01/02/1980", chart.Date{}, "not a date"},
		{"19800102+05", chart.Date{}, "not a date"},
		{"17991231", chart.Date{}, "not a date"},
		{"20260602", chart.Date{}, "in the future"},
		{"20270101", chart.Date{}, "not a date"},
	}
	for _, tc := range tests {
		got, e := birthDate(tc.in, now)
		switch {
		case tc.wantErr == "" && e != nil:
			t.Errorf("birthDate(%q): %v", tc.in, e)
		case tc.wantErr != "" && (e == nil || !strings.Contains(e.Reason, tc.wantErr)):
			t.Errorf("birthDate(%q) = %v, %v; want error %q", tc.in, got, e, tc.wantErr)
		case tc.wantErr != "" && strings.Contains(e.Reason, tc.in) && tc.in != "":
			t.Errorf("birthDate(%q): error %q repeats the value", tc.in, e.Reason)
		case got != tc.want:
			t.Errorf("birthDate(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestIdentifierChoice(t *testing.T) {
	ids := Identifiers{DefaultAuthority: "MRN", Authorities: map[string]string{"HOSP": "MRN"}}
	tests := []struct {
		field   string
		want    patients.PatientRef
		wantErr string
	}{
		{`123^^^HOSP^MR`, patients.PatientRef{Authority: "MRN", MRN: "123"}, ""},
		{`123^^^OTHER^MR`, patients.PatientRef{Authority: "OTHER", MRN: "123"}, ""},
		{`123`, patients.PatientRef{Authority: "MRN", MRN: "123"}, ""},
		{`123^^^^MR`, patients.PatientRef{Authority: "MRN", MRN: "123"}, ""},
		{`123^^^&2.16.840.1&ISO^MR`, patients.PatientRef{Authority: "2.16.840.1", MRN: "123"}, ""},
		{`999^^^SSA^SS~123^^^HOSP^MR`, patients.PatientRef{Authority: "MRN", MRN: "123"}, ""},
		{`5^^^OTHER^MR~123^^^HOSP^MR`, patients.PatientRef{Authority: "MRN", MRN: "123"}, ""}, // the mapped authority wins
		{` 77 ^^^X^mr`, patients.PatientRef{Authority: "X", MRN: "77"}, ""},
		{`999^^^SSA^SS`, patients.PatientRef{}, "no identifier of type MR"},
		{`999~123`, patients.PatientRef{}, "no identifier of type MR"},
		{``, patients.PatientRef{}, "is empty"},
		{`^^^HOSP^MR`, patients.PatientRef{}, "is empty"},
	}
	for _, tc := range tests {
		m := mustParse(t, msg(testMSH, "PID|1||"+tc.field))
		pid, _ := m.Segment("PID")
		got, e := ids.mrn(pid.Field(3), "PID", 3)
		switch {
		case tc.wantErr == "" && e != nil:
			t.Errorf("%q: %v", tc.field, e)
		case tc.wantErr != "" && (e == nil || !strings.Contains(e.Reason, tc.wantErr)):
			t.Errorf("%q = %+v, %v; want error %q", tc.field, got, e, tc.wantErr)
		case got != tc.want:
			t.Errorf("%q = %+v, want %+v", tc.field, got, tc.want)
		}
	}
	if got := ids.outbound("MRN"); got != "HOSP" {
		t.Errorf("outbound(MRN) = %q, want HOSP", got)
	}
	if got := ids.outbound("X"); got != "X" {
		t.Errorf("outbound(X) = %q, want X", got)
	}
}

func TestReadPID(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	m := mustParse(t, msg(testMSH,
		`PID|1||123^^^HOSP^MR||Smith^Johnny^^^^^N~Smith^John^Paul^^^^L||19800102|M|||PO Box 5^^Shelbyville^IL^62565^^M~1 Main St^Apt 2^Springfield^IL^62701^^H||^NET^Internet^j@example.org~^WPN^PH^^1^217^5550199~(217)555-0100^PRN^PH`))
	pid, _ := m.Segment("PID")
	f, e := Identifiers{}.readPID(pid, 1, now)
	if e != nil {
		t.Fatal(e)
	}
	want := patients.Patient{Authority: "HOSP", MRN: "123", Family: "Smith", Given: "John Paul",
		BirthDate: chart.Date{Year: 1980, Month: 1, Day: 2}, Sex: patients.SexMale,
		Address: "1 Main St, Apt 2", City: "Springfield", PostalCode: "62701", Phone: "(217)555-0100"}
	if got := f.apply(patients.Patient{}); got.Authority != want.Authority || got.MRN != want.MRN || got.Family != want.Family ||
		got.Given != want.Given || got.BirthDate != want.BirthDate || got.Sex != want.Sex || got.Address != want.Address ||
		got.City != want.City || got.PostalCode != want.PostalCode || got.Phone != want.Phone {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	// Empty fields keep the record's values; "" erases them.
	m = mustParse(t, msg(testMSH, `PID|1||123^^^HOSP^MR|||||""|||||""`))
	pid, _ = m.Segment("PID")
	f, e = Identifiers{}.readPID(pid, 1, now)
	if e != nil {
		t.Fatal(e)
	}
	got := f.apply(want)
	if got.Family != "Smith" || got.BirthDate != want.BirthDate || got.Sex != "" || got.Phone != "" || got.Address != want.Address {
		t.Errorf("overlay: %+v", got)
	}

	// A phone made of its parts.
	m = mustParse(t, msg(testMSH, `PID|1||123^^^HOSP^MR||||||||||^PRN^PH^^1^217^5550100^12`))
	pid, _ = m.Segment("PID")
	f, _ = Identifiers{}.readPID(pid, 1, now)
	if f.p.Phone != "+1 (217) 5550100 x12" {
		t.Errorf("phone %q", f.p.Phone)
	}

	for _, tc := range []struct{ pid, want string }{
		{`PID|1||123^^^HOSP^MR||^John`, "PID-5 family name is empty"},
		{`PID|1||123^^^HOSP^MR||Smith||19800102|X`, "PID-8 sex"},
		{`PID|1||123^^^HOSP^MR||Smith||1980-01-02`, "PID-7 birth date"},
	} {
		m := mustParse(t, msg(testMSH, tc.pid))
		pid, _ := m.Segment("PID")
		if _, e := (Identifiers{}).readPID(pid, 1, now); e == nil || !strings.Contains(e.Reason, tc.want) {
			t.Errorf("%s: error %v, want %q", tc.pid, e, tc.want)
		}
	}
}

func TestAck(t *testing.T) {
	req := mustParse(t, msg(`MSH|^~\&|REG|HOSP|PAPERCHART|PCFAC|20260101120000||ADT^A04^ADT_A01|MSG-7|P|2.3.1`))
	now := time.Date(2026, 1, 1, 12, 0, 1, 0, time.UTC)
	a := mustParse(t, ack(req, AckError, &Error{Segment: "PID", Seq: 1, Field: 7, Code: CodeDataType, Reason: "PID-7 birth date is not a date"}, Endpoint{App: "X"}, now))
	h := a.Header()
	checks := []struct{ name, got, want string }{
		{"MSH-3", h.Field(3).String(), "PAPERCHART"},
		{"MSH-4", h.Field(4).String(), "PCFAC"},
		{"MSH-5", h.Field(5).String(), "REG"},
		{"MSH-6", h.Field(6).String(), "HOSP"},
		{"MSH-7", h.Field(7).String(), "20260101120001+0000"},
		{"MSH-9", h.Field(9).Raw(), "ACK^A04^ACK"},
		{"MSH-11", h.Field(11).String(), "P"},
		{"MSH-12", h.Field(12).String(), "2.3.1"},
	}
	msa, _ := a.Segment("MSA")
	errSeg, ok := a.Segment("ERR")
	if !ok {
		t.Fatal("no ERR segment")
	}
	checks = append(checks, []struct{ name, got, want string }{
		{"MSA-1", msa.Field(1).String(), "AE"},
		{"MSA-2", msa.Field(2).String(), "MSG-7"},
		{"MSA-3", msa.Field(3).String(), "PID-7 birth date is not a date"},
		{"ERR-1", errSeg.Field(1).Raw(), "PID^1^7^102&Data type error&HL70357"},
		{"ERR-2", errSeg.Field(2).Raw(), "PID^1^7"},
		{"ERR-3", errSeg.Field(3).Raw(), "102^Data type error^HL70357"},
		{"ERR-4", errSeg.Field(4).Raw(), "E"},
	}...)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if id := h.Field(10).String(); id == "" || id == "MSG-7" || len(id) > 20 {
		t.Errorf("ACK control ID %q", id)
	}

	// An ACK to what could not be read at all still parses.
	a = mustParse(t, ack(nil, AckError, &Error{Code: CodeSegmentSequence, Reason: "no MSH"}, Endpoint{App: "PAPERCHART"}, now))
	if a.Header().Field(3).String() != "PAPERCHART" || a.Version() != defaultVersion {
		t.Errorf("ACK to nothing: %q", a.Header().Field(3).String())
	}
}

func TestFrames(t *testing.T) {
	stream := "\x0bfirst\x1c\r\r\n\x0bsecond\x1c\x0bthird, no CR before\x1c\r\x0b" + strings.Repeat("x", 100) + "\x1c\r\x0bshort\x1c\r"
	r := bufio.NewReaderSize(strings.NewReader(stream), 16)
	want := []struct {
		msg string
		err error
	}{
		{"first", nil}, {"second", nil}, {"third, no CR before", nil}, {strings.Repeat("x", 50), ErrTooLarge}, {"short", nil},
	}
	for i, w := range want {
		got, err := readFrame(r, 50, nil)
		if string(got) != w.msg || !errors.Is(err, w.err) {
			t.Errorf("frame %d = %q, %v; want %q, %v", i+1, got, err, w.msg, w.err)
		}
	}
	if _, err := readFrame(r, 50, nil); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
	if _, err := readFrame(bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\n")), 50, nil); !errors.Is(err, ErrNotMLLP) {
		t.Errorf("HTTP request: %v, want ErrNotMLLP", err)
	}
	if _, err := readFrame(bufio.NewReader(strings.NewReader("\x0bcut short")), 50, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut frame: %v, want unexpected EOF", err)
	}
	var buf bytes.Buffer
	if err := writeFrame(&buf, []byte("MSH|x")); err != nil || buf.String() != "\x0bMSH|x\x1c\r" {
		t.Errorf("writeFrame: %q, %v", buf.String(), err)
	}
}
