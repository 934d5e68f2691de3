package hl7_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"paperchart/hl7"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

// logBuffer collects log lines for checks and passes them to the test log.
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLog(t testing.TB) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{t: t}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// noPatientData fails the test when the log holds any of the values.
func noPatientData(t testing.TB, log string, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(log, v) {
			t.Errorf("the log holds patient data %q", v)
		}
	}
}

// mllpClient is a sending system on a real TCP connection.
type mllpClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *mllpClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	testenv.Must(t, err, "dial %s", addr)
	t.Cleanup(func() { conn.Close() })
	return &mllpClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// send sends one framed message and returns the ACK's frame.
func (c *mllpClient) send(msg string) string {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(20 * time.Second))
	_, err := c.conn.Write([]byte("\x0b" + msg + "\x1c\r"))
	testenv.Must(c.t, err, "send")
	return c.read()
}

// read reads one framed message.
func (c *mllpClient) read() string {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if b, err := c.r.ReadByte(); err != nil || b != 0x0b {
		c.t.Fatalf("read ACK: start byte %#x, %v", b, err)
	}
	body, err := c.r.ReadString(0x1c)
	testenv.Must(c.t, err, "read ACK")
	if b, err := c.r.ReadByte(); err != nil || b != '\r' {
		c.t.Fatalf("read ACK: byte after the end block %#x, %v", b, err)
	}
	return strings.TrimSuffix(body, "\x1c")
}

// msa returns an ACK's MSA-1, MSA-2 and MSA-3.
func msa(t testing.TB, ack string) (code, control, text string) {
	t.Helper()
	m, err := hl7.Parse([]byte(ack))
	testenv.Must(t, err, "parse ACK %q", ack)
	s, ok := m.Segment("MSA")
	if !ok {
		t.Fatalf("ACK without MSA: %q", ack)
	}
	return s.Field(1).String(), s.Field(2).String(), s.Field(3).String()
}

// adt builds an ADT message of event ev with control ID id and the segments after MSH.
func adt(ev, id string, segs ...string) string {
	structure := map[string]string{"A28": "ADT_A05", "A31": "ADT_A05", "A40": "ADT_A39"}[ev]
	if structure == "" {
		structure = "ADT_A01"
	}
	head := fmt.Sprintf(`MSH|^~\&|REG|HOSP|PAPERCHART|HOSP|20260101120000||ADT^%s^%s|%s|P|2.5.1`, ev, structure, id)
	return strings.Join(append([]string{head, "EVN|" + ev + "|20260101120000"}, segs...), "\r") + "\r"
}

// fileDocument records a batch with one document filed to the patient
// and returns the document's ID.
func fileDocument(t testing.TB, db *storage.DB, patientID int64, state string) int64 {
	t.Helper()
	ctx := context.Background()
	var batchID, docID int64
	name := testenv.Name("b")
	testenv.Must(t, db.Pool().QueryRow(ctx, `INSERT INTO batches (source, name, ingest_key, sha256, size, state)
		VALUES ('test', $1, $1, $1, 1, 'done') RETURNING id`, name).Scan(&batchID), "insert batch")
	var pid *int64
	var filedAt *time.Time
	if state == storage.DocFiled {
		now := time.Now()
		pid, filedAt = &patientID, &now
	}
	testenv.Must(t, db.Pool().QueryRow(ctx, `INSERT INTO documents (batch_id, seq, state, pages, object_key, patient_id,
			type, loinc, title, service_date, separated_by, split_confidence, split_review, type_confidence, type_review,
			patient_suggested, patient_confidence, patient_review, filed_by, filed_at)
		VALUES ($1, 1, $2, '{1,2}', 'documents/x.pdf', $3, 'discharge-summary', '18842-5', 'Discharge summary', '2025-12-24',
			'cover', 1, false, 1, false, $4, 1, false, 'auto', $5) RETURNING id`,
		batchID, state, pid, patientID, filedAt).Scan(&docID), "insert document")
	return docID
}
