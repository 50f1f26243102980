package local_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/monitor"
)

// The supervisor finds the Prometheus of `onf monitor up` where internal/monitor keeps its
// state (the Prometheus query gates' default address), and none when no stack runs.
func TestMonitorPrometheusOfMonitorState(t *testing.T) {
	home := t.TempDir()
	if got := local.MonitorPrometheus(home, "dev"); got != "" {
		t.Fatalf("no monitoring stack: got %q, want none", got)
	}
	dir, err := monitor.Dir(home, "dev")
	if err != nil {
		t.Fatal(err)
	}
	st := monitor.State{Network: "dev", Prometheus: monitor.Process{PID: 1, Listen: "127.0.0.1:9090"}}
	data, _ := json.Marshal(st)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stack.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if loaded, ok, err := monitor.Load(home, "dev"); err != nil || !ok || loaded.Prometheus.Listen != st.Prometheus.Listen {
		t.Fatalf("monitor.Load: %+v %v %v", loaded, ok, err)
	}
	if got := local.MonitorPrometheus(home, "dev"); got != st.Prometheus.URL() {
		t.Errorf("supervisor's Prometheus %q, want %q", got, st.Prometheus.URL())
	}
}
