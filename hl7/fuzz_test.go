package hl7

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"paperchart/patients"
)

// fuzzMessages are seeds for the message fuzzers: what senders send, and
// what they get wrong.
var fuzzMessages = []string{
	"MSH|^~\\&|REG|HOSP|PAPERCHART|HOSP|20260101120000||ADT^A04^ADT_A01|C1|P|2.5.1\rEVN|A04|20260101120000\r" +
		"PID|1||00420001^^^HOSP^MR~123-45-6789^^^SSA^SS||Everyman^Adam^J||19610315|M|||12 Elm St^^Springfield^IL^62701^^H||(217)555-0100^PRN^PH\r",
	"MSH|^~\\&|REG|HOSP|||20260101||ADT^A40^ADT_A39|C2|P|2.4\rPID|1||00420001^^^HOSP^MR\rMRG|00420002^^^HOSP^MR\r",
	"MSH#$%@*|REG|HOSP|||20260101||ADT$A08|C3|P|2.3\nPID#1##00420001$$$HOSP$MR##Ord@in*ary$Eve\r\n",
	"MSH|^~\\&|REG|HOSP|||20260101||ADT^A04|C4|P|2.5|||||8859/1\rPID|1||1^^^HOSP^MR||M\xfcller^J\xf6rg\r",
	"MSH|^~\\&|REG|HOSP|||||ADT^A04|C5|P|2.5\rPID|1||1^^^^MR||Esc\\F\\ape\\S\\\\T\\\\R\\\\E\\\\X41\\\\H\\bold\\N\\^X||00000000\r",
	"MSH|^~\\&|||||||ACK|C6|P|2.5.1\rMSA|AA|C1\r",
	"MSH|^~\\&\r", "MSH", "", "\xef\xbb\xbfMSH|^~\\&|a|b|c|d|e||ADT^A31|C7|P|2.6\rEVN|A31\rPID|||^^^^MR\r",
	"MSH|^~\\&|a|b|c|d|e||ADT^A04|C8|P|2.5\rMSH|^~\\&|a|b|c|d|e||ADT^A04|C9|P|2.5\r",
	"MSH|^~\\&|||||||ADT^A04|" + strings.Repeat("9", 60) + "|P|2.5.1\rPID|1||" + strings.Repeat("~", 200) + "\r",
}

// walk reads every value of m the way the handlers do and returns how
// many bytes of text it read.
func walk(m *Message) int {
	_, _, st := m.Type()
	n := len(st) + len(m.ControlID()) + len(m.Version())
	for _, s := range m.Segments {
		for i := 0; i <= s.Len()+1; i++ {
			f := s.Field(i)
			n += len(f.String())
			f.IsNull()
			for _, r := range f.Repetitions() {
				for c := 1; c <= 4; c++ {
					n += len(r.Component(c).String())
					for sc := 1; sc <= 3; sc++ {
						n += len(r.Component(c).Sub(sc).String())
					}
				}
			}
		}
	}
	return n
}

// FuzzParse reads any bytes as a message: no panic, and what is read is
// answered with an ACK that parses and names its control ID; each PID is
// read as the ADT handler would.
func FuzzParse(f *testing.F) {
	for _, m := range fuzzMessages {
		f.Add([]byte(m))
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	ids := Identifiers{DefaultAuthority: "MRN", Authorities: map[string]string{"HOSP": "MRN"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		hdr, _ := parse(headerOnly(b))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error %T is not an *Error", err)
			}
			checkAck(t, ack(hdr, AckError, e, Endpoint{App: "PAPERCHART"}, now), hdr)
			return
		}
		walk(m)
		seq := 0
		for _, s := range m.Segments {
			if s.Name == "PID" {
				seq++
				if p, perr := ids.readPID(s, seq, now); perr == nil {
					p.apply(p.apply(patients.Patient{}))
				}
			}
		}
		checkAck(t, ack(m, AckAccept, nil, Endpoint{App: "PAPERCHART"}, now), m)
		checkAck(t, ack(m, AckReject, &Error{Segment: "PID", Seq: 2, Field: 3, Code: CodeDataType, Reason: "PID-3 is wrong"}, Endpoint{}, now), m)
		checkAck(t, tooLarge(b, len(b), now), hdr)
	})
}

