package hl7_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"paperchart/audit"
	"paperchart/hl7"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
)

// listener starts an MLLP server with the ADT handler on a free loopback
// port; the returned stop ends it and waits for Serve to return.
func listener(t *testing.T, db *storage.DB, srv *hl7.Server) (addr string, stop func() error) {
	t.Helper()
	log, lb := newLog(t)
	t.Cleanup(func() {
		noPatientData(t, lb.String(), "Everyman", "Ordinary", "Evelyn", "Newname", "00420001", "00420002", "00420003", "19610315", "1961-03-15", "555-0100", "Elm")
	})
	x := patients.New(db.Pool(), patients.Options{Log: log})
	srv.Handler = &hl7.ADT{Index: x, Audit: audit.New(db.Pool()), Log: log, Self: hl7.Endpoint{App: "PAPERCHART"},
		Identifiers: hl7.Identifiers{Authorities: map[string]string{"HOSP": "MRN"}}}
	srv.Log = log
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "listen")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return within 10 s of its context's end")
		}
	}
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), stop
}

const (
	pidEveryman = `PID|1||00420001^^^HOSP^MR~123-45-6789^^^SSA^SS||Everyman^Adam^J||19610315|M|||12 Elm St^^Springfield^IL^62701^^H||(217)555-0100^PRN^PH`
	pidOrdinary = `PID|1||00420002^^^HOSP^MR||Ordinary^Eve||19620704|F`
)

