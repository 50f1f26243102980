package site

import (
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

func TestChainName(t *testing.T) {
	for _, tc := range []struct {
		chain v1alpha1.Chain
		want  string
	}{
		{v1alpha1.Chain{Builtin: "westend-dev"}, "westend-dev"},
		{v1alpha1.Chain{File: "/srv/specs/relay-raw.json"}, "relay-raw.json"},
		{v1alpha1.Chain{URL: "https://example.org/chains/para.json"}, "para.json"},
		{v1alpha1.Chain{ConfigMap: &v1alpha1.KeyReference{Name: "relay-spec", Key: "spec.json"}}, "configmap relay-spec"},
		{v1alpha1.Chain{}, ""},
	} {
		if got := ChainName(tc.chain); got != tc.want {
			t.Errorf("ChainName(%+v) = %q, want %q", tc.chain, got, tc.want)
		}
	}
}

func TestSessionKeysByNode(t *testing.T) {
	keys := &v1alpha1.RegisteredKeys{Validator: "5Grw", Keys: "0x01", Session: 3}
	n := &v1alpha1.SubstrateNetwork{}
	n.Name = "relay"
	n.Status.Nodes = []v1alpha1.NodeStatus{{Name: "relay-validator-0", SessionKeys: keys}, {Name: "relay-rpc-0"}}
	if got := sessionKeys(n); len(got) != 1 || got["validator-0"] != keys {
		t.Errorf("sessionKeys: %v", got)
	}
}
