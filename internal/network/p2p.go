package network

import (
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// validateBootnodes checks spec.groups[].p2p.bootnodes: multiaddrs a node can dial and check
// (the peer ID is what makes a boot node safe to trust), written as both flavors take them
// (gossamer joins them with commas, so none may hold one).
func validateBootnodes(ps *problem.List, at path, p *v1alpha1.P2P) {
	if p == nil {
		return
	}
	seen := map[string]bool{}
	for i, b := range p.Bootnodes {
		f := at.key("bootnodes").index(i).String()
		_, peer, found := strings.Cut(b, "/p2p/")
		switch {
		case !strings.HasPrefix(b, "/ip4/") && !strings.HasPrefix(b, "/ip6/") && !strings.HasPrefix(b, "/dns/") && !strings.HasPrefix(b, "/dns4/") && !strings.HasPrefix(b, "/dns6/"):
			ps.Add(f, "must be a multiaddr starting with /ip4/, /ip6/, /dns/, /dns4/ or /dns6/, got %q", b)
		case strings.ContainsAny(b, ", \t\n"):
			ps.Add(f, "must not contain commas or spaces, got %q", b)
		case !found || peer == "" || strings.Contains(peer, "/"):
			ps.Add(f, "must end with /p2p/PEER_ID (the boot node's peer ID), got %q", b)
		case seen[b]:
			ps.Add(f, "duplicate boot node %q", b)
		}
		seen[b] = true
	}
}
