package hl7

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"paperchart/chart"
	"paperchart/classify"
	"paperchart/patients"
)

// Sender defaults.
const (
	DefaultAckTimeout  = 30 * time.Second
	DefaultDialTimeout = 10 * time.Second
	DefaultBackoff     = 5 * time.Second
	DefaultMaxBackoff  = 10 * time.Minute
	DefaultMaxAttempts = 10
	DefaultSlowRetry   = time.Hour
	DefaultPoll        = 2 * time.Second
	// DefaultCompletion is TXA-17: the scanned paper was authenticated
	// where it was written.
	DefaultCompletion = "AU"
)

// Sender sends the outbox's MDM^T02 messages to the EHR over MLLP, one at
// a time on one connection that it keeps open, and waits for each ACK: AA
// (or CA) marks the message sent; AE, AR, no answer or no connection count
// an attempt and retry it after Backoff, doubled each attempt up to
// MaxBackoff; after MaxAttempts, every SlowRetry. A message's row is locked
// while it is sent (FOR UPDATE SKIP LOCKED), so several senders never send
// the same message at once; its control ID (MSH-10) stays the same across
// retries, so the EHR can tell a repeat. Zero fields take the defaults above.
type Sender struct {
	Outbox *Outbox
	// Addr is the EHR's MLLP host:port.
	Addr string
	// Self and Receiver are MSH-3/4 and MSH-5/6 of the messages.
	Self, Receiver Endpoint
	// Identifiers gives PID-3's assigning authority (Authorities read
	// backwards).
	Identifiers Identifiers
	// FHIRBase is the FHIR server's base URL; OBX-5 points at
	// FHIRBase/Binary/{document ID}.
	FHIRBase string
	// Completion is TXA-17, the document completion status: AU
	// (authenticated) or LA (legally authenticated).
	Completion string

	AckTimeout, DialTimeout time.Duration
	Backoff, MaxBackoff     time.Duration
	MaxAttempts             int
	SlowRetry               time.Duration
	Poll                    time.Duration // how often the outbox is read when nothing is due

	Log *slog.Logger // nil discards; IDs only
}

func (s *Sender) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// maxAttempts returns MaxAttempts, or its default.
func (s *Sender) maxAttempts() int { return orDefault(s.MaxAttempts, DefaultMaxAttempts) }

