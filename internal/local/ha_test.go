package local

import (
	"slices"
	"strings"
	"testing"
)

// Locally the leases live in etcd: an HA group without ha.etcd is refused with its path.
func TestHAWithoutEtcdRefused(t *testing.T) {
	n := westendDev(t, `  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {}}`)
	err := checkHA(n)
	if err == nil || !strings.Contains(err.Error(), "spec.groups[0].ha.etcd: required locally") {
		t.Fatalf("err = %v", err)
	}
	n.Spec.Groups[0].HA = nil
	if err := checkHA(n); err != nil {
		t.Fatal(err)
	}
}

// A polkadot-sdk candidate's keystore is written by its agent, which derives every scheme
// of the default relay validator key types, BEEFY's beef:ecdsa included: such a group passes.
func TestHAValidatorDefaultKeyTypesAccepted(t *testing.T) {
	n := westendDev(t, `  - {name: validator, role: validator, node: {flavor: substrate}, keys: {dev: ["//Alice"]}, ha: {etcd: {endpoints: ["http://127.0.0.1:2379"]}}}`)
	if err := checkHA(n); err != nil {
		t.Fatal(err)
	}
	if types := n.Spec.Groups[0].Keys.Types; !slices.Contains(types, "beef:ecdsa") {
		t.Fatalf("default key types %v lack beef:ecdsa", types)
	}
}
