package hl7

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Delimiters are a message's separators, from MSH-1 (Field) and MSH-2 (the
// others, in the order component, repetition, escape, subcomponent).
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent byte
}

// DefaultDelimiters returns |^~\&, which every message this package writes
// uses.
func DefaultDelimiters() Delimiters {
	return Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}
}

// encoding returns MSH-2 for the delimiters.
func (d Delimiters) encoding() string {
	return string([]byte{d.Component, d.Repetition, d.Escape, d.Subcomponent})
}

// Error codes of HL7 table 0357 (message error condition codes), as put in
// an ACK's ERR segment.
const (
	CodeSegmentSequence    = 100 // a segment is missing or out of order
	CodeRequiredMissing    = 101 // a required field is empty
	CodeDataType           = 102 // a field does not have the form its type says
	CodeTableValue         = 103 // a coded value is not one of the table's
	CodeUnsupportedType    = 200 // message type not handled
	CodeUnsupportedEvent   = 201 // event code not handled
	CodeUnsupportedVersion = 203 // HL7 version not handled
	CodeUnknownKey         = 204 // no record with the key the message names
	CodeInternal           = 207 // a failure on the receiving side
)

// Error is what is wrong with a message, located by segment and field. Its
// Reason is plain words that name the field, never its value, so that it
// may go into an ACK and into logs.
type Error struct {
	Segment string // "MSH", "PID"...; "" when the message as a whole is wrong
	Seq     int    // which occurrence of the segment, from 1 (0: not known)
	Field   int    // field number, as in PID-7 (0: the segment)
	Code    int    // table 0357
	Reason  string
}

func (e *Error) Error() string { return e.Reason }

