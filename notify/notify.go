// Package notify owns webhooks: an HTTP POST to a configured URL for every
// document that becomes filed, for systems that prefer callbacks to HL7 —
// a filed document a person moved to another patient or type included: its
// new document is filed, and its notice names the one it replaces.
//
// The notice holds IDs and codes only — document, patient, LOINC type,
// when it was filed, and the FHIR URLs to fetch it with a token — never
// names, MRNs or text. It is signed with HMAC-SHA256 over the timestamp and
// the body (X-Paperchart-Signature: sha256=<hex>), so the receiver can check
// it came from paperchart and is fresh. Notices come from the outbox table
// the filing transaction fills; a failed delivery is retried with
// exponential backoff (up to an hour apart) until the receiver answers 2xx.
// Several senders may run at once: each notice is locked while it is sent.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Notice is the JSON body of a webhook.
type Notice struct {
	Event             string    `json:"event"` // "document.filed"
	Delivery          int64     `json:"delivery"`
	DocumentID        int64     `json:"document_id"`
	PatientID         int64     `json:"patient_id"`
	LOINC             string    `json:"loinc"`
	FiledAt           time.Time `json:"filed_at"`
	DocumentReference string    `json:"document_reference,omitempty"` // FHIR URL
	Binary            string    `json:"binary,omitempty"`             // FHIR URL of the PDF
	// Replaces is the document this one replaces when a person moved a
	// filed document to another patient or type: that one is now FHIR
	// entered-in-error.
	Replaces int64 `json:"replaces,omitempty"`
}

// Sign returns the signature header value of body sent at timestamp ts
// (Unix seconds): "sha256=" and the hex HMAC-SHA256 of "ts.body".
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature made by Sign, and that ts is within maxAge of
// now.
func Verify(secret []byte, ts int64, body []byte, signature string, maxAge time.Duration, now time.Time) bool {
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// Sender delivers webhooks from the outbox.
type Sender struct {
	Pool     *pgxpool.Pool
	URL      string
	Secret   []byte
	FHIRBase string // for the URLs in the notice; empty leaves them out
	Client   *http.Client
	Log      *slog.Logger
	// Every is how often the outbox is looked at when it was empty.
	// Default 2 s.
	Every time.Duration
	// MaxBackoff caps the wait between attempts. Default 1 h.
	MaxBackoff time.Duration
}

// Run delivers until ctx is done.
func (s *Sender) Run(ctx context.Context) error {
	every := s.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	for {
		n, err := s.Once(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("webhook delivery", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// ErrNothingDue means no notice is due.
var errNothingDue = errors.New("nothing due")

// Once delivers at most one due notice and reports how many it tried.
func (s *Sender) Once(ctx context.Context) (int, error) {
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var n Notice
		var attempts int
		err := tx.QueryRow(ctx, `SELECT o.id, o.attempts, d.id, coalesce(d.patient_id, 0), d.loinc, coalesce(d.filed_at, now()), coalesce(d.replaces, 0)
			FROM webhook_outbox o JOIN documents d ON d.id = o.document_id
			WHERE o.state = 'pending' AND o.next_attempt_at <= now() AND d.state = 'filed'
			ORDER BY o.next_attempt_at, o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED`).
			Scan(&n.Delivery, &attempts, &n.DocumentID, &n.PatientID, &n.LOINC, &n.FiledAt, &n.Replaces)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNothingDue
		}
		if err != nil {
			return err
		}
		n.Event = "document.filed"
		if s.FHIRBase != "" {
			n.DocumentReference = fmt.Sprintf("%s/DocumentReference/%d", s.FHIRBase, n.DocumentID)
			n.Binary = fmt.Sprintf("%s/Binary/%d", s.FHIRBase, n.DocumentID)
		}
		status, derr := s.deliver(ctx, n)
		if derr == nil {
			_, err = tx.Exec(ctx, `UPDATE webhook_outbox SET state = 'sent', attempts = attempts + 1, last_status = $2,
				last_error = '', sent_at = now() WHERE id = $1`, n.Delivery, status)
			s.Log.Info("webhook delivered", "delivery", n.Delivery, "document", n.DocumentID)
			return err
		}
		wait := s.backoff(attempts + 1)
		_, err = tx.Exec(ctx, `UPDATE webhook_outbox SET attempts = attempts + 1, last_status = $2, last_error = $3,
			next_attempt_at = now() + $4 * interval '1 millisecond' WHERE id = $1`, n.Delivery, status, derr.Error(), wait.Milliseconds())
		s.Log.Warn("webhook not delivered; will retry", "delivery", n.Delivery, "document", n.DocumentID, "status", status,
			"attempt", attempts+1, "retry_in", wait, "err", derr)
		return err
	})
	if errors.Is(err, errNothingDue) {
		return 0, nil
	}
	if err != nil {
		return 1, fmt.Errorf("deliver a webhook: %w", err)
	}
	return 1, nil
}

func (s *Sender) backoff(attempt int) time.Duration {
	max := s.MaxBackoff
	if max <= 0 {
		max = time.Hour
	}
	d := 5 * time.Second << min(attempt-1, 20)
	return min(d, max)
}

// deliver POSTs one notice; a 2xx answer is success.
func (s *Sender) deliver(ctx context.Context, n Notice) (int, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook URL: %w", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paperchart-webhook/1")
	req.Header.Set("X-Paperchart-Event", n.Event)
	req.Header.Set("X-Paperchart-Delivery", strconv.FormatInt(n.Delivery, 10))
	req.Header.Set("X-Paperchart-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Paperchart-Signature", Sign(s.Secret, ts, body))
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post webhook: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
