package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/notify"
)

// TestMovedDocumentNotice: a filed document moved to another patient fires
// the same document.filed notice as filing, for the new document, naming
// the one it replaces; nothing is sent for the old placement.
func TestMovedDocumentNotice(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	id := filingtest.Batch(t, su.DB, su.Objects, "hook-move-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}})
	_, err := su.Filer.FileBatch(ctx, id)
	testenv.Must(t, err, "file")
	docs, err := su.DB.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	oka, err := su.Index.ByMRN(ctx, "", "00410002")
	testenv.Must(t, err, "patient")
	res, err := su.Filer.MoveFiled(ctx, docs[0].ID, filing.Move{Actor: "rob", PatientID: oka.ID, Reason: "wrong patient"})
	testenv.Must(t, err, "move")

	var mu sync.Mutex
	var got []notify.Notice
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var n notify.Notice
		json.Unmarshal(b, &n)
		mu.Lock()
		got, bodies = append(got, n), append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	s := &notify.Sender{Pool: su.DB.Pool(), URL: srv.URL, Secret: []byte("hook-secret"), FHIRBase: "https://pc.example.org/fhir", Log: log}
	for {
		n, err := s.Once(ctx)
		testenv.Must(t, err, "deliver")
		if n == 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d notices, want 1 (the new document's): %v", len(got), bodies)
	}
	n := got[0]
	if n.Event != "document.filed" || n.DocumentID != res.To.ID || n.PatientID != oka.ID || n.Replaces != docs[0].ID ||
		!strings.HasSuffix(n.DocumentReference, "/DocumentReference/"+itoa(res.To.ID)) {
		t.Errorf("notice %+v", n)
	}
	if strings.Contains(bodies[0], "OKAFOR") || strings.Contains(bodies[0], "00410002") || strings.Contains(bodies[0], "wrong patient") {
		t.Errorf("the notice holds patient data: %s", bodies[0])
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
