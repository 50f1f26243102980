package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderPrometheusRule: --prometheus-rule adds the alert rules, every selector scoped to
// the network and its namespace; without the flag there is none.
func TestRenderPrometheusRule(t *testing.T) {
	spec := filepath.Join("..", "..", "internal", "kube", "testdata", "dev.yaml")
	keys := filepath.Join(t.TempDir(), "keys")
	out := render(t, "-f", spec, "-n", "chains", "--node-keys", keys, "--prometheus-rule")
	for _, want := range []string{"kind: PrometheusRule", "alert: BlockProductionStalled", `onf:node_best_block{namespace="chains",network="dev"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("render --prometheus-rule output lacks %q", want)
		}
	}
	if out := render(t, "-f", spec, "-n", "chains", "--node-keys", keys); strings.Contains(out, "PrometheusRule") {
		t.Error("render without --prometheus-rule printed a PrometheusRule")
	}
}
