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
	calls         *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	upstreamUp    *prometheus.GaugeVec
	wsConns       prometheus.Gauge
	authFailures  *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	methods       *labelCap
	keys          *labelCap
	callSeries    seriesCache[callLabels, prometheus.Counter]
	latencySeries seriesCache[string, prometheus.Observer]
}

type callLabels struct{ method, key, outcome string }

// seriesCache keeps the series already met, so that a call finds its own with one map lookup
// instead of capping and hashing its label values each time. Only series whose labels were
// not capped are kept, so the cache grows no further than the series themselves.
type seriesCache[K comparable, S any] struct {
	mu sync.RWMutex
	m  map[K]S
}

// get returns the series of k; on a miss, find returns it and whether its labels are k's own
// (not capped).
func (c *seriesCache[K, S]) get(k K, find func() (S, bool)) S {
	c.mu.RLock()
	s, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s, keep := find()
	if keep {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[K]S{}
		}
		c.m[k] = s
		c.mu.Unlock()
	}
	return s
}

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
		methods: newLabelCap(256),
		keys:    newLabelCap(1024),
	}
	reg.MustRegister(m.calls, m.latency, m.upstreamUp, m.wsConns, m.authFailures, m.rejected)
	return m
}

func (m *metrics) call(method, key, outcome string) {
	m.callSeries.get(callLabels{method, key, outcome}, func() (prometheus.Counter, bool) {
		cappedMethod, cappedKey := m.methods.get(method), m.keys.get(key)
		return m.calls.WithLabelValues(cappedMethod, cappedKey, outcome), cappedMethod == method && cappedKey == key
	}).Inc()
}

func (m *metrics) reject(reason string) { m.rejected.WithLabelValues(reason).Inc() }

func (m *metrics) authFailure(reason string) { m.authFailures.WithLabelValues(reason).Inc() }

func (m *metrics) observe(method string, since time.Time) {
	m.latencySeries.get(method, func() (prometheus.Observer, bool) {
		capped := m.methods.get(method)
		return m.latency.WithLabelValues(capped), capped == method
	}).Observe(time.Since(since).Seconds())
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
