package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hibiken/asynq"

	"paperchart/audit"
	"paperchart/internal/testenv"
	"paperchart/tokens"
	"paperchart/workers"
)

// TestWebHandler checks how serve puts the parts together: FHIR behind
// bearer tokens and audited, patient data of the JSON API and the
// workstation behind sign-in, the batch status and health open.
func TestWebHandler(t *testing.T) {
	ctx := context.Background()
	db, _ := migratedDB(t)
	s := &services{db: db, objs: testenv.Objects(t),
		queue: workers.NewQueue(asynq.RedisClientOpt{Addr: testenv.RedisAddr()}, workers.QueueConfig{Prefix: testenv.Name("web") + ":"})}
	c := &config{Authority: "MRN", MRNWidth: 8}
	h, err := webHandler(c, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testenv.Must(t, err, "web handler")
	srv := httptest.NewServer(h)
	defer srv.Close()
	secret, _, err := tokens.New(db.Pool()).Create(ctx, "ehr", []string{"system/*.read"}, 0)
	testenv.Must(t, err, "token")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		path, token string
		code        int
		location    string
	}{
		{"/", "", 303, "/review/"},
		{"/healthz", "", 200, ""},
		{"/api/batches", "", 200, ""},
		{"/api/review", "", 303, "/review/login"},
		{"/review/", "", 303, "/review/login"},
		{"/review/login", "", 200, ""},
		{"/fhir/metadata", "", 200, ""},
		{"/fhir/Patient?identifier=1", "", 401, ""},
		{"/fhir/Patient?identifier=1", "pct_forged", 401, ""},
		{"/fhir/Patient?identifier=1", secret, 200, ""},
		// Dot segments are refused, not redirected to their clean form.
		{"/review/%2e%2e/api/batches", "", 404, ""},
		{"/review/../api/batches", "", 404, ""},
		{"/api/%2E%2E/healthz", "", 404, ""},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := noRedirect.Do(req)
		testenv.Must(t, err, "get")
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.HasPrefix(resp.Header.Get("Location"), tc.location) {
			t.Errorf("%s (token %v): %d %q, want %d %q", tc.path, tc.token != "", resp.StatusCode, resp.Header.Get("Location"), tc.code, tc.location)
		}
		if strings.HasPrefix(tc.path, "/api/") || tc.path == "/healthz" {
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q", tc.path, got)
			}
		}
	}
	// /metrics answers Prometheus's text format with the pipeline's state
	// and the process's own figures, and no patient data to guard.
	resp, err := http.Get(srv.URL + "/metrics")
	testenv.Must(t, err, "get /metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	testenv.Must(t, err, "parse /metrics")
	for _, name := range []string{"paperchart_review_queue_size", "paperchart_queue_tasks", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if f := fams["paperchart_state_scrape_errors"]; f != nil {
		for _, m := range f.GetMetric() {
			if m.GetGauge().GetValue() != 0 {
				t.Errorf("/metrics: a state source could not be read: %v", m)
			}
		}
	}
	// A flood of anonymous FHIR requests is counted, not written row by row.
	for range 150 {
		resp, err := http.Get(srv.URL + "/fhir/Patient?identifier=1")
		testenv.Must(t, err, "get")
		resp.Body.Close()
	}
	// The FHIR requests are in the audit trail, which verifies.
	trail := audit.New(db.Pool())
	es, err := trail.List(ctx, audit.Filter{Limit: 100})
	testenv.Must(t, err, "audit list")
	var actors []string
	for _, e := range es {
		actors = append(actors, e.Actor+":"+e.Outcome)
	}
	// 152 denials from one address: one entry per minute (two, should the
	// test cross a minute).
	if got := strings.Join(actors, " "); !strings.Contains(got, "token:ehr:ok") || strings.Count(got, ":denied") < 1 || strings.Count(got, ":denied") > 2 {
		t.Errorf("audit trail %q, want the token's search and one denial entry per minute", got)
	}
	var denied int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT sum(count) FROM audit_denials`).Scan(&denied), "count denials")
	if denied != 152 {
		t.Errorf("%d denials counted, want 152", denied)
	}
	rep, err := trail.Verify(ctx)
	testenv.Must(t, err, "verify")
	if !rep.Intact {
		t.Errorf("audit chain broken: %+v", rep)
	}
}

// TestServeTLS serves over HTTPS with a configured certificate.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	testenv.Must(t, err, "key")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paperchart-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	testenv.Must(t, err, "certificate")
	kder, err := x509.MarshalECPrivateKey(key)
	testenv.Must(t, err, "key")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	testenv.Must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600), "write cert")
	testenv.Must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600), "write key")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "listen")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, ln, secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				http.Error(w, "not TLS", 500)
			}
		})), certFile, keyFile)
	}()
	pool := x509.NewCertPool()
	pool.AddCert(must509(t, der))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	testenv.Must(t, err, "HTTPS request")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTPS: %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("HSTS %q under TLS", got)
	}
	// Plain HTTP to the TLS port is refused.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP was served on the TLS port")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

// TestHTTPServerTimeouts: slow or idle clients cannot hold connections.
func TestHTTPServerTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler())
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout} {
		if d <= 0 || d > 5*time.Minute {
			t.Errorf("%s %v", name, d)
		}
	}
	// Plain HTTP gets no HSTS (it would be ignored, and breaks loopback).
	rec := httptest.NewRecorder()
	secured(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Header().Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
}

func must509(t *testing.T, der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	testenv.Must(t, err, "parse certificate")
	return c
}

// TestViewKeyShared checks --view-key: serve processes given the same key
// accept each other's per-view image tokens (a load balancer may send the
// page images of a view to another process than the page), a process with
// its own random key records such a read as not from a view, and a short
// key is refused.
func TestViewKeyShared(t *testing.T) {
	ctx := context.Background()
	fx := newWebFixture(t)
	key := hex.EncodeToString(randomBytes(t, 32))
	server := func(viewKey string) *httptest.Server {
		h, err := webHandler(&config{Authority: "MRN", MRNWidth: 8, AccessDays: 14, ViewKey: viewKey}, fx.services, fx.log)
		testenv.Must(t, err, "web handler")
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	if _, err := webHandler(&config{ViewKey: "too-short"}, fx.services, fx.log); err == nil || !strings.Contains(err.Error(), "--view-key") {
		t.Errorf("a 9-character view key: %v, want it refused", err)
	}
	a, b, own := server(key), server(key), server("")
	get := func(srv *httptest.Server, path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(fx.cookie)
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "get %s", path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return string(body)
	}
	page := get(a, fmt.Sprintf("/review/doc/%d", fx.doc.ID))
	m := regexp.MustCompile(`src="(/review/doc/\d+/page/(\d+)\?v=(\d+)\.[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the document page has no page image with a view token")
	}
	trail := audit.New(fx.su.DB.Pool())
	lastDetail := func() string {
		t.Helper()
		es, err := trail.List(ctx, audit.Filter{Limit: 1})
		testenv.Must(t, err, "audit list")
		if len(es) == 0 || es[0].Action != audit.ActionDocumentPage {
			t.Fatalf("last audit entry %+v, want a page read", es)
		}
		return es[0].Detail
	}
	for _, tc := range []struct {
		name string
		srv  *httptest.Server
		want string
	}{
		{"the process that rendered the view", a, fmt.Sprintf("page %s of view %s", m[2], m[3])},
		{"another process with the same key", b, fmt.Sprintf("page %s of view %s", m[2], m[3])},
		{"a process with its own key", own, fmt.Sprintf("page %s, not from a view", m[2])},
	} {
		get(tc.srv, strings.ReplaceAll(m[1], "&amp;", "&"))
		if got := lastDetail(); got != tc.want {
			t.Errorf("%s: page read recorded as %q, want %q", tc.name, got, tc.want)
		}
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	testenv.Must(t, err, "random")
	return b
}
