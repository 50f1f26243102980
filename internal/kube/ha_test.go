package kube

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/network"
)

// A spec with ha is refused in a cluster, naming the field, rather than rendered with every
// candidate pod holding the keys.
func TestHARefusedInClusters(t *testing.T) {
	n, err := network.Parse([]byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev}
spec:
  chain: {builtin: westend-dev}
  node: {image: gossamer:test}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {etcd: {endpoints: ["http://127.0.0.1:2379"]}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Desired(n, testKeys(t, n), Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "spec.groups[0].ha: ") {
		t.Fatalf("err = %v, want spec.groups[0].ha refused", err)
	}
}