func TestADT(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	x := patients.New(db.Pool(), patients.Options{})
	addr, stop := listener(t, db, &hl7.Server{})
	c := dial(t, addr) // one connection for every message: several per connection

	// A04 registers a new patient.
	code, control, text := msa(t, c.send(adt("A04", "M1", pidEveryman, "PV1|1|O")))
	if code != "AA" || control != "M1" {
		t.Fatalf("A04: %s %s %q, want AA M1", code, control, text)
	}
	p, err := x.ByMRN(ctx, "MRN", "00420001") // HOSP is the index's MRN authority
	testenv.Must(t, err, "patient after A04")
	if p.Family != "Everyman" || p.Given != "Adam J" || p.BirthDate.String() != "1961-03-15" || p.Sex != patients.SexMale ||
		p.Address != "12 Elm St" || p.City != "Springfield" || p.PostalCode != "62701" || p.Phone != "(217)555-0100" || !p.Active {
		t.Errorf("after A04: %+v", p)
	}

	// The same message again changes nothing.
	if code, _, text := msa(t, c.send(adt("A04", "M1", pidEveryman, "PV1|1|O"))); code != "AA" {
		t.Fatalf("A04 again: %s %q", code, text)
	}
	again, err := x.ByMRN(ctx, "MRN", "00420001")
	testenv.Must(t, err, "patient after A04 again")
	if !again.UpdatedAt.Equal(p.UpdatedAt) {
		t.Errorf("the same A04 twice updated the record (%v, then %v)", p.UpdatedAt, again.UpdatedAt)
	}

	// A08 updates: a new address, phone erased; fields left empty keep their value.
	code, _, text = msa(t, c.send(adt("A08", "M2",
		`PID|1||00420001^^^HOSP^MR||||||||9 Oak Ave^^Shelbyville^IL^62565||""`)))
	if code != "AA" {
		t.Fatalf("A08: %s %q", code, text)
	}
	p, err = x.ByMRN(ctx, "MRN", "00420001")
	testenv.Must(t, err, "patient after A08")
	if p.Address != "9 Oak Ave" || p.City != "Shelbyville" || p.Phone != "" || p.Family != "Everyman" || p.BirthDate.String() != "1961-03-15" {
		t.Errorf("after A08: %+v", p)
	}

	// A28 and A31 (person information) add and update too.
	for i, ev := range []string{"A28", "A31"} {
		if code, _, text := msa(t, c.send(adt(ev, "M3"+ev, pidOrdinary))); code != "AA" {
			t.Fatalf("%s: %s %q", ev, code, text)
		}
		if _, err := x.ByMRN(ctx, "MRN", "00420002"); err != nil {
			t.Fatalf("%s (%d): %v", ev, i, err)
		}
	}

	// Malformed messages: AE, with the field named and no value repeated.
	for _, tc := range []struct{ name, msg, want string }{
		{"bad birth date", adt("A08", "M4", `PID|1||00420001^^^HOSP^MR||Everyman^Adam||19611345|M`), "PID-7 birth date"},
		{"no MR identifier", adt("A04", "M5", `PID|1||123-45-6789^^^SSA^SS||Everyman^Adam`), "PID-3 has no identifier of type MR"},
		{"no PID", adt("A04", "M6", "PV1|1|O"), "PID segment is missing"},
		{"new patient without a name", adt("A04", "M7", `PID|1||00429999^^^HOSP^MR||||19610315`), "PID-5"},
		{"bad sex", adt("A04", "M8", `PID|1||00420001^^^HOSP^MR||Everyman^Adam||19610315|Z`), "PID-8 sex"},
		{"MRN too long", adt("A04", "M9", `PID|1||`+strings.Repeat("9", 70)+`^^^HOSP^MR||Everyman^Adam`), "mrn is longer than 64"},
	} {
		code, control, text := msa(t, c.send(tc.msg))
		if code != "AE" || !strings.Contains(text, tc.want) {
			t.Errorf("%s: %s %s %q, want AE with %q", tc.name, code, control, text, tc.want)
		}
		if strings.Contains(text, "1961") || strings.Contains(text, "00420001") || strings.Contains(text, "Everyman") {
			t.Errorf("%s: ACK text %q repeats patient data", tc.name, text)
		}
	}
	// Not HL7 at all: AE, on the same connection.
	ack := c.send("this is not HL7")
	if code, _, text := msa(t, ack); code != "AE" || !strings.Contains(text, "MSH") {
		t.Errorf("garbage: %s %q, want AE naming MSH", code, text)
	}
	if m, err := hl7.Parse([]byte(ack)); err == nil {
		if e, ok := m.Segment("ERR"); !ok || e.Field(3).Component(1).String() != "100" {
			t.Errorf("garbage: ERR segment %v", ok)
		}
	}

	// Unsupported types: AR.
	for _, tc := range []struct{ name, msg string }{
		{"lab result", `MSH|^~\&|LAB|HOSP|PAPERCHART|HOSP|20260101||ORU^R01^ORU_R01|M10|P|2.5.1` + "\rPID|1||00420001^^^HOSP^MR\r"},
		{"discharge", adt("A03", "M11", pidEveryman)},
	} {
		code, control, text := msa(t, c.send(tc.msg))
		if code != "AR" || !strings.Contains(text, "unsupported message type") || control == "" {
			t.Errorf("%s: %s %s %q, want AR unsupported message type", tc.name, code, control, text)
		}
	}
	if code, _, text := msa(t, c.send(strings.Replace(adt("A04", "M12", pidEveryman), "|P|2.5.1", "|P|2.2", 1))); code != "AR" || !strings.Contains(text, "version") {
		t.Errorf("HL7 2.2: %s %q, want AR about the version", code, text)
	}

	// The patient is unchanged by all the refused messages.
	after, err := x.ByMRN(ctx, "MRN", "00420001")
	testenv.Must(t, err, "patient after refused messages")
	if !after.UpdatedAt.Equal(p.UpdatedAt) || after.Sex != patients.SexMale {
		t.Errorf("refused messages changed the record: %+v", after)
	}

	// Graceful stop: Serve returns, and the connection is closed.
	testenv.Must(t, stop(), "stop")
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); err == nil {
		t.Error("the connection is still open after the server stopped")
	}
}

