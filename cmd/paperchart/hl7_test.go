package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paperchart/hl7"
	"paperchart/internal/testenv"
	"paperchart/patients"
)

func TestHL7Role(t *testing.T) {
	db, url := migratedDB(t)
	dbFlag := "--database-url=" + url
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "find a free port")
	addr := ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing to do", []string{dbFlag, "--hl7-addr="}, "nothing to do"},
		{"MDM without a FHIR base", []string{dbFlag, "--hl7-addr=", "--mdm-endpoint=127.0.0.1:1", "--fhir-base="}, "--fhir-base"},
		{"bad completion status", []string{dbFlag, "--mdm-completion=XX"}, "AU or LA"},
		{"bad authority map", []string{dbFlag, "--hl7-addr=" + addr, "--hl7-authority-map=HOSP"}, "HL7=INDEX"},
		{"unknown argument", []string{dbFlag, "frobnicate"}, "unknown argument"},
		{"bad allow-list", []string{dbFlag, "--hl7-allow=ehr.example.org"}, "--hl7-allow"},
		{"empty allow-list", []string{dbFlag, "--hl7-allow=,"}, "--hl7-allow is empty"},
		{"certificate without key", []string{dbFlag, "--hl7-tls-cert=" + testCert("server.pem")}, "go together"},
		{"client CA without TLS", []string{dbFlag, "--hl7-tls-client-ca=" + testCert("ca.pem")}, "needs --hl7-tls-cert"},
		{"missing certificate", []string{dbFlag, "--hl7-tls-cert=nowhere.pem", "--hl7-tls-key=nowhere-key.pem"}, "--hl7-tls-cert"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := runHL7(ctx, tc.args, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runHL7(ctx, []string{dbFlag, "--hl7-addr=" + addr, "--hl7-authority-map=HOSP=MRN", "--log-level=warn"}, io.Discard)
	}()
	var conn net.Conn
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if conn, err = net.Dial("tcp", addr); err == nil || time.Now().After(end) {
			break
		}
	}
	testenv.Must(t, err, "connect to the hl7 role")
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	msg := "MSH|^~\\&|REG|HOSP|PAPERCHART|HOSP|20260101120000||ADT^A04^ADT_A01|X1|P|2.4\r" +
		"PID|1||00440001^^^HOSP^MR||Everyman^Adam||19610315|M\r"
	_, err = conn.Write([]byte("\x0b" + msg + "\x1c\r"))
	testenv.Must(t, err, "send A04")
	r := bufio.NewReader(conn)
	r.ReadByte()
	body, err := r.ReadString(0x1c)
	testenv.Must(t, err, "read ACK")
	ack, err := hl7.Parse([]byte(strings.TrimSuffix(body, "\x1c")))
	testenv.Must(t, err, "parse ACK")
	if msa, _ := ack.Segment("MSA"); msa.Field(1).String() != "AA" || msa.Field(2).String() != "X1" {
		t.Errorf("ACK %q", body)
	}
	if _, err := patients.New(db.Pool(), patients.Options{}).ByMRN(context.Background(), "MRN", "00440001"); err != nil {
		t.Errorf("patient after A04: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hl7 role: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hl7 role did not stop within 10 s of its context's end")
	}

	var out bytes.Buffer
	testenv.Must(t, runHL7(context.Background(), []string{"status", dbFlag}, &out), "hl7 status")
	if !strings.Contains(out.String(), "MDM outbox: 0 pending") {
		t.Errorf("status: %q", out.String())
	}
}

// testCert is a test certificate file of package hl7.
func testCert(name string) string { return filepath.Join("..", "..", "hl7", "testdata", "tls", name) }

// TestHL7RoleTLS runs the role with mutual TLS and an allow-list from the
// flags: a sender with the client certificate is answered, one without is not.
func TestHL7RoleTLS(t *testing.T) {
	_, url := migratedDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "find a free port")
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runHL7(ctx, []string{"--database-url=" + url, "--hl7-addr=" + addr, "--log-level=warn",
			"--hl7-allow=127.0.0.1/32", "--hl7-first-message-timeout=3s",
			"--hl7-tls-cert=" + testCert("server.pem"), "--hl7-tls-key=" + testCert("server-key.pem"),
			"--hl7-tls-client-ca=" + testCert("ca.pem")}, io.Discard)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hl7 role: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the hl7 role did not stop within 10 s of its context's end")
		}
	}()
	caPEM, err := os.ReadFile(testCert("ca.pem"))
	testenv.Must(t, err, "read the CA")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	client, err := tls.LoadX509KeyPair(testCert("client.pem"), testCert("client-key.pem"))
	testenv.Must(t, err, "load the client certificate")

	send := func(cfg *tls.Config) (string, error) {
		var raw net.Conn
		var err error
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if raw, err = net.Dial("tcp", addr); err == nil || time.Now().After(end) {
				break
			}
		}
		if err != nil {
			return "", err
		}
		defer raw.Close()
		conn := tls.Client(raw, cfg)
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		msg := "MSH|^~\\&|REG|HOSP|PAPERCHART|HOSP|20260101120000||ADT^A04^ADT_A01|T1|P|2.4\r" +
			"PID|1||00440002^^^MRN^MR||Everyman^Adam||19610315|M\r"
		if _, err := conn.Write([]byte("\x0b" + msg + "\x1c\r")); err != nil {
			return "", err
		}
		r := bufio.NewReader(conn)
		r.ReadByte()
		body, err := r.ReadString(0x1c)
		return body, err
	}
	body, err := send(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{client}})
	testenv.Must(t, err, "send over mutual TLS")
	ack, err := hl7.Parse([]byte(strings.TrimSuffix(body, "\x1c")))
	testenv.Must(t, err, "parse ACK")
	if msa, _ := ack.Segment("MSA"); msa.Field(1).String() != "AA" {
		t.Errorf("ACK over mutual TLS %q", body)
	}
	if body, err := send(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}); err == nil {
		t.Errorf("a sender without a client certificate was answered: %q", body)
	}
}
