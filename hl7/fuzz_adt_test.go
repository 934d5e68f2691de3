package hl7_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"paperchart/hl7"
	"paperchart/internal/testenv"
	"paperchart/patients"
)

// FuzzADT hands any message to the ADT handler on a real patient index:
// every message gets an ACK that parses, with a known code and the
// message's control ID, and neither the ACK's texts nor the log carry the
// patient's name or birth date.
func FuzzADT(f *testing.F) {
	for _, m := range []string{
		adt("A04", "F1", pidEveryman),
		adt("A08", "F2", pidEveryman, "PD1|||"),
		adt("A28", "F3", `PID|1||00420003^^^HOSP^MR||Everyman^Adam||19610315`),
		adt("A40", "F4", `PID|1||00420001^^^HOSP^MR||Everyman^Adam||19610315`, "MRG|00420003^^^HOSP^MR"),
		adt("A01", "F5", `PID|1||^^^HOSP^MR||Everyman^Adam||19611315|X`),
		adt("A31", "F6", `PID|1||00420001^^^ELSEWHERE^MR~00420001^^^HOSP^PI||Everyman||1961`),
		adt("A04", "F7", `PID|1||00420001^^^HOSP^MR||""||""|""`),
		strings.Replace(adt("A04", "F8", pidEveryman), "2.5.1", "2.2", 1),
		strings.Replace(adt("A04", "F9", pidEveryman), "ADT^A04", "ORU^R01", 1),
		"PID|1||x\r",
	} {
		f.Add([]byte(m))
	}
	db := testenv.DB(f)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := &hl7.ADT{Index: patients.New(db.Pool(), patients.Options{Log: log}), Log: log, Self: hl7.Endpoint{App: "PAPERCHART"},
		Identifiers: hl7.Identifiers{Authorities: map[string]string{"HOSP": "MRN"}}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		logs.Reset()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		reply := h.HandleMessage(ctx, msg)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("one message took %v", d)
		}
		a, err := hl7.Parse(reply)
		if err != nil {
			t.Fatalf("the ACK does not parse: %v\n%q", err, reply)
		}
		s, ok := a.Segment("MSA")
		if !ok {
			t.Fatalf("ACK without MSA: %q", reply)
		}
		switch s.Field(1).String() {
		case hl7.AckAccept, hl7.AckError, hl7.AckReject:
		default:
			t.Fatalf("ACK code %q", s.Field(1).String())
		}
		if m, err := hl7.Parse(msg); err == nil && s.Field(2).String() != m.ControlID() && !strings.ContainsAny(m.ControlID(), "\r\n") {
			t.Fatalf("ACK MSA-2 %q, want %q", s.Field(2).String(), m.ControlID())
		}
		texts := s.Field(3).String()
		if e, ok := a.Segment("ERR"); ok {
			texts += " " + e.Field(8).String()
		}
		// The header's values (control ID, version) are logged and echoed by
		// design: only patient fields after it must not be.
		header, _, _ := bytes.Cut(msg, []byte("\r"))
		header, _, _ = bytes.Cut(header, []byte("\n"))
		for _, phi := range []string{"Everyman", "19610315", "1961-03-15"} {
			if bytes.Contains(msg, []byte(phi)) && !bytes.Contains(header, []byte(phi)) && (strings.Contains(texts, phi) || strings.Contains(logs.String(), phi)) {
				t.Fatalf("%q in the ACK's text %q or the log:\n%s", phi, texts, logs.String())
			}
		}
	})
}
