package hl7

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Endpoint names one side of an exchange: MSH-3 and MSH-4 of what it sends,
// MSH-5 and MSH-6 of what it receives.
type Endpoint struct {
	App      string
	Facility string
}

// builder writes a message with DefaultDelimiters, one segment at a time.
type builder struct {
	d Delimiters
	b strings.Builder
}

func newBuilder() *builder { return &builder{d: DefaultDelimiters()} }

// segment appends a segment of already encoded fields; for MSH the first
// field is MSH-2. Trailing empty fields are dropped.
func (w *builder) segment(name string, fields ...string) {
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	w.b.WriteString(name)
	for _, f := range fields {
		w.b.WriteByte(w.d.Field)
		w.b.WriteString(f)
	}
	w.b.WriteByte('\r')
}

// text escapes one value.
func (w *builder) text(s string) string { return Escape(s, w.d) }

// comp joins escaped components, dropping trailing empty ones.
func (w *builder) comp(parts ...string) string { return w.join(w.d.Component, parts) }

// sub joins escaped subcomponents, dropping trailing empty ones.
func (w *builder) sub(parts ...string) string { return w.join(w.d.Subcomponent, parts) }

func (w *builder) join(sep byte, parts []string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = w.text(p)
	}
	return w.joinRaw(sep, esc)
}

// joinRaw joins parts already encoded, dropping trailing empty ones.
func (w *builder) joinRaw(sep byte, parts []string) string {
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, string(sep))
}

// recode writes a received value (a whole field) with the builder's
// delimiters, keeping its repetitions, components and subcomponents.
func (w *builder) recode(v Value) string {
	if v.literal || v.IsNull() {
		return v.raw
	}
	var reps []string
	for _, r := range strings.Split(v.raw, string(v.d.Repetition)) {
		var comps []string
		for _, c := range strings.Split(r, string(v.d.Component)) {
			var subs []string
			for _, s := range strings.Split(c, string(v.d.Subcomponent)) {
				subs = append(subs, w.text(unescape(s, v.d)))
			}
			comps = append(comps, strings.Join(subs, string(w.d.Subcomponent)))
		}
		reps = append(reps, strings.Join(comps, string(w.d.Component)))
	}
	return strings.Join(reps, string(w.d.Repetition))
}

func (w *builder) bytes() []byte { return []byte(w.b.String()) }

// timestamp writes t as an HL7 date-time with seconds and zone.
func timestamp(t time.Time) string { return t.Format("20060102150405-0700") }

// newControlID returns a message control ID for an ACK: 20 characters at
// most (MSH-10 in 2.5), unique enough that no two ACKs share one.
func newControlID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Acknowledgment codes (MSA-1, original mode).
const (
	AckAccept = "AA" // applied
	AckError  = "AE" // not applied: something in the message is wrong
	AckReject = "AR" // not applied: a type not handled, or a failure here
)

// defaultVersion is the version of what this package writes when it has
// no message to answer in its own version.
const defaultVersion = "2.5.1"

// maxAckText bounds MSA-3 (80 characters in 2.5).
const maxAckText = 80

// ack returns an ACK to req (nil when even its MSH could not be read): the
// MSH swaps sender and receiver (self stands in when req names no
// receiver), MSA carries the code, req's control ID and e's reason (a note,
// for AA); for AE and AR an ERR segment says where and which table 0357
// code, in the 2.5 form (ERR-2 to ERR-4, ERR-8) and in the form of 2.3 and
// 2.4 (ERR-1).
func ack(req *Message, code string, e *Error, self Endpoint, now time.Time) []byte {
	w := newBuilder()
	var sendApp, sendFac, recvApp, recvFac, event, control, processing, version string
	if req != nil {
		h := req.Header()
		sendApp, sendFac = w.recode(h.Field(5)), w.recode(h.Field(6))
		recvApp, recvFac = w.recode(h.Field(3)), w.recode(h.Field(4))
		_, ev, _ := req.Type()
		event = ev
		control = req.ControlID()
		processing = w.recode(h.Field(11))
		// Only the version ID (MSH-12.1): a sender's MSH-12 of bare
		// separators would make an ACK no receiver can read.
		version = w.text(h.Field(12).Component(1).String())
	}
	if sendApp == "" {
		sendApp = w.text(self.App)
	}
	if sendFac == "" {
		sendFac = w.text(self.Facility)
	}
	if processing == "" {
		processing = "P"
	}
	if version == "" {
		version = defaultVersion
	}
	w.segment("MSH", w.d.encoding(), sendApp, sendFac, recvApp, recvFac, timestamp(now), "",
		w.comp("ACK", event, "ACK"), newControlID("A"), processing, version)
	var text string
	if e != nil {
		text = e.Reason
		if len(text) > maxAckText {
			text = text[:maxAckText-3] + "..."
		}
	}
	w.segment("MSA", code, w.text(control), w.text(text))
	if e != nil && code != AckAccept {
		ecode := e.Code
		name, ok := codeName(ecode)
		if !ok {
			ecode = CodeInternal
			name, _ = codeName(ecode)
		}
		seq, field := "", ""
		if e.Segment != "" {
			seq = fmt.Sprint(max(e.Seq, 1))
			if e.Field > 0 {
				field = fmt.Sprint(e.Field)
			}
		}
		codeText := fmt.Sprint(ecode)
		loc := []string{w.text(e.Segment), seq, field}
		err1 := w.joinRaw(w.d.Component, append(loc, w.sub(codeText, name, "HL70357")))
		w.segment("ERR", err1, w.joinRaw(w.d.Component, loc), w.comp(codeText, name, "HL70357"), "E", "", "", "", w.text(e.Reason))
	}
	return w.bytes()
}

// codeName returns the text of table 0357 for the codes this package uses.
func codeName(code int) (string, bool) {
	switch code {
	case CodeSegmentSequence:
		return "Segment sequence error", true
	case CodeRequiredMissing:
		return "Required field missing", true
	case CodeDataType:
		return "Data type error", true
	case CodeTableValue:
		return "Table value not found", true
	case CodeUnsupportedType:
		return "Unsupported message type", true
	case CodeUnsupportedEvent:
		return "Unsupported event code", true
	case CodeUnsupportedVersion:
		return "Unsupported version id", true
	case CodeUnknownKey:
		return "Unknown key identifier", true
	case CodeInternal:
		return "Application internal error", true
	}
	return "", false
}
