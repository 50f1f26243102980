package local

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

// The embedded relay chain node's own volume (parachains[].relay.storage, storageClassName)
// sizes a cluster claim: refused locally by field path, where the relay chain's data stays in
// the collator's state directory. groups[].tracing is honoured locally (the same plan renders
// --jaeger-agent for local polkadot-sdk nodes; network.TestTracing).
func TestRelayStorageRefusedLocally(t *testing.T) {
	n := westendDev(t, `  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`)
	n.Spec.Groups[0].Tracing = &v1alpha1.Tracing{JaegerAgent: "127.0.0.1:6831"}
	if err := refuseClusterOnly(n); err != nil {
		t.Fatalf("tracing refused locally: %v", err)
	}
	for _, relay := range []v1alpha1.RelayChain{{Storage: "100Gi"}, {StorageClassName: "fast"}} {
		n.Spec.Parachains = []v1alpha1.Parachain{{Name: "asset-hub", ID: 1000, Relay: relay}}
		if err := refuseClusterOnly(n); err == nil || !strings.HasPrefix(err.Error(), "spec.parachains[0].relay.storage: ") {
			t.Errorf("relay %+v: err = %v, want spec.parachains[0].relay.storage: ...", relay, err)
		}
	}
}
