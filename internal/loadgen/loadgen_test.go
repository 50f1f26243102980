package loadgen

import (
	"testing"
	"time"
)

// TestPercentile: nearest rank, as the summary's median, p95 and max use it.
func TestPercentile(t *testing.T) {
	xs := []time.Duration{6, 1, 5, 2, 4, 3, 7, 8, 9, 10}
	for _, c := range []struct {
		p    int
		want time.Duration
	}{{50, 5}, {95, 10}, {100, 10}, {1, 1}, {0, 1}} {
		if got := Percentile(xs, c.p); got != c.want {
			t.Errorf("p%d = %d, want %d", c.p, got, c.want)
		}
	}
	if Percentile([]uint64(nil), 50) != 0 {
		t.Error("no values: want 0")
	}
	if got := Percentile([]uint64{3}, 50); got != 3 {
		t.Errorf("one value: %d", got)
	}
}

// TestRunRefusesBadConfig: nothing is dialled for a run that could not send.
func TestRunRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "http://127.0.0.1:1", TransfersPerBlock: 0, Blocks: 1},
		{URL: "http://127.0.0.1:1", TransfersPerBlock: 1, Blocks: 0},
		{URL: "http://127.0.0.1:1", TransfersPerBlock: 1, Blocks: 1, Senders: []string{"//Alice"}},
	} {
		if _, err := Run(t.Context(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
