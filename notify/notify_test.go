package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/notify"
)

func TestSignVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"a":1}`)
	now := time.Unix(1_800_000_000, 0)
	sig := notify.Sign(secret, now.Unix(), body)
	tests := []struct {
		name   string
		secret []byte
		ts     int64
		body   []byte
		sig    string
		want   bool
	}{
		{"good", secret, now.Unix(), body, sig, true},
		{"other secret", []byte("other"), now.Unix(), body, sig, false},
		{"body changed", secret, now.Unix(), []byte(`{"a":2}`), sig, false},
		{"replayed later", secret, now.Unix() - 3600, body, notify.Sign(secret, now.Unix()-3600, body), false},
		{"timestamp changed", secret, now.Unix() + 1, body, sig, false},
	}
	for _, tc := range tests {
		if got := notify.Verify(tc.secret, tc.ts, tc.body, tc.sig, 5*time.Minute, now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// receiver is a webhook endpoint that fails the first `fail` deliveries.
type receiver struct {
	mu      sync.Mutex
	fail    int
	got     map[int64]int // document → deliveries accepted
	tries   int
	badSigs int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get("X-Paperchart-Timestamp"), 10, 64)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.tries++
	if !notify.Verify([]byte("hook-secret"), ts, body, r.Header.Get("X-Paperchart-Signature"), time.Minute, time.Now()) {
		rc.badSigs++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	var n notify.Notice
	json.Unmarshal(body, &n)
	rc.got[n.DocumentID]++
}

func TestDelivery(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	db, obj, _, f := su.DB, su.Objects, su.Index, su.Filer
	id := filingtest.Batch(t, db, obj, "hook-"+testenv.Name(""), []filingtest.Page{
		{Text: filingtest.Discharge}, {Text: filingtest.Lab}, {Text: filingtest.Discharge}, {Text: filingtest.Stranger}})
	_, err := f.FileBatch(ctx, id)
	testenv.Must(t, err, "file")

	rc := &receiver{fail: 2, got: map[int64]int{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	sender := func(secret string) *notify.Sender {
		return &notify.Sender{Pool: db.Pool(), URL: srv.URL, Secret: []byte(secret), FHIRBase: "https://pc.example/fhir", Log: log, MaxBackoff: time.Millisecond}
	}
	// A sender with the wrong secret is refused, and retries later.
	if n, err := sender("wrong").Once(ctx); n != 1 || err != nil {
		t.Fatalf("once: %d %v", n, err)
	}
	// Two senders at once deliver each notice exactly once, through the
	// receiver's failures.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sender("hook-secret")
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
				n, err := s.Once(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					var left int
					db.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_outbox WHERE state = 'pending'`).Scan(&left)
					if left == 0 {
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	// Three documents were filed; the one in review gets no notice.
	if len(rc.got) != 3 {
		t.Fatalf("notices for %d documents, want 3: %v", len(rc.got), rc.got)
	}
	for doc, n := range rc.got {
		if n != 1 {
			t.Errorf("document %d notified %d times", doc, n)
		}
	}
	if rc.badSigs != 1 || rc.tries != 3+2+1 {
		t.Errorf("%d tries with %d bad signatures, want 6 and 1", rc.tries, rc.badSigs)
	}
	var attempts int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT sum(attempts) FROM webhook_outbox WHERE state = 'sent'`).Scan(&attempts), "attempts")
	if attempts != 6 {
		t.Errorf("%d attempts recorded, want 6", attempts)
	}
}
