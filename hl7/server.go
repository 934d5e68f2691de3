package hl7

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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
)

// Server accepts MLLP connections and answers each message with its
// Handler's ACK, one message at a time per connection, one goroutine per
// connection. Zero fields take the defaults above.
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
	// MaxConns bounds connections at once; more are closed on arrival.
	MaxConns int
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
	log.Info("hl7 listening", "addr", ln.Addr().String())
	var wg sync.WaitGroup
	defer wg.Wait() // last: after the connections were told to stop
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also when Serve fails: connections stop reading
	context.AfterFunc(ctx, func() { ln.Close() })
	slots := make(chan struct{}, orDefault(s.MaxConns, DefaultMaxConns))
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
		select {
		case slots <- struct{}{}:
		default:
			log.Warn("hl7 connection refused: too many connections", "remote", conn.RemoteAddr().String())
			conn.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			s.serveConn(ctx, conn)
		})
	}
}

// serveConn reads messages from one connection and answers each.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	log := s.log().With("remote", conn.RemoteAddr().String())
	defer conn.Close()
	// Once ctx is done, reads fail at once; a message being handled still
	// gets its ACK, as the handler's context is not ctx's.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	log.Debug("hl7 connection opened")
	r := bufio.NewReaderSize(conn, 64<<10)
	max := orDefault(s.MaxMessage, DefaultMaxMessage)
	for n := 0; ; n++ {
		conn.SetReadDeadline(time.Now().Add(orDefault(s.IdleTimeout, DefaultIdleTimeout)))
		if ctx.Err() != nil {
			return
		}
		msg, err := readFrame(r, max, func() {
			conn.SetReadDeadline(time.Now().Add(orDefault(s.ReadTimeout, DefaultReadTimeout)))
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
			default:
				log.Warn("hl7 connection closed", "messages", n, "err", err)
			}
			return
		default:
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(s.HandleTimeout, DefaultHandleTimeout))
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
