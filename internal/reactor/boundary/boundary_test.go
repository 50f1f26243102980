package boundary_test

import (
	"os"
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
	"github.com/dinfra/stack/internal/reactor/boundary"
)

func doc(spec string) []byte {
	return []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"n"},"spec":` + spec + `}`)
}

func TestExampleIsAccepted(t *testing.T) {
	raw, err := os.ReadFile("../../../examples/descriptors/dev-network.json")
	if err != nil {
		t.Fatal(err)
	}
	n, err := boundary.Network(raw, 1, boundary.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Spec.Groups[1].RPC == nil || n.Spec.Groups[1].RPC.Methods != v1alpha1.RPCSafe {
		t.Fatalf("not defaulted by network.Default: %+v", n.Spec.Groups[1])
	}
}

func TestProviderFieldsAreRefused(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"gateway config", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"r","role":"rpc"}],"gateway":{"group":"r","config":"/etc/dinfra/gateway.yaml"}}`)), "spec.gateway: the provider runs RPC gateways"},
		{"chain file", string(doc(`{"chain":{"file":"/etc/shadow"},"groups":[{"name":"v","role":"validator"}]}`)), "spec.chain.file: a path on the provider's machine"},
		{"parachain chain file", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator"}],"parachains":[{"name":"p","id":1000,"chain":{"file":"/etc/shadow"}}]}`)), "spec.parachains[0].chain.file"},
		{"config map", string(doc(`{"chain":{"configMap":{"name":"x","key":"y"}},"groups":[{"name":"v","role":"validator"}]}`)), "spec.chain.configMap"},
		{"binary", string(doc(`{"chain":{"builtin":"westend-dev"},"node":{"binary":"/bin/sh"},"groups":[{"name":"v","role":"validator"}]}`)), "spec.node.binary: the provider chooses"},
		{"group binary", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","node":{"binary":"/bin/sh"}}]}`)), "spec.groups[0].node.binary"},
		{"args", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","args":["--base-path=/"]}]}`)), "spec.groups[0].args"},
		{"relay args", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator"}],"parachains":[{"name":"p","id":1000,"chain":{"builtin":"dev"},"relay":{"args":["-d","/"]}}]}`)), "spec.parachains[0].relay.args"},
		{"key files", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","keys":{"files":["/root/key"]}}]}`)), "spec.groups[0].keys.files"},
		{"key secret", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","keys":{"secret":"x"}}]}`)), "spec.groups[0].keys.secret"},
		{"public RPC Service", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"r","role":"rpc","rpc":{"methods":"safe","service":{"type":"LoadBalancer"}}}]}`)), "spec.groups[0].rpc.service: the provider shapes the Services"},
		{"own node key Secret", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"b","role":"bootnode","p2p":{"nodeKeySecret":"x"}}]}`)), "spec.groups[0].p2p.nodeKeySecret: a provider-side secret"},
		{"metadata namespace", `{"metadata":{"name":"n","namespace":"kube-system"},"spec":{"chain":{"builtin":"westend-dev"},"groups":[]}}`, "metadata.namespace: not accepted from consumers"},
		{"status", `{"spec":{"chain":{"builtin":"westend-dev"},"groups":[]},"status":{"bestBlock":1}}`, "status: reported by the provider"},
		{"unknown field", string(doc(`{"chain":{"builtin":"westend-dev"},"groups":[],"logFile":"/var/log/x"}`)), "spec.logFile: not accepted"},
		{"not JSON", `{"spec":`, "(document): not a JSON document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := boundary.Network([]byte(tt.doc), 1, boundary.Policy{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if problem.Of(err) == nil {
				t.Fatalf("%T is not a rejection with problems", err)
			}
		})
	}
}

