package network

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

const extraBoot = "/dns/boot.other-cluster.example.org/tcp/30333/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"

// Boot nodes from outside the network reach both dialects after the ones onf wires: one
// --bootnodes per address for polkadot-sdk, one comma-joined list for gossamer.
func TestExtraBootnodes(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"substrate", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, p2p: {bootnodes: ["` + extraBoot + `"]}}
`, "--bootnodes SEED --bootnodes " + extraBoot},
		{"gossamer", gossamerDev + `  - {name: rpc, role: rpc, p2p: {bootnodes: ["` + extraBoot + `"]}}
`, "--bootnodes SEED," + extraBoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build(n, newFixedTarget(n, false))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(tc.want, "SEED", p.Node("validator-0").Multiaddr, 1)
			if args := strings.Join(p.Node("rpc-0").Args, " "); !strings.Contains(args, want) {
				t.Errorf("rpc-0 args:\n%s\nwant them to contain %q", args, want)
			}
			if args := strings.Join(p.Node("validator-0").Args, " "); strings.Contains(args, extraBoot) {
				t.Errorf("another group's node got the extra boot node: %s", args)
			}
		})
	}
}

func TestExtraBootnodesRejected(t *testing.T) {
	doc := gossamerDev + `  - name: rpc
    role: rpc
    p2p:
      bootnodes:
      - 10.0.0.1:30333
      - /ip4/10.0.0.1/tcp/30333
      - /ip4/10.0.0.1/tcp/30333/p2p/a,/ip4/10.0.0.2/tcp/30333/p2p/b
      - ` + extraBoot + `
      - ` + extraBoot + `
`
	const at = "spec.groups[1].p2p.bootnodes"
	want := problem.List{
		{Field: at + "[0]", Reason: `must be a multiaddr starting with /ip4/, /ip6/, /dns/, /dns4/ or /dns6/, got "10.0.0.1:30333"`},
		{Field: at + "[1]", Reason: `must end with /p2p/PEER_ID (the boot node's peer ID), got "/ip4/10.0.0.1/tcp/30333"`},
		{Field: at + "[2]", Reason: `must not contain commas or spaces, got "/ip4/10.0.0.1/tcp/30333/p2p/a,/ip4/10.0.0.2/tcp/30333/p2p/b"`},
		{Field: at + "[4]", Reason: `duplicate boot node "` + extraBoot + `"`},
	}
	_, err := Parse([]byte(doc))
	var got problem.List
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(want))
	}
}
