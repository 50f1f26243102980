// Package gateway is the authenticated JSON-RPC gateway (`onf gateway`): it sits in front of a
// group of Substrate RPC nodes, proxies HTTP and WebSocket JSON-RPC (batches and subscriptions
// included) to healthy nodes, authenticates every caller (API keys, JWTs), applies per-role
// method policies and per-key and per-IP limits to every single call, and exports Prometheus
// metrics. See docs/gateway.md.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/limit"
	"github.com/dinfra/stack/internal/gateway/policy"
	"github.com/dinfra/stack/internal/gateway/upstream"
)

// Gateway is one configured gateway. Create it with New, then Run it (or mount Handler and
// call Start yourself).
type Gateway struct {
	cfg      *config.Config
	log      *slog.Logger
	auth     *auth.Authenticator
	roles    map[string]*policy.Role
	limits   *limit.Registry
	pool     *upstream.Pool
	metrics  *metrics
	registry *prometheus.Registry
	now      func() time.Time
	loops    eventLoops // the fast server's, made by its first Serve
	// reference serves with net/http only (withReferenceServer).
	reference bool
	timeouts  clientTimeouts
	sessions  sessions
}

// Option adjusts New.
type Option func(*Gateway)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(g *Gateway) { g.log = l } }

// New checks cfg (it must have been defaulted: config.Load and config.Parse do that), loads
// the API keys and JWT keys, and prepares the upstream pool. Nothing is started.
func New(cfg *config.Config, opts ...Option) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: slog.Default(), roles: map[string]*policy.Role{}, now: time.Now, timeouts: defaultClientTimeouts,
		registry: prometheus.NewRegistry()}
	for _, o := range opts {
		o(g)
	}
	for name, r := range cfg.Roles {
		compiled, err := policy.Compile(r.Allow, r.Deny)
		if err != nil {
			return nil, fmt.Errorf("roles.%s: %w", name, err)
		}
		g.roles[name] = compiled
	}
	roleExists := func(r string) bool { return g.roles[r] != nil }
	g.auth = &auth.Authenticator{AllowQueryKey: cfg.Auth.AllowQueryKey}
	if k := cfg.Auth.APIKeys; k != nil {
		ks, err := auth.NewKeyStore(k.File, config.DefaultRole, roleExists)
		if err != nil {
			return nil, fmt.Errorf("auth.apiKeys: %w", err)
		}
		g.auth.Keys = ks
	}
	if j := cfg.Auth.JWT; j != nil {
		v, err := auth.NewJWTVerifier(j, roleExists)
		if err != nil {
			return nil, err
		}
		g.auth.JWT = v
	}
	g.metrics = newMetrics(g.registry)
	g.registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	pool, err := upstream.New(cfg.Upstreams, cfg.HealthCheck, g.log, g.metrics.upstream)
	if err != nil {
		return nil, err
	}
	g.pool = pool
	g.limits = limit.NewRegistry(cfg.Limits.PerKey, cfg.Limits.PerIP)
	return g, nil
}

// Handler serves JSON-RPC (HTTP POST and WebSocket) at "/", the public routes, and /healthz:
// the reference server's handler.
func (g *Gateway) Handler() http.Handler { return g.handler(nil) }

// handler is Handler with the WebSocket sessions it opens read by loops, if not nil.
func (g *Gateway) handler(loops *eventLoops) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/{$}", g.route(nil, loops))
	for _, p := range g.cfg.Public {
		mux.Handle(p.Path, g.route(&p, loops))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := g.pool.PickHTTP(); !ok {
			http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// MetricsHandler serves the Prometheus metrics.
func (g *Gateway) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(g.registry, promhttp.HandlerOpts{})
}

// Start probes every upstream once, then keeps probing and reloading API keys in the
// background until ctx ends.
func (g *Gateway) Start(ctx context.Context) {
	g.pool.CheckAll(ctx)
	go every(ctx, g.cfg.HealthCheck.Interval.D(), func(context.Context) { g.pool.CheckAll(ctx) })
	if k := g.cfg.Auth.APIKeys; k != nil {
		go every(ctx, k.ReloadInterval.D(), func(context.Context) { g.reloadKeys() })
	}
	go every(ctx, time.Minute, func(context.Context) { g.limits.Sweep(time.Now().Add(-10 * time.Minute)) })
}

// every runs f every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// ReloadKeys re-reads the API key file now (for SIGHUP) and closes the WebSocket sessions of
// keys it no longer holds.
func (g *Gateway) ReloadKeys() error {
	if g.auth.Keys == nil {
		return errors.New("no API key file configured")
	}
	changed, err := g.auth.Keys.Reload()
	if changed {
		g.closeRevoked()
	}
	return err
}

// Run listens on cfg.Listen (and cfg.MetricsListen), starts the background work and serves
// until ctx ends, then shuts down gracefully.
func (g *Gateway) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return g.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (for example on port 0).
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	var tlsConf *tls.Config
	if t := g.cfg.TLS; t != nil {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("tls: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.Start(ctx)
	defer g.pool.Close()
	srv := g.newServer(tlsConf, ln.Addr())
	errc := make(chan error, 2)
	var msrv *http.Server
	if g.cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", g.cfg.MetricsListen)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("metrics listen: %w", err)
		}
		msrv = &http.Server{Handler: g.metricsMux(), ReadHeaderTimeout: g.timeouts.header}
		go func() { errc <- msrv.Serve(mln) }()
		g.log.Info("gateway metrics listening", "addr", mln.Addr().String())
	}
	go func() { errc <- srv.serve(ctx, ln) }()
	g.log.Info("gateway listening", "addr", ln.Addr().String(), "tls", tlsConf != nil, "upstreams", len(g.cfg.Upstreams))
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	_ = ln.Close()
	shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	srv.shutdown(shutdownCtx)
	if msrv != nil {
		_ = msrv.Shutdown(shutdownCtx)
	}
	g.log.Info("gateway stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

func (g *Gateway) errorLog() *log.Logger { return slog.NewLogLogger(g.log.Handler(), slog.LevelWarn) }

func (g *Gateway) metricsMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", g.MetricsHandler())
	return mux
}
