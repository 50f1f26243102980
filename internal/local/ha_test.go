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
