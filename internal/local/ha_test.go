package local

import (
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

// A polkadot-sdk candidate's keystore is written by its agent, which cannot derive ecdsa
// keys: a validator group with the default types (BEEFY's beef:ecdsa among them) is
// refused with the type's path; without it the group passes.
func TestHAEcdsaKeyRefused(t *testing.T) {
	const etcd = `ha: {etcd: {endpoints: ["http://127.0.0.1:2379"]}}`
	n := westendDev(t, `  - {name: validator, role: validator, node: {flavor: substrate}, keys: {dev: ["//Alice"]}, `+etcd+`}`)
	err := checkHA(n)
	if err == nil || !strings.Contains(err.Error(), "spec.groups[0].keys.types[6]: an ha candidate's keystore is written by its agent") {
		t.Fatalf("err = %v", err)
	}
	n = westendDev(t, `  - {name: validator, role: validator, node: {flavor: substrate}, keys: {dev: ["//Alice"], types: ["babe:sr25519", "gran:ed25519"]}, `+etcd+`}`)
	if err := checkHA(n); err != nil {
		t.Fatal(err)
	}
}