func TestADTMerge(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	x := patients.New(db.Pool(), patients.Options{})
	addr, _ := listener(t, db, &hl7.Server{})
	c := dial(t, addr)
	for i, pid := range []string{pidEveryman, pidOrdinary} {
		if code, _, text := msa(t, c.send(adt("A04", "R"+string(rune('0'+i)), pid))); code != "AA" {
			t.Fatalf("A04: %s %q", code, text)
		}
	}
	retired, err := x.ByMRN(ctx, "MRN", "00420002")
	testenv.Must(t, err, "retired patient")
	doc := fileDocument(t, db, retired.ID, storage.DocFiled)

	// A40: 00420002 was a duplicate of 00420001.
	merge := adt("A40", "G1", `PID|1||00420001^^^HOSP^MR||Everyman^Adam^J||19610315|M`, `MRG|00420002^^^HOSP^MR`)
	if code, _, text := msa(t, c.send(merge)); code != "AA" {
		t.Fatalf("A40: %s %q", code, text)
	}
	survivor, err := x.ByMRN(ctx, "MRN", "00420001")
	testenv.Must(t, err, "survivor")
	r, err := x.ByID(ctx, retired.ID)
	testenv.Must(t, err, "retired")
	if r.Active || r.MergedInto == nil || *r.MergedInto != survivor.ID {
		t.Errorf("retired record after A40: active %v, merged into %v, want %d", r.Active, r.MergedInto, survivor.ID)
	}
	var owner int64
	var source string
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT patient_id FROM documents WHERE id = $1`, doc).Scan(&owner), "document owner")
	if owner != survivor.ID {
		t.Errorf("document filed to patient %d after the merge, want %d", owner, survivor.ID)
	}
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT source FROM patient_merges WHERE retired_id = $1`, retired.ID).Scan(&source), "merge record")
	if source != hl7.MergeSource {
		t.Errorf("merge source %q, want %q", source, hl7.MergeSource)
	}

	// The same A40 again: AA, nothing more.
	if code, _, text := msa(t, c.send(merge)); code != "AA" {
		t.Errorf("A40 again: %s %q", code, text)
	}
	var merges int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM patient_merges`).Scan(&merges), "count merges")
	if merges != 1 {
		t.Errorf("%d merges recorded, want 1", merges)
	}

	// An update of the retired record keeps it retired.
	if code, _, text := msa(t, c.send(adt("A08", "U1", `PID|1||00420002^^^HOSP^MR||Ordinary^Evelyn`))); code != "AA" {
		t.Fatalf("A08 of the retired record: %s %q", code, text)
	}
	r, err = x.ByID(ctx, retired.ID)
	testenv.Must(t, err, "retired")
	if r.Active || r.MergedInto == nil || r.Given != "Evelyn" {
		t.Errorf("retired record after A08: active %v, merged into %v, given %q", r.Active, r.MergedInto, r.Given)
	}

	// A40 to a new MRN creates the survivor from the PID and moves the documents.
	toNew := adt("A40", "G2", `PID|1||00420003^^^HOSP^MR||Newname^Adam||19610315|M`, `MRG|00420001^^^HOSP^MR`)
	if code, _, text := msa(t, c.send(toNew)); code != "AA" {
		t.Fatalf("A40 to a new MRN: %s %q", code, text)
	}
	fresh, err := x.ByMRN(ctx, "MRN", "00420003")
	testenv.Must(t, err, "new survivor")
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT patient_id FROM documents WHERE id = $1`, doc).Scan(&owner), "document owner")
	if owner != fresh.ID {
		t.Errorf("document filed to patient %d after the second merge, want %d", owner, fresh.ID)
	}

	for _, tc := range []struct{ name, msg, code, want string }{
		{"no MRG", adt("A40", "G3", `PID|1||00420003^^^HOSP^MR`), "AE", "MRG segment"},
		{"same patient", adt("A40", "G4", `PID|1||00420003^^^HOSP^MR`, `MRG|00420003^^^HOSP^MR`), "AE", "same patient"},
		{"cycle", adt("A40", "G5", `PID|1||00420002^^^HOSP^MR`, `MRG|00420003^^^HOSP^MR`), "AE", "cycle"},
		{"prior patient unknown", adt("A40", "G6", `PID|1||00420003^^^HOSP^MR`, `MRG|00777777^^^HOSP^MR`), "AA", "not in the patient index"},
	} {
		code, _, text := msa(t, c.send(tc.msg))
		if code != tc.code || !strings.Contains(text, tc.want) {
			t.Errorf("%s: %s %q, want %s with %q", tc.name, code, text, tc.code, tc.want)
		}
	}
}

