package gateway

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series. Label values that come from callers (method
// names, key ids, token subjects) are capped so a client cannot grow the series set.
type metrics struct {
	calls        *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	upstreamUp   *prometheus.GaugeVec
	wsConns      prometheus.Gauge
	authFailures *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	methods      *labelCap
	keys         *labelCap

	// Every call counts in a series and most are timed: the series met so far are kept here,
	// found with one map lookup instead of capping and hashing the label values each time.
	// Only series whose labels were not capped are kept, so the maps grow no further than
	// the series themselves.
	seriesMu  sync.RWMutex
	callsBy   map[callLabels]prometheus.Counter
	latencyBy map[string]prometheus.Observer
}

type callLabels struct{ method, key, outcome string }

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onf_gateway_calls_total",
			Help: "JSON-RPC calls by method, key and outcome (ok, error, denied, rate_limited, subscription_limited, invalid, upstream_unavailable).",
		}, []string{"method", "key", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onf_gateway_upstream_call_duration_seconds",
			Help:    "Time from forwarding a call to a node until its answer, by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		upstreamUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "onf_gateway_upstream_up",
			Help: "1 when the upstream node's last health probe passed (reachable, not syncing).",
		}, []string{"upstream"}),
		wsConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "onf_gateway_websocket_connections",
			Help: "Open client WebSocket connections.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onf_gateway_auth_failures_total",
			Help: "Requests refused for missing or invalid credentials.",
		}, []string{"reason"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onf_gateway_rejected_messages_total",
			Help: "Client messages refused before any call was read (too_large, malformed, connection_limit).",
		}, []string{"reason"}),
		methods:   newLabelCap(256),
		keys:      newLabelCap(1024),
		callsBy:   map[callLabels]prometheus.Counter{},
		latencyBy: map[string]prometheus.Observer{},
	}
	reg.MustRegister(m.calls, m.latency, m.upstreamUp, m.wsConns, m.authFailures, m.rejected)
	return m
}

func (m *metrics) call(method, key, outcome string) {
	labels := callLabels{method, key, outcome}
	m.seriesMu.RLock()
	c, ok := m.callsBy[labels]
	m.seriesMu.RUnlock()
	if !ok {
		cappedMethod, cappedKey := m.methods.get(method), m.keys.get(key)
		c = m.calls.WithLabelValues(cappedMethod, cappedKey, outcome)
		if cappedMethod == method && cappedKey == key {
			m.seriesMu.Lock()
			m.callsBy[labels] = c
			m.seriesMu.Unlock()
		}
	}
	c.Inc()
}

func (m *metrics) reject(reason string) { m.rejected.WithLabelValues(reason).Inc() }

func (m *metrics) authFailure(reason string) { m.authFailures.WithLabelValues(reason).Inc() }

func (m *metrics) observe(method string, since time.Time) {
	m.seriesMu.RLock()
	o, ok := m.latencyBy[method]
	m.seriesMu.RUnlock()
	if !ok {
		capped := m.methods.get(method)
		o = m.latency.WithLabelValues(capped)
		if capped == method {
			m.seriesMu.Lock()
			m.latencyBy[method] = o
			m.seriesMu.Unlock()
		}
	}
	o.Observe(time.Since(since).Seconds())
}

func (m *metrics) upstream(name string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.upstreamUp.WithLabelValues(name).Set(v)
}

// labelCap passes through the first max distinct values and maps the rest to "other".
type labelCap struct {
	max  int64
	n    atomic.Int64
	seen sync.Map
}

func newLabelCap(max int64) *labelCap { return &labelCap{max: max} }

func (c *labelCap) get(v string) string {
	if _, ok := c.seen.Load(v); ok {
		return v
	}
	if c.n.Add(1) > c.max {
		c.n.Add(-1)
		return "other"
	}
	if _, loaded := c.seen.LoadOrStore(v, struct{}{}); loaded {
		c.n.Add(-1)
	}
	return v
}
