package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"golang.org/x/sync/errgroup"

	"paperchart/api"
)

// checks are the health checks of the connections the role opened.
func (s *services) checks() []api.Check {
	var cs []api.Check
	if s.db != nil {
		cs = append(cs, api.Check{Name: "database", Ping: s.db.Ping})
	}
	if s.queue != nil {
		cs = append(cs, api.Check{Name: "redis", Ping: s.queue.Ping})
	}
	if s.objs != nil {
		cs = append(cs, api.Check{Name: "objects", Ping: s.objs.Ping})
	}
	return cs
}

// healthHandler is what --health-addr serves for a role without the HTTP
// API (watch, worker, hl7): GET /healthz (its dependencies, for readiness),
// GET /livez (the process answers, for liveness) and GET /metrics (the
// process's Prometheus metrics: a worker's pages by outcome and OCR time,
// and the pipeline's state). None of them carries patient data.
func healthHandler(s *services, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", (&api.Server{Checks: s.checks(), Log: log}).HealthHandler())
	mux.HandleFunc("GET /livez", api.Live)
	mux.Handle("GET /metrics", s.registry().Handler())
	return mux
}

// withHealth runs role until it returns or ctx ends, with the health
// listener on addr beside it; an empty addr runs role alone.
func withHealth(ctx context.Context, addr string, s *services, log *slog.Logger, role func(context.Context) error) error {
	if addr == "" {
		return role(ctx)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for health checks on %s: %w", addr, err)
	}
	log.Info("serving health", "addr", ln.Addr().String())
	g, ctx := errgroup.WithContext(ctx)
	ctx, stop := context.WithCancel(ctx)
	g.Go(func() error {
		defer stop() // the role ended: so does the listener
		return role(ctx)
	})
	g.Go(func() error { return serveOn(ctx, ln, healthHandler(s, log), "", "") })
	return g.Wait()
}
