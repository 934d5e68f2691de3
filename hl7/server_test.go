package hl7_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"paperchart/hl7"
	"paperchart/internal/testenv"
)

// dialFrom opens a TCP connection to addr from the local address src (any
// of 127.0.0.0/8 is this machine on Linux).
func dialFrom(t testing.TB, src, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// closedUnanswered checks that c is closed by the server within d without
// a byte sent back, also after a message is written to it.
func closedUnanswered(t testing.TB, c net.Conn, d time.Duration) {
	t.Helper()
	c.Write([]byte("\x0b" + adt("A04", "NOPE", pidEveryman) + "\x1c\r"))
	c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(make([]byte, 1))
	if n > 0 || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection from %s: read %d bytes, %v; want it closed unanswered", c.LocalAddr(), n, err)
	}
}

func TestServerAllowList(t *testing.T) {
	db := testenv.DB(t)
	allow, err := hl7.ParseAllow("127.0.0.1, 10.0.0.0/8")
	testenv.Must(t, err, "parse allow-list")
	addr, _ := listener(t, db, &hl7.Server{Allow: allow})

	c, err := dialFrom(t, "127.0.0.1", addr)
	testenv.Must(t, err, "dial from 127.0.0.1")
	ehr := &mllpClient{t: t, conn: c, r: newReader(c)}
	if code, _, text := msa(t, ehr.send(adt("A04", "OK1", pidEveryman))); code != "AA" {
		t.Errorf("allowed sender: %s %q", code, text)
	}
	other, err := dialFrom(t, "127.0.0.2", addr)
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	closedUnanswered(t, other, 5*time.Second)

	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", nil, false},
		{"127.0.0.0/8,::1/128", []string{"127.0.0.0/8", "::1/128"}, false},
		{" 10.1.2.3  fd00::/8 ", []string{"10.1.2.3/32", "fd00::/8"}, false},
		{"10.1.2.77/24", []string{"10.1.2.0/24"}, false},
		{"::ffff:10.1.2.3", []string{"10.1.2.3/32"}, false},
		{"ehr.example.org", nil, true},
		{"10.0.0.0/33", nil, true},
	} {
		got, err := hl7.ParseAllow(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseAllow(%q): %v", tc.in, err)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if len(s) != len(tc.want) || (len(s) > 0 && !equalStrings(s, tc.want)) {
			t.Errorf("ParseAllow(%q) = %v, want %v", tc.in, s, tc.want)
		}
	}
	if def := hl7.LoopbackOnly(); len(def) != 2 || !def[0].Contains(netip.MustParseAddr("127.0.0.1")) || !def[1].Contains(netip.IPv6Loopback()) {
		t.Errorf("LoopbackOnly() = %v", def)
	}
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func itoa(i int) string { return strconv.Itoa(i) }

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIdleSocketsDoNotStarveTheEHR opens 100 idle sockets from one other
// address and 100 from 100 other addresses, more than the server's 64
// places: the EHR's open connection goes on, a new one of the EHR's is
// served, and the idle sockets are closed after the short first-message
// timeout while the EHR's connection stays open.
func TestIdleSocketsDoNotStarveTheEHR(t *testing.T) {
	db := testenv.DB(t)
	const firstMessage = 2 * time.Second
	addr, _ := listener(t, db, &hl7.Server{FirstMessageTimeout: firstMessage, IdleTimeout: time.Minute})

	c, err := dialFrom(t, "127.0.0.1", addr)
	testenv.Must(t, err, "dial the EHR's connection")
	ehr := &mllpClient{t: t, conn: c, r: newReader(c)}
	if code, _, text := msa(t, ehr.send(adt("A04", "E1", pidEveryman))); code != "AA" {
		t.Fatalf("EHR before the idle sockets: %s %q", code, text)
	}

	var idle []net.Conn
	start := time.Now()
	for i := range 100 {
		if c, err := dialFrom(t, "127.0.0.2", addr); err == nil {
			idle = append(idle, c)
		} else if i == 0 {
			t.Skipf("cannot dial from 127.0.0.2: %v", err)
		}
	}
	for i := range 100 {
		if c, err := dialFrom(t, "127.0.1."+itoa(i+1), addr); err == nil {
			idle = append(idle, c)
		}
	}
	if len(idle) < 150 {
		t.Fatalf("only %d idle sockets opened", len(idle))
	}
	// The EHR's open connection and a new one both get their ACKs.
	if code, _, text := msa(t, ehr.send(adt("A08", "E2", pidEveryman))); code != "AA" {
		t.Errorf("EHR's open connection among idle sockets: %s %q", code, text)
	}
	c2, err := dialFrom(t, "127.0.0.1", addr)
	testenv.Must(t, err, "dial a new EHR connection")
	ehr2 := &mllpClient{t: t, conn: c2, r: newReader(c2)}
	if code, _, text := msa(t, ehr2.send(adt("A08", "E3", pidEveryman))); code != "AA" {
		t.Errorf("EHR's new connection among idle sockets: %s %q", code, text)
	}

	// Every idle socket is closed, refused or evicted or timed out, within
	// the first-message timeout (plus slack for a loaded machine).
	open := 0
	for _, c := range idle {
		c.SetReadDeadline(start.Add(firstMessage + 3*time.Second))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
			open++
		}
	}
	if open > 0 {
		t.Errorf("%d idle sockets still open after %v", open, time.Since(start).Round(time.Millisecond))
	}
	// The EHR's connections, idle as long, are still served.
	if code, _, text := msa(t, ehr.send(adt("A08", "E4", pidEveryman))); code != "AA" {
		t.Errorf("EHR's first connection after the timeout: %s %q", code, text)
	}
	if code, _, text := msa(t, ehr2.send(adt("A08", "E5", pidEveryman))); code != "AA" {
		t.Errorf("EHR's second connection after the timeout: %s %q", code, text)
	}
}

