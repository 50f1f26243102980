package controller

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// WriteCounter counts the API requests that change something (every verb but GET), so a
// reconcile that finds nothing to change can be shown to write nothing.
type WriteCounter struct {
	n atomic.Int64
}

var apiWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "onf_operator_api_writes_total",
	Help: "API requests of the operator that change objects, by HTTP method.",
}, []string{"method"})

func init() { metrics.Registry.MustRegister(apiWrites) }

// Writes is the number of writing requests so far.
func (w *WriteCounter) Writes() int64 { return w.n.Load() }

// Wrap makes cfg count its writing requests.
func (w *WriteCounter) Wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method != http.MethodGet {
				w.n.Add(1)
				apiWrites.WithLabelValues(r.Method).Inc()
			}
			return rt.RoundTrip(r)
		})
	})
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
