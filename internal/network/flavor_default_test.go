package network

import (
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

// TestDefaultFlavorFromChain: a spec that names no flavor runs gossamer only on a chain
// gossamer can run; a polkadot-sdk chain or a network with parachains gets substrate, so it
// never silently looks for gossamer. An explicit flavor always wins.
func TestDefaultFlavorFromChain(t *testing.T) {
	validator := "  groups:\n  - {name: validator, role: validator, keys: {dev: [\"//Alice\"]}}\n"
	cases := []struct {
		name, spec string
		want       v1alpha1.Flavor
	}{
		{"polkadot", "  chain: {builtin: polkadot}\n" + validator, v1alpha1.FlavorSubstrate},
		{"kusama", "  chain: {builtin: kusama}\n" + validator, v1alpha1.FlavorSubstrate},
		{"westend", "  chain: {builtin: westend}\n" + validator, v1alpha1.FlavorSubstrate},
		{"rococo-local", "  chain: {builtin: rococo-local}\n" + validator, v1alpha1.FlavorSubstrate},
		{"a parachain", "  chain: {file: ./relay.json}\n" + validator +
			"  - {name: collator, role: collator, parachain: para, keys: {dev: [\"//Alice\"]}}\n" +
			"  parachains:\n  - {name: para, id: 2000, chain: {builtin: asset-hub-rococo-local}}\n", v1alpha1.FlavorSubstrate},
		{"westend-dev", "  chain: {builtin: westend-dev}\n" + validator, v1alpha1.FlavorGossamer},
		{"westend-local", "  chain: {builtin: westend-local}\n" + validator, v1alpha1.FlavorGossamer},
		{"a chain spec file", "  chain: {file: ./chain.json}\n" + validator, v1alpha1.FlavorGossamer},
		{"explicit gossamer wins", "  chain: {url: \"https://example.org/c.json\"}\n  node: {flavor: gossamer}\n" + validator, v1alpha1.FlavorGossamer},
		{"explicit substrate wins", "  chain: {builtin: westend-dev}\n  node: {flavor: substrate}\n" + validator, v1alpha1.FlavorSubstrate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := Parse([]byte(head + "spec:\n" + c.spec))
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Spec.Node.Flavor; got != c.want {
				t.Fatalf("spec.node.flavor = %q, want %q", got, c.want)
			}
		})
	}
}
