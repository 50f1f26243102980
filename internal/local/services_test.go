package local

import (
	"strings"
	"testing"
)

// The Services, Ingress and own node key Secret of clusters are refused locally by their field
// paths, before anything is stored.
func TestServiceOptionsRefusedLocally(t *testing.T) {
	for _, tc := range []struct{ groups, gateway, want string }{
		{groups: "  - {name: rpc, role: rpc, rpc: {methods: safe, service: {type: LoadBalancer}}}\n", want: "spec.groups[1].rpc.service: "},
		{groups: "  - {name: boot, role: bootnode, p2p: {expose: LoadBalancer, service: {externalTrafficPolicy: Cluster}}}\n", want: "spec.groups[1].p2p.service: "},
		{groups: "  - {name: boot, role: bootnode, p2p: {nodeKeySecret: boot-keys}}\n", want: "spec.groups[1].p2p.nodeKeySecret: "},
		{groups: "  - {name: rpc, role: rpc}\n", gateway: "  gateway: {group: rpc, config: gw.yaml, ingress: {hosts: [rpc.example.org]}}\n", want: "spec.gateway.ingress: "},
	} {
		n := westendDev(t, "  - {name: validator, role: validator, keys: {dev: [\"//Alice\"]}}\n"+tc.groups+tc.gateway)
		r := &Runtime{Home: t.TempDir()}
		if _, err := r.Prepare(t.Context(), n); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "clusters only") {
			t.Errorf("Prepare = %v, want %q", err, tc.want)
		}
		if names, err := r.Networks(); err != nil || len(names) != 0 {
			t.Errorf("networks after a refused Prepare: %v, %v", names, err)
		}
	}
}