// errorf returns an Error located at seg-field.
func errorf(seg string, field, code int, format string, args ...any) *Error {
	return &Error{Segment: seg, Seq: 1, Field: field, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Message is a parsed HL7 v2 message. Segments[0] is its MSH.
type Message struct {
	Delims   Delimiters
	Segments []Segment
}

// Segment is one segment: its name and its fields as sent (still escaped).
type Segment struct {
	Name   string
	fields []string // fields[0] is the name; for MSH, fields[1] is MSH-1 and fields[2] MSH-2
	d      Delimiters
}

// Segment returns the first segment with the name.
func (m *Message) Segment(name string) (Segment, bool) {
	for _, s := range m.Segments {
		if s.Name == name {
			return s, true
		}
	}
	return Segment{}, false
}

// Header returns the MSH segment.
func (m *Message) Header() Segment { return m.Segments[0] }

// Type returns MSH-9: message code (ADT), trigger event (A04) and message
// structure (ADT_A01, absent before 2.3.1).
func (m *Message) Type() (code, event, structure string) {
	f := m.Header().Field(9)
	return f.Component(1).String(), f.Component(2).String(), f.Component(3).String()
}

// ControlID returns MSH-10, the sender's identifier of the message.
func (m *Message) ControlID() string { return m.Header().Field(10).String() }

// Version returns MSH-12's version ID (2.5.1).
func (m *Message) Version() string { return m.Header().Field(12).Component(1).String() }

// Len returns the number of the last field present; MSH counts MSH-1.
func (s Segment) Len() int { return len(s.fields) - 1 }

// Field returns field n, numbered as in HL7 (PID-3 is Field(3); for MSH,
// Field(1) is the field separator and Field(2) the encoding characters). A
// field that is not there is empty.
func (s Segment) Field(n int) Value {
	if n < 1 || n >= len(s.fields) {
		return Value{d: s.d}
	}
	return Value{raw: s.fields[n], d: s.d, literal: s.Name == "MSH" && n <= 2}
}

// Levels of a Value: what it was cut from.
const (
	levelField = iota
	levelRepetition
	levelComponent
	levelSubcomponent
)

// Value is a field, or a repetition, component or subcomponent of one, as
// sent. String undoes escape sequences. Component and Sub count from 1; on
// a field they read its first repetition, Sub on a repetition reads its first
// component. A part that is not there is empty.
type Value struct {
	raw     string
	level   int
	d       Delimiters
	literal bool // MSH-1 and MSH-2: no escapes, no parts
}

// Raw returns the value as sent, with its separators and escapes.
func (v Value) Raw() string { return v.raw }

// IsEmpty reports whether nothing was sent: the receiver keeps what it has.
func (v Value) IsEmpty() bool { return v.raw == "" }

// IsNull reports whether the value is "" (two double quotes): the sender
// says the value is to be erased.
func (v Value) IsNull() bool { return v.raw == `""` }

// String returns the text with escape sequences undone; "" for a null.
func (v Value) String() string {
	if v.literal {
		return v.raw
	}
	if v.IsNull() {
		return ""
	}
	return unescape(v.raw, v.d)
}

// Repetitions returns a field's repetitions (none for an empty field); on a
// part of a field, the part alone.
func (v Value) Repetitions() []Value {
	if v.literal || v.level > levelField {
		return []Value{v}
	}
	if v.raw == "" {
		return nil
	}
	parts := strings.Split(v.raw, string(v.d.Repetition))
	out := make([]Value, len(parts))
	for i, p := range parts {
		out[i] = Value{raw: p, level: levelRepetition, d: v.d}
	}
	return out
}

// Component returns component n of the value (of its first repetition for
// a field).
func (v Value) Component(n int) Value {
	switch {
	case v.literal:
		return v
	case v.level == levelField:
		r, _, _ := strings.Cut(v.raw, string(v.d.Repetition))
		return Value{raw: r, level: levelRepetition, d: v.d}.Component(n)
	case v.level == levelRepetition:
		return Value{raw: nth(v.raw, v.d.Component, n), level: levelComponent, d: v.d}
	case n == 1:
		return v
	}
	return Value{level: v.level, d: v.d}
}

// Sub returns subcomponent n of a component (of the first component of a
// field or repetition).
func (v Value) Sub(n int) Value {
	switch {
	case v.literal:
		return v
	case v.level < levelComponent:
		return v.Component(1).Sub(n)
	case v.level == levelComponent:
		return Value{raw: nth(v.raw, v.d.Subcomponent, n), level: levelSubcomponent, d: v.d}
	case n == 1:
		return v
	}
	return Value{level: v.level, d: v.d}
}

// nth returns the n-th (from 1) part of s cut at sep, or "".
func nth(s string, sep byte, n int) string {
	for i := 1; n >= 1; i++ {
		j := strings.IndexByte(s, sep)
		if i == n {
			if j < 0 {
				return s
			}
			return s[:j]
		}
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	return ""
}

// parse reads a message; Parse checks its header too.
func parse(b []byte) (*Message, *Error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, "\r\n\t ")
	if len(b) < 8 || string(b[:3]) != "MSH" {
		return nil, errorf("MSH", 0, CodeSegmentSequence, "the message does not begin with an MSH segment")
	}
	d := Delimiters{Field: b[3]}
	end := bytes.IndexByte(b[4:], d.Field)
	if end < 0 {
		return nil, errorf("MSH", 2, CodeDataType, "MSH-2 encoding characters are not followed by a field separator")
	}
	enc := b[4 : 4+end]
	if len(enc) < 4 || len(enc) > 5 { // 2.7 adds a fifth, the truncation character
		return nil, errorf("MSH", 2, CodeDataType, "MSH-2 must hold four encoding characters")
	}
	d.Component, d.Repetition, d.Escape, d.Subcomponent = enc[0], enc[1], enc[2], enc[3]
	seen := map[byte]bool{}
	for _, c := range append([]byte{d.Field}, enc...) {
		if seen[c] || c <= ' ' || c >= 0x7f || isAlnum(c) {
			return nil, errorf("MSH", 2, CodeDataType, "MSH-1 and MSH-2 must be distinct separators, not letters, digits or spaces")
		}
		seen[c] = true
	}

	text := string(b)
	if !utf8.ValidString(text) || declaresLatin1(text, d) {
		text = latin1(b)
	}
	m := &Message{Delims: d}
	for line := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		seg, err := parseSegment(line, d, len(m.Segments) == 0)
		if err != nil {
			if err.Segment == "" {
				err.Reason = fmt.Sprintf("segment %d does not begin with a three-character segment name", len(m.Segments)+1)
			}
			return nil, err
		}
		m.Segments = append(m.Segments, seg)
	}
	for i, s := range m.Segments[1:] {
		if s.Name == "MSH" {
			return nil, &Error{Segment: "MSH", Seq: 2, Code: CodeSegmentSequence,
				Reason: fmt.Sprintf("segment %d is a second MSH: one message per frame", i+2)}
		}
	}
	return m, nil
}

// Parse reads one HL7 v2 message (without its MLLP frame). Segments end
// with a carriage return; a line feed, alone or after it, is accepted too.
// The separators are those MSH-1 and MSH-2 declare. A message declared
// 8859/1 in MSH-18, or that is not valid UTF-8, is read as ISO 8859-1.
// MSH-9, MSH-10 and MSH-12 must not be empty. The error is an *Error.
func Parse(b []byte) (*Message, error) {
	m, err := parse(b)
	if err != nil {
		return nil, err
	}
	h := m.Header()
	switch {
	case h.Field(9).Component(1).String() == "":
		return nil, errorf("MSH", 9, CodeRequiredMissing, "MSH-9 message type is empty")
	case h.Field(10).String() == "":
		return nil, errorf("MSH", 10, CodeRequiredMissing, "MSH-10 message control ID is empty")
	case h.Field(12).Component(1).String() == "":
		return nil, errorf("MSH", 12, CodeRequiredMissing, "MSH-12 version ID is empty")
	}
	return m, nil
}

func parseSegment(line string, d Delimiters, first bool) (Segment, *Error) {
	name, _, _ := strings.Cut(line, string(d.Field))
	if len(name) != 3 || !isAlnum(name[0]) || !isAlnum(name[1]) || !isAlnum(name[2]) {
		return Segment{}, &Error{Code: CodeSegmentSequence, Reason: "a segment does not begin with a three-character segment name"}
	}
	if first && name != "MSH" {
		return Segment{}, errorf("MSH", 0, CodeSegmentSequence, "the message does not begin with an MSH segment")
	}
	fields := strings.Split(line, string(d.Field))
	if name == "MSH" {
		// MSH-1 is the separator itself: the split ate it.
		fields = append([]string{"MSH", string(d.Field)}, fields[1:]...)
	}
	return Segment{Name: name, fields: fields, d: d}, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// declaresLatin1 reports whether MSH-18 names ISO 8859-1.
func declaresLatin1(text string, d Delimiters) bool {
	line, _, _ := strings.Cut(text, "\r")
	line, _, _ = strings.Cut(line, "\n")
	seg, err := parseSegment(line, d, true)
	if err != nil {
		return false
	}
	cs := strings.ToUpper(seg.Field(18).Component(1).String())
	return cs == "8859/1" || cs == "ISO-8859-1" || cs == "ISO 8859-1"
}

// latin1 decodes ISO 8859-1 bytes.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// unescape undoes HL7 escape sequences: \F\ \S\ \T\ \R\ \E\ give the
// separators, \Xhh..\ bytes (read as UTF-8 when they are, else ISO 8859-1),
// \.br\ a line break; highlighting (\H\ \N\) and other formatting commands
// are dropped. An unknown or unterminated sequence is kept as it is.
func unescape(s string, d Delimiters) string {
	if strings.IndexByte(s, d.Escape) < 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, d.Escape)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i+1:], d.Escape)
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		seq := s[i+1 : i+1+j]
		rest := s[i+2+j:]
		switch {
		case seq == "F":
			b.WriteByte(d.Field)
		case seq == "S":
			b.WriteByte(d.Component)
		case seq == "T":
			b.WriteByte(d.Subcomponent)
		case seq == "R":
			b.WriteByte(d.Repetition)
		case seq == "E":
			b.WriteByte(d.Escape)
		case seq == ".br":
			b.WriteByte('\n')
		case seq == "H" || seq == "N" || strings.HasPrefix(seq, ".sp") || strings.HasPrefix(seq, ".in") ||
			strings.HasPrefix(seq, ".ti") || seq == ".fi" || seq == ".nf" || strings.HasPrefix(seq, ".sk") || seq == ".ce":
			// formatting: dropped
		case len(seq) > 1 && seq[0] == 'X' && len(seq)%2 == 1:
			raw, ok := hexBytes(seq[1:])
			if !ok {
				b.WriteString(s[i : i+2+j])
				break
			}
			if utf8.Valid(raw) {
				b.Write(raw)
			} else {
				b.WriteString(latin1(raw))
			}
		default:
			b.WriteString(s[i : i+2+j])
		}
		s = rest
	}
}

