package hl7_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paperchart/chart"
	"paperchart/hl7"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
)

// fakeEHR is an EHR's MLLP endpoint on a real TCP port: it records every
// message and answers each with the ACK code answer gives it.
type fakeEHR struct {
	addr   string
	mu     sync.Mutex
	got    []*hl7.Message
	answer func(n int, m *hl7.Message) string // n counts messages from 1
	delay  time.Duration                      // before each answer
}

func newFakeEHR(t *testing.T, answer func(n int, m *hl7.Message) string) *fakeEHR {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "listen")
	f := &fakeEHR{addr: ln.Addr().String(), answer: answer}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { f.serve(conn) })
		}
	})
	return f
}

func (f *fakeEHR) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if b, err := r.ReadByte(); err != nil || b != 0x0b {
			return
		}
		body, err := r.ReadString(0x1c)
		if err != nil {
			return
		}
		r.ReadByte() // CR
		m, err := hl7.Parse([]byte(strings.TrimSuffix(body, "\x1c")))
		if err != nil {
			return
		}
		f.mu.Lock()
		f.got = append(f.got, m)
		n := len(f.got)
		f.mu.Unlock()
		time.Sleep(f.delay)
		code := f.answer(n, m)
		ack := "MSH|^~\\&|EHR|HOSP|PAPERCHART||20260101||ACK^T02^ACK|E" + strconv.Itoa(n) + "|P|2.5.1\rMSA|" + code + "|" + m.ControlID() + "|" + "refused for a test" + "\r"
		if _, err := conn.Write([]byte("\x0b" + ack + "\x1c\r")); err != nil {
			return
		}
	}
}

func (f *fakeEHR) messages() []*hl7.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*hl7.Message(nil), f.got...)
}

type outboxRow struct {
	state, lastAck, lastError string
	attempts                  int
}

func outboxOf(t testing.TB, db *storage.DB, docID int64) outboxRow {
	t.Helper()
	var r outboxRow
	testenv.Must(t, db.Pool().QueryRow(context.Background(), `SELECT state, attempts, last_ack, last_error
		FROM hl7_outbox WHERE document_id = $1`, docID).Scan(&r.state, &r.attempts, &r.lastAck, &r.lastError), "outbox row of document %d", docID)
	return r
}

// waitFor polls until cond holds, for 15 s at most.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// run starts the sender; the returned stop ends it and waits.
func run(t testing.TB, s *hl7.Sender) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sender: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the sender did not stop within 10 s")
		}
	}
	t.Cleanup(stop)
	return stop
}

func testPatient(t testing.TB, db *storage.DB, mrn string) patients.Patient {
	t.Helper()
	x := patients.New(db.Pool(), patients.Options{})
	res, err := x.Upsert(context.Background(), patients.Patient{MRN: mrn, Family: "Everyman", Given: "Adam",
		BirthDate: chart.Date{Year: 1961, Month: 3, Day: 15}, Sex: "M"})
	testenv.Must(t, err, "add patient")
	p, err := x.ByID(context.Background(), res.ID)
	testenv.Must(t, err, "read patient")
	return p
}

