package local

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/network"
)

// Locally the leases live in etcd: an HA group without ha.etcd is refused with its path.
func TestHAWithoutEtcdRefused(t *testing.T) {
	n, err := network.Parse([]byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev}
spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {}}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = checkHA(n)
	if err == nil || !strings.Contains(err.Error(), "spec.groups[0].ha.etcd: required locally") {
		t.Fatalf("err = %v", err)
	}
	n.Spec.Groups[0].HA = nil
	if err := checkHA(n); err != nil {
		t.Fatal(err)
	}
}
