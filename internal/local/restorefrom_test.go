package local

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/network"
)

// Locally restoreFrom is refused by its field path rather than ignored: a node would
// otherwise sync from genesis while the spec says it starts from a backup.
func TestRestoreFromRefusedLocally(t *testing.T) {
	n, err := network.Parse([]byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev}
spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, restoreFrom: {url: "https://snap.example/dev.tar.zst", sha256: 6f1ed002ab5595859014ebf0951522d9c5f1b6f1c2e8a2b3f0d8d2a1e0c9b8a7}}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = refuseClusterOnly(n)
	if err == nil || !strings.HasPrefix(err.Error(), "spec.groups[1].restoreFrom: works in clusters only") {
		t.Fatalf("err = %v", err)
	}
	n.Spec.Groups[1].RestoreFrom = nil
	if err := refuseClusterOnly(n); err != nil {
		t.Fatal(err)
	}
}
