package hl7

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// MessageHandler answers one message: it returns the ACK to send back.
type MessageHandler interface {
	HandleMessage(ctx context.Context, msg []byte) []byte
}

// Server defaults.
const (
	DefaultMaxMessage    = 1 << 20
	DefaultIdleTimeout   = 10 * time.Minute
	DefaultReadTimeout   = 30 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultHandleTimeout = 30 * time.Second
	DefaultMaxConns      = 64
	// DefaultMaxConnsPerAddr bounds the connections of one peer address:
	// an interface engine uses one or a few.
	DefaultMaxConnsPerAddr = 8
	// DefaultFirstMessageTimeout is how long a new connection (TLS
	// handshake included) may take to send its first message.
	DefaultFirstMessageTimeout = 10 * time.Second
)

// Server accepts MLLP connections and answers each message with its
// Handler's ACK, one message at a time per connection, one goroutine per
// connection. Zero fields take the defaults above.
//
// Who may connect: only peers whose address is in Allow (loopback only
// when Allow is empty), at most MaxConnsPerAddr connections per address and
// MaxConns in all. A new connection must send its first message within
// FirstMessageTimeout; after that it may wait IdleTimeout between
// messages. When MaxConns are open, a newcomer takes the place of the
// oldest connection that has not sent a message yet, so connections that
// only sit there never lock a real sender (the EHR) out.
type Server struct {
	Handler MessageHandler
	Log     *slog.Logger // nil discards
	// MaxMessage bounds a message's size in bytes: a larger one is read to
	// its end and answered AR, and the connection goes on.
	MaxMessage int
	// IdleTimeout is how long a connection may wait for its next message
	// before it is closed (the sender reconnects when it has one).
	IdleTimeout time.Duration
	// ReadTimeout is how long one message may take to arrive, from its
	// start block to its end block.
	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
	HandleTimeout time.Duration // one message's processing
	// MaxConns bounds connections at once; more are closed on arrival
	// unless one that has sent no message yet can make room.
	MaxConns int
	// MaxConnsPerAddr bounds the connections at once from one address.
	MaxConnsPerAddr int
	// FirstMessageTimeout is how long a new connection may take to send
	// its first message (and to finish its TLS handshake).
	FirstMessageTimeout time.Duration
	// Allow lists the addresses that may connect; empty: LoopbackOnly.
	// Others are closed at once, unread.
	Allow []netip.Prefix
	// TLS, when not nil, makes the server speak MLLP over TLS: each
	// connection's handshake must succeed first. Set ClientAuth and
	// ClientCAs in it to require the sender's certificate.
	TLS *tls.Config
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// ListenAndServe listens on addr (host:port) and serves until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("hl7: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx is done, then closes ln, stops
// reading (a message half received is not answered: its sender sends it
// again), lets each message being handled finish and its ACK be written,
// and returns once every connection is closed. It returns nil after ctx is
// done.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	log := s.log()
	allow := s.Allow
	if len(allow) == 0 {
		allow = LoopbackOnly()
	}
	log.Info("hl7 listening", "addr", ln.Addr().String(), "tls", s.TLS != nil, "allow", fmt.Sprint(allow))
	var wg sync.WaitGroup
	defer wg.Wait() // last: after the connections were told to stop
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also when Serve fails: connections stop reading
	context.AfterFunc(ctx, func() { ln.Close() })
	adm := newAdmission(orDefault(s.MaxConns, DefaultMaxConns), orDefault(s.MaxConnsPerAddr, DefaultMaxConnsPerAddr))
	refusals := newRefusalLog(10 * time.Second)
	refuse := func(conn net.Conn, reason string) {
		conn.Close()
		if n, ok := refusals.note(reason, time.Now()); ok {
			log.Warn("hl7 connection refused", "reason", reason, "remote", conn.RemoteAddr().String(), "refused_since_last_line", n)
		}
	}
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("hl7: accept: %w", err)
			}
			// Out of file descriptors and the like: wait and go on.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			log.Warn("hl7 accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		delay = 0
		addr, ok := remoteAddr(conn)
		if !ok || !allowed(allow, addr) {
			refuse(conn, "address not in the allow-list")
			continue
		}
		sl, evicted, why := adm.admit(conn, addr)
		if sl == nil {
			refuse(conn, why)
			continue
		}
		if evicted != nil {
			evicted.Close()
			if n, ok := refusals.note("evicted", time.Now()); ok {
				log.Warn("hl7 connection closed to make room: it had sent no message", "remote", evicted.RemoteAddr().String(), "closed_since_last_line", n)
			}
		}
		wg.Go(func() {
			defer adm.release(sl)
			s.serveConn(ctx, conn, func() { adm.established(sl) })
		})
	}
}

