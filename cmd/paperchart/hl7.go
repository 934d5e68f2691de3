package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"paperchart/audit"
	"paperchart/hl7"
	"paperchart/patients"
)

// hl7Config is the settings of the hl7 role, from its flags.
type hl7Config struct {
	Addr         string
	MaxBytes     int
	IdleTimeout  time.Duration
	App          string
	Facility     string
	Authority    string
	AuthorityMap string

	Allow               string
	TLSCert             string
	TLSKey              string
	TLSClientCA         string
	MaxConnsPerAddr     int
	FirstMessageTimeout time.Duration

	MDMEndpoint    string
	MDMApp         string
	MDMFacility    string
	MDMMaxAttempts int
	MDMAckTimeout  time.Duration
	MDMCompletion  string
}

// register adds the hl7 flags; --fhir-base is c's (registered here unless
// the filing flags already did).
func (h *hl7Config) register(fs *flag.FlagSet, c *config) {
	fs.StringVar(&h.Addr, "hl7-addr", env("PAPERCHART_HL7_ADDR", "127.0.0.1:2575"),
		"MLLP listen address for ADT messages; empty: no listener (PAPERCHART_HL7_ADDR)")
	fs.IntVar(&h.MaxBytes, "hl7-max-bytes", envInt("PAPERCHART_HL7_MAX_BYTES", hl7.DefaultMaxMessage),
		"largest HL7 message accepted, in bytes; larger ones are answered AR (PAPERCHART_HL7_MAX_BYTES)")
	fs.DurationVar(&h.IdleTimeout, "hl7-idle-timeout", envDuration("PAPERCHART_HL7_IDLE_TIMEOUT", hl7.DefaultIdleTimeout),
		"an MLLP connection that has sent a message and then none for this long is closed (PAPERCHART_HL7_IDLE_TIMEOUT)")
	fs.StringVar(&h.Allow, "hl7-allow", env("PAPERCHART_HL7_ALLOW", "127.0.0.0/8,::1/128"),
		"addresses (CIDRs or single addresses, comma-separated) that may connect to the MLLP listener;\n"+
			"others are closed unread. Default: this machine only (PAPERCHART_HL7_ALLOW)")
	fs.StringVar(&h.TLSCert, "hl7-tls-cert", env("PAPERCHART_HL7_TLS_CERT", ""),
		"certificate (PEM) for MLLP over TLS; with --hl7-tls-key the listener speaks only TLS (PAPERCHART_HL7_TLS_CERT)")
	fs.StringVar(&h.TLSKey, "hl7-tls-key", env("PAPERCHART_HL7_TLS_KEY", ""),
		"private key (PEM) of --hl7-tls-cert (PAPERCHART_HL7_TLS_KEY)")
	fs.StringVar(&h.TLSClientCA, "hl7-tls-client-ca", env("PAPERCHART_HL7_TLS_CLIENT_CA", ""),
		"CA certificates (PEM): senders must present a certificate they signed (mutual TLS) (PAPERCHART_HL7_TLS_CLIENT_CA)")
	fs.IntVar(&h.MaxConnsPerAddr, "hl7-max-conns-per-addr", envInt("PAPERCHART_HL7_MAX_CONNS_PER_ADDR", hl7.DefaultMaxConnsPerAddr),
		"MLLP connections at once from one address (PAPERCHART_HL7_MAX_CONNS_PER_ADDR)")
	fs.DurationVar(&h.FirstMessageTimeout, "hl7-first-message-timeout", envDuration("PAPERCHART_HL7_FIRST_MESSAGE_TIMEOUT", hl7.DefaultFirstMessageTimeout),
		"a new MLLP connection that sends no message (TLS handshake included) for this long is closed (PAPERCHART_HL7_FIRST_MESSAGE_TIMEOUT)")
	fs.StringVar(&h.App, "hl7-app", env("PAPERCHART_HL7_APP", "PAPERCHART"),
		"paperchart's application name in MSH-3 of what it sends (PAPERCHART_HL7_APP)")
	fs.StringVar(&h.Facility, "hl7-facility", env("PAPERCHART_HL7_FACILITY", ""),
		"paperchart's facility in MSH-4 of what it sends (PAPERCHART_HL7_FACILITY)")
	fs.StringVar(&h.Authority, "hl7-authority", env("PAPERCHART_HL7_AUTHORITY", env("PAPERCHART_AUTHORITY", patients.DefaultAuthority)),
		"patient index authority of PID-3 identifiers sent without an assigning authority\n(PAPERCHART_HL7_AUTHORITY, else PAPERCHART_AUTHORITY)")
	fs.StringVar(&h.AuthorityMap, "hl7-authority-map", env("PAPERCHART_HL7_AUTHORITY_MAP", ""),
		"HL7 assigning authorities that are named otherwise in the patient index, HL7=INDEX,...\n(HOSP=MRN: the hospital's HOSP MRNs are the index's MRN ones) (PAPERCHART_HL7_AUTHORITY_MAP)")
	fs.StringVar(&h.MDMEndpoint, "mdm-endpoint", env("PAPERCHART_MDM_ENDPOINT", ""),
		"EHR host:port to send MDM^T02 document notifications to over MLLP; empty: none are sent (PAPERCHART_MDM_ENDPOINT)")
	fs.StringVar(&h.MDMApp, "mdm-app", env("PAPERCHART_MDM_APP", ""),
		"receiving application (MSH-5) of MDM messages (PAPERCHART_MDM_APP)")
	fs.StringVar(&h.MDMFacility, "mdm-facility", env("PAPERCHART_MDM_FACILITY", ""),
		"receiving facility (MSH-6) of MDM messages (PAPERCHART_MDM_FACILITY)")
	if fs.Lookup("fhir-base") == nil { // the filing flags have it too: one flag, one field
		fs.StringVar(&c.FHIRBase, "fhir-base", env("PAPERCHART_FHIR_BASE", ""),
			"absolute URL of the FHIR server as the EHR reaches it, e.g. https://paperchart.example/fhir;\n"+
				"MDM messages point at BASE/Binary/{document}; required with --mdm-endpoint (PAPERCHART_FHIR_BASE)")
	}
	fs.IntVar(&h.MDMMaxAttempts, "mdm-max-attempts", envInt("PAPERCHART_MDM_MAX_ATTEMPTS", hl7.DefaultMaxAttempts),
		"attempts with exponential backoff before an MDM message is retried hourly (PAPERCHART_MDM_MAX_ATTEMPTS)")
	fs.DurationVar(&h.MDMAckTimeout, "mdm-ack-timeout", envDuration("PAPERCHART_MDM_ACK_TIMEOUT", hl7.DefaultAckTimeout),
		"how long to wait for the EHR's ACK (PAPERCHART_MDM_ACK_TIMEOUT)")
	fs.StringVar(&h.MDMCompletion, "mdm-completion", env("PAPERCHART_MDM_COMPLETION", hl7.DefaultCompletion),
		"TXA-17 document completion status: AU (authenticated) or LA (legally authenticated) (PAPERCHART_MDM_COMPLETION)")
}