// checkAck fails unless a is a message that parses, with an MSA whose
// MSA-2 is req's control ID.
func checkAck(t *testing.T, a []byte, req *Message) {
	t.Helper()
	m, err := Parse(a)
	if err != nil {
		t.Fatalf("the ACK does not parse: %v\n%q", err, a)
	}
	msa, ok := m.Segment("MSA")
	if !ok {
		t.Fatalf("ACK without MSA: %q", a)
	}
	if !utf8.Valid(a) {
		t.Fatalf("the ACK is not UTF-8: %q", a)
	}
	if req == nil {
		return
	}
	want := req.ControlID()
	if got := msa.Field(2).String(); got != want && !(strings.ContainsAny(want, "\r\n") || !utf8.ValidString(want)) {
		t.Fatalf("ACK MSA-2 %q, want the control ID %q\n%q", got, want, a)
	}
}

// FuzzEscape: what Escape writes reads back as it was, with any delimiters.
func FuzzEscape(f *testing.F) {
	f.Add("plain", byte('|'), byte('^'), byte('~'), byte('\\'), byte('&'))
	f.Add("a|b^c~d\\e&f\r\ng", byte('|'), byte('^'), byte('~'), byte('\\'), byte('&'))
	f.Add("\\H\\x\\N\\", byte('#'), byte('$'), byte('%'), byte('@'), byte('*'))
	f.Fuzz(func(t *testing.T, s string, fs, cs, rs, es, ss byte) {
		d := Delimiters{Field: fs, Component: cs, Repetition: rs, Escape: es, Subcomponent: ss}
		seen := map[byte]bool{}
		for _, c := range []byte{fs, cs, rs, es, ss} {
			if seen[c] || c <= ' ' || c >= 0x7f || isAlnum(c) {
				return
			}
			seen[c] = true
		}
		if !utf8.ValidString(s) {
			return
		}
		e := Escape(s, d)
		for _, c := range []byte{fs, cs, rs, ss, '\r', '\n'} {
			if strings.IndexByte(e, c) >= 0 {
				t.Fatalf("Escape(%q) = %q still holds %q", s, e, c)
			}
		}
		if got := unescape(e, d); got != s {
			t.Fatalf("unescape(Escape(%q)) = %q (escaped %q)", s, got, e)
		}
	})
}

// FuzzReadFrame reads any byte stream as MLLP: no panic, no frame over the
// limit, every call consumes input, and frames written by writeFrame read
// back as written.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("\x0bfirst\x1c\r\r\n\x0bsecond\x1c\x0bthird\x1c\r"), 16)
	f.Add([]byte("GET / HTTP/1.1\r\n"), 50)
	f.Add([]byte("\x0bcut short"), 50)
	f.Add([]byte("\x0b"+strings.Repeat("x", 100)+"\x1c\r\x0bshort\x1c\r"), 50)
	f.Add([]byte(" \t\r\n\x0b\x1c\x1c\r\x0b\x0b\x1c"), 1)
	f.Add([]byte("\x16\x03\x01\x00\x05hello"), 0)
	f.Fuzz(func(t *testing.T, stream []byte, max int) {
		max = max % (1 << 16)
		if max < 0 {
			max = -max
		}
		r := bufio.NewReaderSize(bytes.NewReader(stream), 16)
		for calls := 0; ; calls++ {
			if calls > len(stream)+1 {
				t.Fatalf("%d frames from %d bytes: readFrame does not consume its input", calls, len(stream))
			}
			msg, err := readFrame(r, max, nil)
			if max > 0 && len(msg) > max {
				t.Fatalf("frame of %d bytes over the limit %d", len(msg), max)
			}
			if bytes.IndexByte(msg, endBlock) >= 0 {
				t.Fatalf("frame %q holds the end block", msg)
			}
			if err != nil && !errors.Is(err, ErrTooLarge) {
				break
			}
		}

		// Round trip: the stream's pieces between end blocks, framed.
		var buf bytes.Buffer
		msgs := bytes.Split(stream, []byte{endBlock})
		for _, m := range msgs {
			if err := writeFrame(&buf, m); err != nil {
				t.Fatal(err)
			}
		}
		r = bufio.NewReaderSize(&buf, 16)
		for i, want := range msgs {
			got, err := readFrame(r, 0, nil)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("frame %d read back %q, %v; want %q", i, got, err, want)
			}
		}
		if _, err := readFrame(r, 0, nil); !errors.Is(err, io.EOF) {
			t.Fatalf("after the last frame: %v, want EOF", err)
		}
	})
}