func TestPerAddressLimit(t *testing.T) {
	db := testenv.DB(t)
	addr, _ := listener(t, db, &hl7.Server{MaxConnsPerAddr: 2, FirstMessageTimeout: 10 * time.Second})
	var kept []*mllpClient
	for range 2 {
		c, err := dialFrom(t, "127.0.0.1", addr)
		testenv.Must(t, err, "dial")
		kept = append(kept, &mllpClient{t: t, conn: c, r: newReader(c)})
	}
	c, err := dialFrom(t, "127.0.0.1", addr)
	testenv.Must(t, err, "dial the third")
	closedUnanswered(t, c, 5*time.Second)
	for i, k := range kept {
		if code, _, text := msa(t, k.send(adt("A04", "K"+itoa(i), pidEveryman))); code != "AA" {
			t.Errorf("connection %d within the limit: %s %q", i, code, text)
		}
	}
}

// testTLS returns the server's TLS configuration from the test
// certificates, requiring a client certificate when mutual, and a client
// configuration that trusts the test CA, with the client certificate when
// withCert.
func testTLS(t testing.TB, mutual, withCert bool) (server, client *tls.Config) {
	t.Helper()
	dir := filepath.Join("testdata", "tls")
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	testenv.Must(t, err, "load the server certificate")
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	testenv.Must(t, err, "read the CA")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if mutual {
		server.ClientAuth, server.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if withCert {
		cc, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
		testenv.Must(t, err, "load the client certificate")
		client.Certificates = []tls.Certificate{cc}
	}
	return server, client
}

func TestServerTLS(t *testing.T) {
	db := testenv.DB(t)
	for _, tc := range []struct {
		name             string
		mutual, withCert bool
		served           bool
	}{
		{"TLS", false, false, true},
		{"mutual TLS with the client's certificate", true, true, true},
		{"mutual TLS without a client certificate", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srvTLS, cliTLS := testTLS(t, tc.mutual, tc.withCert)
			addr, _ := listener(t, db, &hl7.Server{TLS: srvTLS, FirstMessageTimeout: 3 * time.Second})
			raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
			testenv.Must(t, err, "dial")
			defer raw.Close()
			conn := tls.Client(raw, cliTLS)
			c := &mllpClient{t: t, conn: conn, r: newReader(conn)}
			if !tc.served {
				closedUnanswered(t, conn, 5*time.Second)
				return
			}
			testenv.Must(t, conn.Handshake(), "TLS handshake")
			if code, _, text := msa(t, c.send(adt("A04", "T1", pidEveryman))); code != "AA" {
				t.Errorf("over TLS: %s %q", code, text)
			}
			// Plain MLLP to the TLS listener: closed, never answered.
			plain, err := net.DialTimeout("tcp", addr, 5*time.Second)
			testenv.Must(t, err, "dial plain")
			defer plain.Close()
			plain.Write([]byte("\x0b" + adt("A04", "P1", pidEveryman) + "\x1c\r"))
			plain.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(plain)
			if len(b) > 0 && b[0] == 0x0b {
				t.Errorf("plain MLLP to the TLS listener was answered: %q", b)
			}
		})
	}
}
