package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The series kept for quick lookup count like the vectors do, and method names past the cap
// are counted as "other" without growing what is kept.
func TestMetricsKeepOnlyUncappedSeries(t *testing.T) {
	m := newMetrics(prometheus.NewRegistry())
	for i := range 300 {
		method := fmt.Sprintf("m_%d", i)
		for range 2 {
			m.call(method, "k", outcomeOK)
			m.observe(method, time.Now())
		}
	}
	if len(m.callSeries.m) != 256 || len(m.latencySeries.m) != 256 {
		t.Fatalf("kept %d call and %d latency series, want the 256 uncapped ones", len(m.callSeries.m), len(m.latencySeries.m))
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues("m_7", "k", outcomeOK)); got != 2 {
		t.Fatalf("m_7 counted %v calls, want 2", got)
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues("other", "k", outcomeOK)); got != 2*44 {
		t.Fatalf("other counted %v calls, want %d", got, 2*44)
	}
	if n := testutil.CollectAndCount(m.latency); n != 257 {
		t.Fatalf("%d latency series, want 257 (256 methods and other)", n)
	}
}