// TestADTAudit checks that every patient record ADT messages create,
// change or merge (which moves documents) is in the audit trail, by patient
// ID and without patient data, and that messages changing nothing add no
// entry.
func TestADTAudit(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	x := patients.New(db.Pool(), patients.Options{})
	trail := audit.New(db.Pool())
	addr, _ := listener(t, db, &hl7.Server{})
	c := dial(t, addr)
	type step struct {
		name, msg string
		want      []string // the entries it adds: action and resource, by patient MRN
	}
	id := func(mrn string) int64 {
		p, err := x.ByMRN(ctx, "MRN", mrn)
		testenv.Must(t, err, "patient %s", mrn)
		return p.ID
	}
	for _, st := range []step{
		{"A04 of a new patient", adt("A04", "C1", pidEveryman), []string{"patient.create 00420001"}},
		{"the same A04 again", adt("A04", "C1", pidEveryman), nil},
		{"A08 with a new address", adt("A08", "C2", `PID|1||00420001^^^HOSP^MR||||||||9 Oak Ave^^Shelbyville^IL^62565`), []string{"patient.update 00420001"}},
		{"A08 changing nothing", adt("A08", "C3", `PID|1||00420001^^^HOSP^MR||||||||9 Oak Ave^^Shelbyville^IL^62565`), nil},
		{"A28 of another patient", adt("A28", "C4", pidOrdinary), []string{"patient.create 00420002"}},
		{"refused A08", adt("A08", "C5", `PID|1||00420001^^^HOSP^MR||Everyman^Adam||19611345|M`), nil},
		{"A40", adt("A40", "C6", `PID|1||00420001^^^HOSP^MR`, `MRG|00420002^^^HOSP^MR`), []string{"patient.merge 00420002"}},
		{"the same A40 again", adt("A40", "C6", `PID|1||00420001^^^HOSP^MR`, `MRG|00420002^^^HOSP^MR`), nil},
		{"A40 into a new patient", adt("A40", "C7", `PID|1||00420003^^^HOSP^MR||Newname^Adam||19610315|M`, `MRG|00420001^^^HOSP^MR`),
			[]string{"patient.create 00420003", "patient.merge 00420001"}},
	} {
		before, err := trail.List(ctx, audit.Filter{Limit: 1})
		testenv.Must(t, err, "audit list")
		var last int64
		if len(before) > 0 {
			last = before[0].ID
		}
		msa(t, c.send(st.msg))
		es, err := trail.List(ctx, audit.Filter{Limit: 100})
		testenv.Must(t, err, "audit list")
		var added []audit.Entry
		for _, e := range es {
			if e.ID > last {
				added = append([]audit.Entry{e}, added...) // List is newest first
			}
		}
		if len(added) != len(st.want) {
			t.Errorf("%s: %d audit entries %+v, want %v", st.name, len(added), added, st.want)
			continue
		}
		for i, e := range added {
			action, mrn, _ := strings.Cut(st.want[i], " ")
			pid := id(mrn)
			if e.Action != action || e.Resource != fmt.Sprintf("Patient/%d", pid) || e.Actor != "hl7:REG" ||
				e.Outcome != audit.OutcomeOK || !strings.HasPrefix(e.Remote, "127.0.0.1:") || e.PatientID == nil {
				t.Errorf("%s: entry %+v, want %s of Patient/%d by hl7:REG from 127.0.0.1", st.name, e, action, pid)
				continue
			}
			want := pid // the survivor, for a merge
			if action == audit.ActionPatientMerge {
				p, err := x.Resolve(ctx, pid)
				testenv.Must(t, err, "survivor")
				want = p.ID
			}
			if *e.PatientID != want {
				t.Errorf("%s: entry's patient %d, want %d", st.name, *e.PatientID, want)
			}
			for _, phi := range []string{"Everyman", "Ordinary", "Newname", "0042000", "1961", "Oak"} {
				if strings.Contains(e.Resource+e.Detail+e.Actor, phi) {
					t.Errorf("%s: entry %+v carries patient data (%q)", st.name, e, phi)
				}
			}
		}
	}
	rep, err := trail.Verify(ctx)
	testenv.Must(t, err, "verify")
	if !rep.Intact || rep.Entries != 6 {
		t.Errorf("audit chain %+v, want 6 intact entries", rep)
	}

	// An audit trail that cannot be written undoes the change and answers
	// AR, so that the sender sends the message again.
	_, err = db.Pool().Exec(ctx, `CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit trail down'; END $$;
		CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_down()`)
	testenv.Must(t, err, "break the audit trail")
	again := adt("A04", "C8", `PID|1||00420009^^^HOSP^MR||Ordinary^Eve||19620704|F`)
	if code, _, text := msa(t, c.send(again)); code != "AR" {
		t.Errorf("A04 with the audit trail down: %s %q, want AR", code, text)
	}
	if _, err := x.ByMRN(ctx, "MRN", "00420009"); !errors.Is(err, patients.ErrNotFound) {
		t.Errorf("patient created without its audit entry: %v", err)
	}
	_, err = db.Pool().Exec(ctx, `DROP TRIGGER audit_down ON audit_log`)
	testenv.Must(t, err, "mend the audit trail")
	if code, _, text := msa(t, c.send(again)); code != "AA" {
		t.Errorf("A04 sent again: %s %q, want AA", code, text)
	}
	if es, err := trail.List(ctx, audit.Filter{Limit: 1}); err != nil || len(es) != 1 || es[0].Action != audit.ActionPatientCreate ||
		es[0].Resource != fmt.Sprintf("Patient/%d", id("00420009")) {
		t.Errorf("last entry after the A04 sent again: %+v, %v", es, err)
	}
}