func TestSenderRetriesUntilAccepted(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	p := testPatient(t, db, "00430001")
	doc := fileDocument(t, db, p.ID, storage.DocFiled)
	out := hl7.NewOutbox(db.Pool())
	testenv.Must(t, out.Enqueue(ctx, doc), "enqueue")
	testenv.Must(t, out.Enqueue(ctx, doc), "enqueue again") // idempotent

	ehr := newFakeEHR(t, func(n int, _ *hl7.Message) string {
		if n == 1 {
			return "AE"
		}
		return "AA"
	})
	log, lb := newLog(t)
	s := &hl7.Sender{Outbox: out, Addr: ehr.addr, Self: hl7.Endpoint{App: "PAPERCHART", Facility: "PC"},
		Receiver: hl7.Endpoint{App: "EHR", Facility: "HOSP"}, FHIRBase: "https://pc.example.org/fhir/",
		Identifiers: hl7.Identifiers{Authorities: map[string]string{"HOSP": "MRN"}},
		Backoff:     100 * time.Millisecond, Poll: 20 * time.Millisecond, Log: log}
	start := time.Now()
	stop := run(t, s)
	waitFor(t, "the message marked sent", func() bool { return outboxOf(t, db, doc).state == "sent" })
	took := time.Since(start)
	stop()

	row := outboxOf(t, db, doc)
	if row.attempts != 2 || row.lastAck != "AA" || row.lastError != "" {
		t.Errorf("outbox row %+v, want 2 attempts, last AA", row)
	}
	if took < 100*time.Millisecond {
		t.Errorf("sent in %v: the retry did not wait for the backoff", took)
	}
	msgs := ehr.messages()
	if len(msgs) != 2 {
		t.Fatalf("the EHR got %d messages, want 2", len(msgs))
	}
	if msgs[0].ControlID() != msgs[1].ControlID() {
		t.Errorf("control IDs %q then %q: a retry must keep its control ID", msgs[0].ControlID(), msgs[1].ControlID())
	}
	m := msgs[1]
	seg := func(name string) hl7.Segment {
		s, ok := m.Segment(name)
		if !ok {
			t.Fatalf("MDM without %s", name)
		}
		return s
	}
	code, event, structure := m.Type()
	msh, pid, txa, obx := seg("MSH"), seg("PID"), seg("TXA"), seg("OBX")
	seg("EVN")
	seg("PV1")
	docStr := strconv.FormatInt(doc, 10)
	for _, c := range []struct{ name, got, want string }{
		{"MSH-9", code + "^" + event + "^" + structure, "MDM^T02^MDM_T02"},
		{"MSH-3", msh.Field(3).String(), "PAPERCHART"},
		{"MSH-4", msh.Field(4).String(), "PC"},
		{"MSH-5", msh.Field(5).String(), "EHR"},
		{"MSH-6", msh.Field(6).String(), "HOSP"},
		{"MSH-12", m.Version(), "2.5.1"},
		{"PID-3", pid.Field(3).Raw(), "00430001^^^HOSP^MR"},
		{"PID-5", pid.Field(5).Raw(), "Everyman^Adam"},
		{"PID-7", pid.Field(7).String(), "19610315"},
		{"PID-8", pid.Field(8).String(), "M"},
		{"TXA-2", txa.Field(2).Raw(), "18842-5^Discharge summary^LN"},
		{"TXA-3", txa.Field(3).String(), "AP"},
		{"TXA-4", txa.Field(4).String(), "20251224"},
		{"TXA-12", txa.Field(12).Raw(), docStr + "^PAPERCHART"},
		{"TXA-17", txa.Field(17).String(), "AU"},
		{"TXA-19", txa.Field(19).String(), "AV"},
		{"OBX-2", obx.Field(2).String(), "RP"},
		{"OBX-3", obx.Field(3).Raw(), "18842-5^Discharge summary^LN"},
		{"OBX-5.1", obx.Field(5).Component(1).String(), "https://pc.example.org/fhir/Binary/" + docStr},
		{"OBX-5.3", obx.Field(5).Component(3).String(), "AP"},
		{"OBX-5.4", obx.Field(5).Component(4).String(), "PDF"},
		{"OBX-11", obx.Field(11).String(), "F"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if txa.Field(6).String() == "" {
		t.Error("TXA-6 origination date-time is empty")
	}

	// Enqueue once sent changes nothing; stats count it.
	testenv.Must(t, out.Enqueue(ctx, doc), "enqueue after sending")
	if row := outboxOf(t, db, doc); row.state != "sent" {
		t.Errorf("enqueue after sending: state %s", row.state)
	}
	st, err := out.Stats(ctx, 10)
	testenv.Must(t, err, "stats")
	if st.Sent != 1 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
	logs := lb.String()
	if !strings.Contains(logs, "ack=AE") || !strings.Contains(logs, "MDM message sent") {
		t.Errorf("the log does not tell the AE and the sending:\n%s", logs)
	}
	noPatientData(t, logs, "Everyman", "Adam", "00430001", "19610315", "1961-03-15", "refused for a test")
}

func TestSenderFailingAndSkipped(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	p := testPatient(t, db, "00430002")
	filed := fileDocument(t, db, p.ID, storage.DocFiled)
	review := fileDocument(t, db, p.ID, storage.DocReview)
	out := hl7.NewOutbox(db.Pool())
	testenv.Must(t, out.Enqueue(ctx, filed), "enqueue filed")
	testenv.Must(t, out.Enqueue(ctx, review), "enqueue review")
	if err := out.Enqueue(ctx, 999999); err == nil {
		t.Error("enqueue of a document that does not exist: no error")
	}

	ehr := newFakeEHR(t, func(int, *hl7.Message) string { return "AR" })
	log, _ := newLog(t)
	s := &hl7.Sender{Outbox: out, Addr: ehr.addr, FHIRBase: "http://127.0.0.1:8080/fhir",
		Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, MaxAttempts: 3, SlowRetry: time.Hour,
		Poll: 10 * time.Millisecond, Log: log}
	stop := run(t, s)
	waitFor(t, "three attempts", func() bool { return outboxOf(t, db, filed).attempts >= 3 })
	waitFor(t, "the review document skipped", func() bool { return outboxOf(t, db, review).state == "skipped" })
	time.Sleep(200 * time.Millisecond) // the next try is an hour away: no fourth attempt
	stop()
	row := outboxOf(t, db, filed)
	if row.state != "pending" || row.attempts != 3 || row.lastAck != "AR" || !strings.Contains(row.lastError, "AR") {
		t.Errorf("failing message: %+v, want pending after 3 attempts, last AR", row)
	}
	var next time.Time
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT next_attempt_at FROM hl7_outbox WHERE document_id = $1`, filed).Scan(&next), "next attempt")
	if until := time.Until(next); until < 50*time.Minute {
		t.Errorf("after MaxAttempts the next attempt is in %v, want about an hour", until)
	}
	st, err := out.Stats(ctx, 3)
	testenv.Must(t, err, "stats")
	if st.Failing != 1 || st.Pending != 1 || st.Skipped != 1 || st.OldestPending == nil {
		t.Errorf("stats %+v, want 1 failing, 1 pending, 1 skipped", st)
	}
	if n := len(ehr.messages()); n != 3 {
		t.Errorf("the EHR got %d messages, want 3 (the document in review is not sent)", n)
	}

	// Filed later and queued again: the skipped message is pending again.
	_, err = db.Pool().Exec(ctx, `UPDATE documents SET state = 'filed', patient_id = $2, filed_at = now() WHERE id = $1`, review, p.ID)
	testenv.Must(t, err, "file the reviewed document")
	testenv.Must(t, out.Enqueue(ctx, review), "enqueue again")
	if row := outboxOf(t, db, review); row.state != "pending" || row.attempts != 0 {
		t.Errorf("re-queued skipped message: %+v", row)
	}
}

func TestSenderEHRDown(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	p := testPatient(t, db, "00430003")
	doc := fileDocument(t, db, p.ID, storage.DocFiled)
	out := hl7.NewOutbox(db.Pool())
	testenv.Must(t, out.Enqueue(ctx, doc), "enqueue")
	// A port that refuses connections: take one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "listen")
	addr := ln.Addr().String()
	ln.Close()
	log, _ := newLog(t)
	stop := run(t, &hl7.Sender{Outbox: out, Addr: addr, FHIRBase: "http://x/fhir", Backoff: 20 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond, Poll: 10 * time.Millisecond, Log: log})
	waitFor(t, "two failed attempts", func() bool { return outboxOf(t, db, doc).attempts >= 2 })
	stop()
	row := outboxOf(t, db, doc)
	if row.state != "pending" || row.lastAck != "" || !strings.Contains(row.lastError, "connect to the EHR") {
		t.Errorf("outbox row %+v, want pending with a connection error", row)
	}
}

// Two senders on one outbox never send a message twice.
func TestSendersShareTheOutbox(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	p := testPatient(t, db, "00430004")
	out := hl7.NewOutbox(db.Pool())
	const n = 12
	for range n {
		testenv.Must(t, out.Enqueue(ctx, fileDocument(t, db, p.ID, storage.DocFiled)), "enqueue")
	}
	ehr := newFakeEHR(t, func(int, *hl7.Message) string { return "AA" })
	ehr.delay = 20 * time.Millisecond // messages in flight overlap
	log, _ := newLog(t)
	var stops []func()
	for range 2 {
		stops = append(stops, run(t, &hl7.Sender{Outbox: out, Addr: ehr.addr, FHIRBase: "http://x/fhir",
			Poll: 10 * time.Millisecond, Log: log}))
	}
	waitFor(t, "every message sent", func() bool {
		st, err := out.Stats(ctx, 10)
		return err == nil && st.Sent == n
	})
	for _, stop := range stops {
		stop()
	}
	seen := map[string]int{}
	for _, m := range ehr.messages() {
		seen[m.ControlID()]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s sent %d times", id, k)
		}
	}
}

func TestSenderNeedsAnAddress(t *testing.T) {
	err := (&hl7.Sender{}).Run(context.Background())
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("Run without an address: %v, want an error", err)
	}
}