// delay returns how long to wait after the attempts-th failed attempt.
func (s *Sender) delay(attempts int) time.Duration {
	if attempts >= s.maxAttempts() {
		return orDefault(s.SlowRetry, DefaultSlowRetry)
	}
	d, most := orDefault(s.Backoff, DefaultBackoff), orDefault(s.MaxBackoff, DefaultMaxBackoff)
	for i := 1; i < attempts && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// Run sends due messages until ctx is done; it returns nil then. Database
// failures are logged and retried.
func (s *Sender) Run(ctx context.Context) error {
	if s.Outbox == nil || s.Addr == "" {
		return errors.New("hl7 sender: no outbox or no EHR address")
	}
	log := s.log()
	log.Info("MDM sender started", "ehr", s.Addr)
	c := &client{addr: s.Addr, dialTimeout: orDefault(s.DialTimeout, DefaultDialTimeout),
		ackTimeout: orDefault(s.AckTimeout, DefaultAckTimeout)}
	defer c.close()
	var pause time.Duration // after failures to reach the EHR or the database
	for {
		worked, reached, err := s.sendOne(ctx, c)
		wait := time.Duration(0)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil || worked && !reached:
			if err != nil {
				log.Error("MDM sender: database failure", "err", err)
			}
			pause = min(max(2*pause, orDefault(s.Backoff, DefaultBackoff)), orDefault(s.MaxBackoff, DefaultMaxBackoff))
			wait = pause
		case worked:
			pause = 0
		default:
			wait = orDefault(s.Poll, DefaultPoll)
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
}

// The outbox's message types (hl7_outbox.message_type).
const (
	messageT02 = "MDM^T02" // a document filed (original document notification and content)
	messageT11 = "MDM^T11" // a filed placement cancelled: the document was moved
)

// outgoing is what an MDM^T02 or T11 says of a document and its patient.
type outgoing struct {
	outboxID, docID int64
	messageType     string // messageT02 or messageT11
	attempts        int
	state           string
	patientID       *int64
	typ, loinc      string
	title           string
	serviceDate     *time.Time
	filedAt         *time.Time
	p               patients.Patient
}

// controlID is MSH-10 of the outbox message id, the same on every attempt.
func controlID(outboxID int64) string { return "PCMDM" + strconv.FormatInt(outboxID, 10) }

// sendOne sends the first due message, if any: worked says whether there
// was one, reached whether the EHR answered.
func (s *Sender) sendOne(ctx context.Context, c *client) (worked, reached bool, err error) {
	tx, err := s.Outbox.pool.Begin(ctx)
	if err != nil {
		return false, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var m outgoing
	// A message waits for every earlier one still pending of its document
	// (a T11 for its T02) and of the document it replaces (a moved
	// document's new T02 for the old one's T11): the EHR hears them in order.
	err = tx.QueryRow(ctx, `SELECT o.id, o.document_id, o.attempts, o.message_type FROM hl7_outbox o
		WHERE o.state = 'pending' AND o.next_attempt_at <= now()
			AND NOT EXISTS (SELECT 1 FROM hl7_outbox e WHERE e.state = 'pending' AND e.id < o.id
				AND (e.document_id = o.document_id
					OR e.document_id = (SELECT d.replaces FROM documents d WHERE d.id = o.document_id)))
		ORDER BY o.next_attempt_at, o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED`).Scan(&m.outboxID, &m.docID, &m.attempts, &m.messageType)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("claim a due MDM message: %w", err)
	}
	var auth, mrn, family, given, sex *string
	var birth *time.Time
	if err := tx.QueryRow(ctx, `SELECT d.state, d.patient_id, d.type, d.loinc, d.title, d.service_date, d.filed_at,
			p.assigning_authority, p.mrn, p.family, p.given, p.birth_date, p.sex
		FROM documents d LEFT JOIN patients p ON p.id = d.patient_id WHERE d.id = $1`, m.docID).Scan(
		&m.state, &m.patientID, &m.typ, &m.loinc, &m.title, &m.serviceDate, &m.filedAt,
		&auth, &mrn, &family, &given, &birth, &sex); err != nil {
		return true, false, fmt.Errorf("read document %d for its MDM message: %w", m.docID, err)
	}
	log := s.log().With("outbox_id", m.outboxID, "document_id", m.docID)
	// Done with the database until the EHR answers: the update must be
	// written even when ctx ends meanwhile.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	skip := ""
	switch {
	case m.patientID == nil || mrn == nil:
		skip = "the document is not filed to a patient"
	case m.messageType == messageT11 && m.state != "moved":
		skip = "the document was not moved"
	case m.messageType == messageT11:
		// Nothing to cancel unless the EHR was told of the placement.
		var announced bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM hl7_outbox WHERE document_id = $1
				AND message_type = 'MDM^T02' AND state = 'sent')`, m.docID).Scan(&announced); err != nil {
			return true, false, fmt.Errorf("read whether document %d was announced: %w", m.docID, err)
		}
		if !announced {
			skip = "the EHR was never told of the document's placement"
		}
	case m.state != "filed":
		skip = "the document is not filed to a patient"
	}
	if skip != "" {
		if _, err := tx.Exec(wctx, `UPDATE hl7_outbox SET state = 'skipped', last_error = $2 WHERE id = $1`,
			m.outboxID, skip); err != nil {
			return true, false, fmt.Errorf("skip MDM message %d: %w", m.outboxID, err)
		}
		if err := tx.Commit(wctx); err != nil {
			return true, false, fmt.Errorf("skip MDM message %d: commit: %w", m.outboxID, err)
		}
		log.Warn("MDM message skipped: "+skip, "type", m.messageType)
		return true, true, nil
	}
	m.p = patients.Patient{Authority: *auth, MRN: *mrn, Family: deref(family), Given: deref(given), Sex: deref(sex)}
	if birth != nil {
		m.p.BirthDate = chart.DateOf(*birth)
	}

	code, text, xerr := c.exchange(ctx, s.mdm(m, time.Now()), controlID(m.outboxID))
	if xerr != nil && ctx.Err() != nil {
		return true, false, nil // stopped mid-way: not an attempt; the row is unlocked as it was
	}
	m.attempts++
	if xerr == nil && (code == AckAccept || code == "CA") {
		if _, err := tx.Exec(wctx, `UPDATE hl7_outbox SET state = 'sent', sent_at = now(), attempts = $2,
				last_attempt_at = now(), last_ack = $3, last_error = '' WHERE id = $1`, m.outboxID, m.attempts, code); err != nil {
			return true, true, fmt.Errorf("mark MDM message %d sent: %w", m.outboxID, err)
		}
		if err := tx.Commit(wctx); err != nil {
			return true, true, fmt.Errorf("mark MDM message %d sent: commit: %w", m.outboxID, err)
		}
		log.Info("MDM message sent", "type", m.messageType, "attempts", m.attempts, "patient_id", *m.patientID)
		return true, true, nil
	}
	wait := s.delay(m.attempts)
	why := ""
	if xerr != nil {
		why = xerr.Error()
		code = ""
	} else {
		why = "the EHR answered " + code
		if text != "" {
			why += ": " + text // the EHR's words: kept in the table, never logged
		}
	}
	if _, err := tx.Exec(wctx, `UPDATE hl7_outbox SET attempts = $2, last_attempt_at = now(),
			next_attempt_at = now() + $3 * interval '1 millisecond', last_ack = $4, last_error = $5 WHERE id = $1`,
		m.outboxID, m.attempts, wait.Milliseconds(), code, truncate(why, 500)); err != nil {
		return true, xerr == nil, fmt.Errorf("record attempt of MDM message %d: %w", m.outboxID, err)
	}
	if err := tx.Commit(wctx); err != nil {
		return true, xerr == nil, fmt.Errorf("record attempt of MDM message %d: commit: %w", m.outboxID, err)
	}
	attrs := []any{"attempts", m.attempts, "retry_in", wait}
	if xerr != nil {
		attrs = append(attrs, "err", xerr)
	} else {
		attrs = append(attrs, "ack", code)
	}
	log.Warn("MDM message not accepted", attrs...)
	if m.attempts >= s.maxAttempts() {
		if st, err := s.Outbox.Stats(wctx, s.maxAttempts()); err == nil {
			log.Warn("MDM messages failing: retried hourly; see hl7_outbox.last_error", "failing", st.Failing, "pending", st.Pending)
		}
	}
	return true, xerr == nil, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// mdm builds the MDM^T02 of a document, or the MDM^T11 that cancels a
// moved one: the same PID (the patient it was filed to) and TXA, TXA-19
// saying the document is deleted from that placement, and no content (OBX).
func (s *Sender) mdm(m outgoing, now time.Time) []byte {
	w := newBuilder()
	app := s.Self.App
	if app == "" {
		app = "PAPERCHART"
	}
	event, structure := "T02", "MDM_T02"
	if m.messageType == messageT11 {
		event, structure = "T11", "MDM_T01"
	}
	w.segment("MSH", w.d.encoding(), w.text(app), w.text(s.Self.Facility), w.text(s.Receiver.App), w.text(s.Receiver.Facility),
		timestamp(now), "", w.comp("MDM", event, structure), w.text(controlID(m.outboxID)), "P", defaultVersion)
	w.segment("EVN", event, timestamp(now))
	birth := ""
	if !m.p.BirthDate.IsZero() {
		birth = m.p.BirthDate.Time().Format("20060102")
	}
	w.segment("PID", "1", "", w.comp(m.p.MRN, "", "", s.Identifiers.outbound(m.p.Authority), "MR"), "",
		w.comp(m.p.Family, m.p.Given), "", birth, hl7Sex(m.p.Sex))
	w.segment("PV1", "1", "U") // patient class unknown: no visit behind a scanned document

	display := m.title
	if t, ok := classify.Lookup(m.typ); ok {
		display = t.Display
	}
	docType := w.comp(m.loinc, display, "LN")
	completion := s.Completion
	if completion == "" {
		completion = DefaultCompletion
	}
	txa := make([]string, 20) // TXA-1 to TXA-20
	txa[0] = "1"
	txa[1] = docType
	txa[2] = "AP" // content presentation: other application data (a PDF)
	if m.serviceDate != nil {
		txa[3] = m.serviceDate.Format("20060102") // activity date: the date of service
	}
	if m.filedAt != nil {
		txa[5] = timestamp(*m.filedAt) // origination: when paperchart filed it
	}
	txa[11] = w.comp(strconv.FormatInt(m.docID, 10), app) // unique document number
	txa[16] = w.text(completion)
	txa[18] = "AV" // available for patient care
	txa[19] = "AC" // stored, active
	if m.messageType == messageT11 {
		txa[18] = "CA" // deleted: the placement is cancelled
		w.segment("TXA", txa...)
		return w.bytes()
	}
	w.segment("TXA", txa...)
	url := strings.TrimRight(s.FHIRBase, "/") + "/Binary/" + strconv.FormatInt(m.docID, 10)
	w.segment("OBX", "1", "RP", docType, "1", w.comp(url, app, "AP", "PDF"), "", "", "", "", "", "F")
	return w.bytes()
}

// client is one MLLP connection to the EHR, opened when needed and closed
// after any failure (the stream is in an unknown state then).
type client struct {
	addr                    string
	dialTimeout, ackTimeout time.Duration
	conn                    net.Conn
	r                       *bufio.Reader
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.r = nil, nil
	}
}

// maxAck bounds an ACK's size.
const maxAck = 64 << 10

// exchange sends msg and returns the ACK's MSA-1 and MSA-3. The ACK must
// answer control (MSA-2).
func (c *client) exchange(ctx context.Context, msg []byte, control string) (code, text string, err error) {
	if c.conn == nil {
		d := net.Dialer{Timeout: c.dialTimeout}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return "", "", fmt.Errorf("connect to the EHR: %w", err)
		}
		c.conn, c.r = conn, bufio.NewReader(conn)
	}
	c.conn.SetDeadline(time.Now().Add(c.ackTimeout))
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) // after the deadline above, to win over it
	defer stop()
	if err := writeFrame(c.conn, msg); err != nil {
		c.close()
		return "", "", fmt.Errorf("send to the EHR: %w", err)
	}
	reply, err := readFrame(c.r, maxAck, nil)
	if err != nil {
		c.close()
		return "", "", fmt.Errorf("wait for the EHR's ACK: %w", err)
	}
	a, err := Parse(reply)
	if err != nil {
		c.close()
		return "", "", fmt.Errorf("read the EHR's ACK: %w", err)
	}
	msa, ok := a.Segment("MSA")
	if !ok {
		c.close()
		return "", "", errors.New("read the EHR's ACK: it has no MSA segment")
	}
	if got := msa.Field(2).String(); got != control {
		c.close()
		return "", "", errors.New("read the EHR's ACK: it answers another message (MSA-2)")
	}
	code = strings.ToUpper(strings.TrimSpace(msa.Field(1).String()))
	switch code {
	case "AA", "AE", "AR", "CA", "CE", "CR":
	default:
		c.close()
		return "", "", errors.New("read the EHR's ACK: MSA-1 is not an acknowledgment code")
	}
	return code, msa.Field(3).String(), nil
}