func TestServerLimits(t *testing.T) {
	db := testenv.DB(t)
	addr, _ := listener(t, db, &hl7.Server{MaxMessage: 512, IdleTimeout: 300 * time.Millisecond})

	// Too large: AR naming the limit, then the connection goes on.
	c := dial(t, addr)
	big := adt("A04", "BIG1", pidEveryman, "NTE|1||"+strings.Repeat("x", 1000))
	code, control, text := msa(t, c.send(big))
	if code != "AR" || control != "BIG1" || !strings.Contains(text, "larger than 512 bytes") {
		t.Errorf("large message: %s %s %q", code, control, text)
	}
	if code, _, text := msa(t, c.send(adt("A04", "OK1", pidEveryman))); code != "AA" {
		t.Errorf("after a large message: %s %q", code, text)
	}

	// Idle: closed after IdleTimeout.
	start := time.Now()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); err == nil {
		t.Error("idle connection: read a byte, want the connection closed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about 300ms", d)
	}

	// Not MLLP: closed.
	c = dial(t, addr)
	c.conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); err == nil {
		t.Error("HTTP request: read a byte, want the connection closed")
	}

	// Several connections at once, each with its own messages.
	done := make(chan error, 4)
	for i := range 4 {
		go func() { done <- sendOnce(addr, adt("A08", "P"+string(rune('a'+i)), pidEveryman)) }()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Errorf("concurrent connection: %v", err)
		}
	}
}

// sendOnce sends one message on a connection of its own and checks the
// answer is AA, without the testing.T (it runs in goroutines).
func sendOnce(addr, msg string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write([]byte("\x0b" + msg + "\x1c\r")); err != nil {
		return err
	}
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for !strings.Contains(string(buf), "\x1c\r") {
		n, err := conn.Read(tmp)
		if err != nil {
			return err
		}
		buf = append(buf, tmp[:n]...)
	}
	m, err := hl7.Parse([]byte(strings.Trim(string(buf), "\x0b\x1c\r")))
	if err != nil {
		return err
	}
	if a, _ := m.Segment("MSA"); a.Field(1).String() != "AA" {
		return errors.New("answer " + a.Field(1).String() + ": " + a.Field(3).String())
	}
	return nil
}