// remoteKey is the context key of the sender's address.
type remoteKey struct{}

// Remote returns the address (host:port) of the connection a message came
// on, from the context a Server hands its MessageHandler; "" otherwise.
func Remote(ctx context.Context) string {
	s, _ := ctx.Value(remoteKey{}).(string)
	return s
}

// serveConn reads messages from one connection and answers each. It calls
// established once the connection has carried a message.
func (s *Server) serveConn(ctx context.Context, conn net.Conn, established func()) {
	log := s.log().With("remote", conn.RemoteAddr().String())
	defer conn.Close()
	// Once ctx is done, reads fail at once; a message being handled still
	// gets its ACK, as the handler's context is not ctx's.
	raw := conn
	stop := context.AfterFunc(ctx, func() { raw.SetReadDeadline(time.Now()) })
	defer stop()
	first := orDefault(s.FirstMessageTimeout, DefaultFirstMessageTimeout)
	firstBy := time.Now().Add(first)
	if s.TLS != nil {
		tc := tls.Server(conn, s.TLS)
		hctx, cancel := context.WithDeadline(ctx, firstBy)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			log.Info("hl7 connection closed: TLS handshake failed", "err", err)
			return
		}
		conn = tc
	}
	log.Debug("hl7 connection opened")
	r := bufio.NewReaderSize(conn, 64<<10)
	max := orDefault(s.MaxMessage, DefaultMaxMessage)
	idle := orDefault(s.IdleTimeout, DefaultIdleTimeout)
	// Until the connection has carried a message, all of it (handshake,
	// waiting, the frame itself) must fit in the first message's time.
	proven := false
	for n := 0; ; n++ {
		if proven {
			conn.SetReadDeadline(time.Now().Add(idle))
		} else {
			conn.SetReadDeadline(firstBy)
		}
		if ctx.Err() != nil {
			return
		}
		msg, err := readFrame(r, max, func() {
			if proven {
				conn.SetReadDeadline(time.Now().Add(orDefault(s.ReadTimeout, DefaultReadTimeout)))
			}
			if ctx.Err() != nil {
				conn.SetReadDeadline(time.Now())
			}
		})
		var reply []byte
		switch {
		case errors.Is(err, ErrTooLarge):
			log.Warn("hl7 message too large", "limit_bytes", max)
			reply = tooLarge(msg, max, time.Now())
		case err != nil:
			switch {
			case ctx.Err() != nil:
			case errors.Is(err, io.EOF):
				log.Debug("hl7 connection closed by the peer", "messages", n)
			case errors.Is(err, os.ErrDeadlineExceeded):
				log.Info("hl7 connection closed: timed out", "messages", n)
			case errors.Is(err, net.ErrClosed):
				log.Debug("hl7 connection closed to make room", "messages", n)
			default:
				log.Warn("hl7 connection closed", "messages", n, "err", err)
			}
			return
		default:
			if !proven {
				if _, perr := parse(headerOnly(msg)); perr == nil {
					// A message with a header: a sender, not a socket left open.
					proven = true
					established()
				}
			}
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(s.HandleTimeout, DefaultHandleTimeout))
			hctx = context.WithValue(hctx, remoteKey{}, conn.RemoteAddr().String())
			reply = s.Handler.HandleMessage(hctx, msg)
			cancel()
		}
		conn.SetWriteDeadline(time.Now().Add(orDefault(s.WriteTimeout, DefaultWriteTimeout)))
		if err := writeFrame(conn, reply); err != nil {
			log.Warn("hl7 connection closed: cannot send the ACK", "err", err)
			return
		}
	}
}

// tooLarge answers a message cut at the size limit with AR; its beginning
// still names the sender and the control ID.
func tooLarge(prefix []byte, limit int, now time.Time) []byte {
	req, _ := parse(headerOnly(prefix))
	return ack(req, AckReject, &Error{Code: CodeInternal,
		Reason: fmt.Sprintf("message larger than %d bytes: not read", limit)}, Endpoint{}, now)
}

// headerOnly returns the first segment of a message.
func headerOnly(msg []byte) []byte {
	for i, c := range msg {
		if c == '\r' || c == '\n' {
			return msg[:i]
		}
	}
	return msg
}