// identifiers reads --hl7-authority and --hl7-authority-map.
func (h *hl7Config) identifiers() (hl7.Identifiers, error) {
	ids := hl7.Identifiers{DefaultAuthority: h.Authority}
	for _, pair := range strings.Split(h.AuthorityMap, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		from, to, ok := strings.Cut(pair, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" {
			return ids, fmt.Errorf("--hl7-authority-map: %q is not HL7=INDEX", pair)
		}
		if ids.Authorities == nil {
			ids.Authorities = map[string]string{}
		}
		ids.Authorities[from] = to
	}
	return ids, nil
}

// listener reads the MLLP listener's allow-list and TLS settings.
func (h *hl7Config) listener() ([]netip.Prefix, *tls.Config, error) {
	allow, err := hl7.ParseAllow(h.Allow)
	if err != nil {
		return nil, nil, fmt.Errorf("--hl7-allow: %w", err)
	}
	if len(allow) == 0 {
		return nil, nil, errors.New("--hl7-allow is empty: name the addresses that may connect (0.0.0.0/0,::/0 for any)")
	}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		return nil, nil, errors.New("--hl7-tls-cert and --hl7-tls-key go together")
	}
	if h.TLSCert == "" {
		if h.TLSClientCA != "" {
			return nil, nil, errors.New("--hl7-tls-client-ca needs --hl7-tls-cert and --hl7-tls-key")
		}
		return allow, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(h.TLSCert, h.TLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("--hl7-tls-cert/--hl7-tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if h.TLSClientCA != "" {
		pem, err := os.ReadFile(h.TLSClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("--hl7-tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--hl7-tls-client-ca: no PEM certificate in %s", h.TLSClientCA)
		}
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	return allow, cfg, nil
}

func (h *hl7Config) check(c *config) error {
	if h.Addr == "" && h.MDMEndpoint == "" {
		return fmt.Errorf("nothing to do: set --hl7-addr, --mdm-endpoint or both")
	}
	switch h.MDMCompletion {
	case "AU", "LA":
	default:
		return fmt.Errorf("--mdm-completion must be AU or LA")
	}
	if h.MDMEndpoint != "" && !strings.HasPrefix(c.FHIRBase, "http://") && !strings.HasPrefix(c.FHIRBase, "https://") {
		return fmt.Errorf("--mdm-endpoint needs --fhir-base, the http:// or https:// URL the EHR reaches paperchart's FHIR server at")
	}
	if h.Addr != "" {
		if _, _, err := h.listener(); err != nil {
			return err
		}
	}
	return nil
}

func runHL7(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	var h hl7Config
	fs := newFlags("hl7", "[status] [flags]", "Speaks HL7 v2 over MLLP with the hospital's systems. Listens on --hl7-addr for ADT\n"+
		"messages: A01, A04, A08, A28, A31 add or update the patient of PID-3 in the patient index, A40\n"+
		"merges the patient of MRG-1 into it (moving its documents); each is answered with an ACK.\n"+
		"With --mdm-endpoint, sends an MDM^T02 for every document the filing stage queued, retrying\n"+
		"until the EHR answers AA. Several hl7 processes may share the database.\n"+
		"`paperchart hl7 status` prints the MDM outbox counts (--json for scripts).")
	c.register(fs, useDB|useHealth)
	h.register(fs, &c)
	asJSON := fs.Bool("json", false, "status: print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	status := false
	switch fs.Arg(0) {
	case "":
	case "status":
		status = true
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown argument %q: run `paperchart hl7 --help`", fs.Arg(0))
	}
	if !status {
		if err := h.check(&c); err != nil {
			return err
		}
	}
	log := c.logger().With("role", "hl7")
	s, err := open(ctx, &c, useDB)
	if err != nil {
		return err
	}
	defer s.close()
	if status {
		return hl7Status(ctx, s.db.Pool(), &h, *asJSON, stdout)
	}
	return withHealth(ctx, c.HealthAddr, s, log, func(ctx context.Context) error {
		return runHL7Services(ctx, &h, c.FHIRBase, s.db.Pool(), log)
	})
}

// runHL7Services runs the MLLP listener and the MDM sender, as configured,
// until ctx is done.
func runHL7Services(ctx context.Context, h *hl7Config, fhirBase string, pool *pgxpool.Pool, log *slog.Logger) error {
	ids, err := h.identifiers()
	if err != nil {
		return err
	}
	self := hl7.Endpoint{App: h.App, Facility: h.Facility}
	g, ctx := errgroup.WithContext(ctx)
	if h.Addr != "" {
		allow, tlsConf, err := h.listener()
		if err != nil {
			return err
		}
		srv := &hl7.Server{
			Handler: &hl7.ADT{
				Index:       patients.New(pool, patients.Options{Log: log}),
				Audit:       audit.New(pool),
				Identifiers: ids,
				Self:        self,
				Log:         log,
			},
			Log:                 log,
			MaxMessage:          h.MaxBytes,
			IdleTimeout:         h.IdleTimeout,
			FirstMessageTimeout: h.FirstMessageTimeout,
			MaxConnsPerAddr:     h.MaxConnsPerAddr,
			Allow:               allow,
			TLS:                 tlsConf,
		}
		g.Go(func() error { return srv.ListenAndServe(ctx, h.Addr) })
	}
	if h.MDMEndpoint != "" {
		snd := &hl7.Sender{
			Outbox:      hl7.NewOutbox(pool),
			Addr:        h.MDMEndpoint,
			Self:        self,
			Receiver:    hl7.Endpoint{App: h.MDMApp, Facility: h.MDMFacility},
			Identifiers: ids,
			FHIRBase:    fhirBase,
			Completion:  h.MDMCompletion,
			AckTimeout:  h.MDMAckTimeout,
			MaxAttempts: h.MDMMaxAttempts,
			Log:         log.With("component", "mdm"),
		}
		g.Go(func() error { return snd.Run(ctx) })
	} else {
		log.Info("no --mdm-endpoint: MDM messages are queued but not sent")
	}
	return g.Wait()
}

func hl7Status(ctx context.Context, pool *pgxpool.Pool, h *hl7Config, asJSON bool, out io.Writer) error {
	st, err := hl7.NewOutbox(pool).Stats(ctx, h.MDMMaxAttempts)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintf(out, "MDM outbox: %d pending (%d failing after %d attempts, retried hourly), %d sent, %d skipped\n",
		st.Pending, st.Failing, h.MDMMaxAttempts, st.Sent, st.Skipped)
	if st.OldestPending != nil {
		fmt.Fprintf(out, "oldest pending queued %s ago\n", time.Since(*st.OldestPending).Round(time.Second))
	}
	return nil
}