func TestSizeIsBoundedByUnits(t *testing.T) {
	tests := []struct {
		name  string
		units int64
		p     boundary.Policy
		spec  string
		want  string // empty: accepted
	}{
		{"replicas bomb", 1, boundary.Policy{}, `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":100000000}]}`, "spec.groups[0].replicas: 100000000 nodes bring the network to 100000000 nodes; 1 unit(s) buy at most 4"},
		{"sum over groups", 1, boundary.Policy{}, `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":2},{"name":"r","role":"rpc","replicas":2},{"name":"f","role":"full"}]}`, "spec.groups[2].replicas: 1 nodes bring the network to 5 nodes"},
		{"autoscaling maximum", 2, boundary.Policy{}, `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"r","role":"rpc","autoscaling":{"minReplicas":1,"maxReplicas":9}}]}`, "spec.groups[0].autoscaling.maxReplicas"},
		{"provider's nodes per unit", 2, boundary.Policy{NodesPerUnit: 1}, `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":3}]}`, "2 unit(s) buy at most 2 (1 nodes per unit)"},
		{"exactly paid for", 2, boundary.Policy{}, `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":4},{"name":"r","role":"rpc","replicas":4}]}`, ""},
		{"huge units", 1 << 62, boundary.Policy{}, `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":2147483647}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := boundary.Network(doc(tt.spec), tt.units, tt.p)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestChainURLsNeedTheProvidersHosts(t *testing.T) {
	hosts := boundary.Policy{ChainHosts: []string{"specs.example.org"}}
	tests := []struct {
		name string
		p    boundary.Policy
		spec string
		want string
	}{
		{"refused by default", boundary.Policy{}, `{"chain":{"url":"http://127.0.0.1:26657/status"},"groups":[]}`, "spec.chain.url: this provider fetches no consumer URLs"},
		{"host not listed", hosts, `{"chain":{"url":"http://127.0.0.1:8080/v1/deployments"},"groups":[]}`, `spec.chain.url: host "127.0.0.1" is not one this provider fetches from`},
		{"credentials", hosts, `{"chain":{"url":"https://u:p@specs.example.org/x.json"},"groups":[]}`, "spec.chain.url: want a https or http URL"},
		{"relay RPC", hosts, `{"chain":{"builtin":"westend-dev"},"groups":[],"parachains":[{"name":"p","id":1000,"chain":{"builtin":"dev"},"relay":{"rpcUrls":["ws://localhost:9944"]}}]}`, "spec.parachains[0].relay.rpcUrls[0]"},
		{"listed host", hosts, `{"chain":{"url":"https://SPECS.example.org/westend.json"},"groups":[]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := boundary.Network(doc(tt.spec), 1, tt.p)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzNetwork: whatever a consumer sends, the check returns (no panic, no unbounded work)
// and what it accepts has no provider-only field and stays within the units.
func FuzzNetwork(f *testing.F) {
	f.Add(doc(`{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}`), int64(1))
	f.Add(doc(`{"chain":{"file":"/etc/shadow"},"groups":[{"name":"v","role":"validator","replicas":100000000}]}`), int64(1))
	f.Add(doc(`{"chain":{"builtin":"x"},"groups":[{"name":"r","role":"rpc"}],"gateway":{"group":"r","config":"/etc/x"}}`), int64(3))
	f.Add(doc(`{"chain":{"url":"http://127.0.0.1/"},"groups":[],"parachains":[{"name":"p","id":1,"chain":{"builtin":"d"},"node":{"binary":"/bin/sh"}}]}`), int64(2))
	f.Fuzz(func(t *testing.T, raw []byte, units int64) {
		if units < 1 {
			return
		}
		n, err := boundary.Network(raw, units, boundary.Policy{})
		if err != nil {
			return
		}
		s := n.Spec
		if s.Gateway != nil || s.Chain.File != "" || s.Chain.URL != "" || s.Chain.ConfigMap != nil || s.Node.Binary != "" {
			t.Fatalf("accepted a provider-only field: %+v", s)
		}
		var nodes int64
		for _, g := range s.Groups {
			if len(g.Args) > 0 || (g.Node != nil && g.Node.Binary != "") || (g.Keys != nil && (len(g.Keys.Files) > 0 || g.Keys.Secret != "")) {
				t.Fatalf("accepted a provider-only field in group %+v", g)
			}
			nodes += int64(*g.Replicas)
		}
		if nodes > (boundary.Policy{}).MaxNodes(units) {
			t.Fatalf("%d nodes accepted for %d units", nodes, units)
		}
	})
}