func hexBytes(h string) ([]byte, bool) {
	out := make([]byte, 0, len(h)/2)
	for k := 0; k+1 < len(h); k += 2 {
		v, err := strconv.ParseUint(h[k:k+2], 16, 8)
		if err != nil {
			return nil, false
		}
		out = append(out, byte(v))
	}
	return out, true
}

// Escape writes text for a field, component or subcomponent with the
// delimiters: each separator and the escape character become their escape
// sequence, carriage returns and line feeds \X0D\ and \X0A\.
func Escape(s string, d Delimiters) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return r < utf8.RuneSelf && (byte(r) == d.Field || byte(r) == d.Component || byte(r) == d.Repetition ||
			byte(r) == d.Escape || byte(r) == d.Subcomponent || r == '\r' || r == '\n')
	}) < 0 {
		return s
	}
	var b strings.Builder
	e := string(d.Escape)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case d.Escape:
			b.WriteString(e + "E" + e)
		case d.Field:
			b.WriteString(e + "F" + e)
		case d.Component:
			b.WriteString(e + "S" + e)
		case d.Subcomponent:
			b.WriteString(e + "T" + e)
		case d.Repetition:
			b.WriteString(e + "R" + e)
		case '\r':
			b.WriteString(e + "X0D" + e)
		case '\n':
			b.WriteString(e + "X0A" + e)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
