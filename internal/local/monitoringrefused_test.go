package local

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

// spec.monitoring (Prometheus Operator objects) and the embedded relay chain node's metrics
// port are refused locally by their field paths instead of being dropped.
func TestMonitoringRefusedLocally(t *testing.T) {
	n := westendDev(t, `  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`)
	n.Spec.Monitoring = &v1alpha1.Monitoring{Interval: "15s"}
	if err := refuseClusterOnly(n); err == nil || !strings.HasPrefix(err.Error(), "spec.monitoring: ") {
		t.Fatalf("err = %v, want spec.monitoring: ...", err)
	}
	n.Spec.Monitoring = nil
	n.Spec.Parachains = []v1alpha1.Parachain{{Name: "asset-hub", ID: 1000, Relay: v1alpha1.RelayChain{Metrics: true}}}
	if err := refuseClusterOnly(n); err == nil || !strings.HasPrefix(err.Error(), "spec.parachains[0].relay.metrics: ") {
		t.Fatalf("err = %v, want spec.parachains[0].relay.metrics: ...", err)
	}
	n.Spec.Parachains[0].Relay = v1alpha1.RelayChain{Pruning: "1000"} // honoured locally
	if err := refuseClusterOnly(n); err != nil {
		t.Fatal(err)
	}
}
