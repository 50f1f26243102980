package flavor

import (
	"slices"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

func TestMultiaddr(t *testing.T) {
	for _, c := range []struct {
		host, peer, want string
	}{
		{"127.0.0.1", "12D3KooW", "/ip4/127.0.0.1/tcp/30333/p2p/12D3KooW"},
		{"::1", "", "/ip6/::1/tcp/30333"},
		{"boot.example.org", "", "/dns/boot.example.org/tcp/30333"},
	} {
		if got := Multiaddr(c.host, 30333, c.peer); got != c.want {
			t.Errorf("Multiaddr(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}

// Gossamer takes its public address as an IP or a DNS name, not as a multiaddr.
func TestGossamerPublicAddress(t *testing.T) {
	d := MustFor(v1alpha1.FlavorGossamer)
	for host, flag := range map[string]string{"203.0.113.7": "--public-ip", "boot.example.org": "--public-dns"} {
		args := d.Args(Node{Role: v1alpha1.RoleBootnode, PublicHost: host})
		if i := slices.Index(args, flag); i < 0 || args[i+1] != host {
			t.Errorf("public host %s: want %s %s in %v", host, flag, host, args)
		}
	}
}

func TestUnknownFlavor(t *testing.T) {
	if _, err := For("parity"); err == nil {
		t.Fatal("an unknown flavor must be an error")
	}
}

// A local node's P2P port listens on loopback unless the spec gives it a public address;
// in clusters every port listens on all interfaces.
func TestP2PListenAddress(t *testing.T) {
	loopback := []string{"--listen-addr", "/ip4/127.0.0.1/tcp/30333"}
	for _, f := range []v1alpha1.Flavor{v1alpha1.FlavorGossamer, v1alpha1.FlavorSubstrate} {
		d := MustFor(f)
		for _, c := range []struct {
			node Node
			want bool
		}{
			{Node{}, true},
			{Node{PublicHost: "203.0.113.7"}, false},
			{Node{External: true}, false},
		} {
			c.node.Role, c.node.Ports = v1alpha1.RoleFull, Ports{P2P: 30333}
			args := d.Args(c.node)
			i := slices.Index(args, "--listen-addr")
			if got := i >= 0 && slices.Equal(args[i:i+2], loopback); got != c.want {
				t.Errorf("%s %+v: loopback listen address %v, want %v in %v", f, c.node, got, c.want, args)
			}
		}
	}
}

// What backends need to know of a flavor beyond its command lines comes from its dialect.
func TestDialectFacts(t *testing.T) {
	for _, c := range []struct {
		f                       v1alpha1.Flavor
		binary, parachainBinary string
		chainFile               string
		live, ready             string
	}{
		{v1alpha1.FlavorSubstrate, "polkadot", "polkadot-parachain", "", "/health", "/health/readiness"},
		{v1alpha1.FlavorGossamer, "gossamer", "gossamer", "chain/westend-dev/westend-dev-spec-raw.json", "", ""},
	} {
		d := MustFor(c.f)
		if got := d.DefaultBinary(false); got != c.binary {
			t.Errorf("%s: DefaultBinary = %q, want %q", c.f, got, c.binary)
		}
		if got := d.DefaultBinary(true); got != c.parachainBinary {
			t.Errorf("%s: DefaultBinary(parachain) = %q, want %q", c.f, got, c.parachainBinary)
		}
		if got := d.BuiltinChainFile("westend-dev"); got != c.chainFile {
			t.Errorf("%s: BuiltinChainFile = %q, want %q", c.f, got, c.chainFile)
		}
		if live, ready := d.HealthPaths(); live != c.live || ready != c.ready {
			t.Errorf("%s: HealthPaths = %q, %q, want %q, %q", c.f, live, ready, c.live, c.ready)
		}
	}
	if got := Flavors(); !slices.Equal(got, []v1alpha1.Flavor{v1alpha1.FlavorGossamer, v1alpha1.FlavorSubstrate}) {
		t.Errorf("Flavors = %v", got)
	}
}

// The embedded relay chain node of a parachain node gets its own metrics port (or none),
// pruning and public address, all after "--" where only it reads them.
func TestEmbeddedRelayNode(t *testing.T) {
	relayArgs := func(n Node) []string {
		args := MustFor(v1alpha1.FlavorSubstrate).Args(n)
		return args[slices.Index(args, "--")+1:]
	}
	base := Node{Role: v1alpha1.RoleCollator, Ports: Ports{P2P: 30333, RelayP2P: 30334, RelayRPC: 9955},
		Parachain: &Parachain{ID: 1000, RelayChain: "rococo-local"}}
	for _, c := range []struct {
		name  string
		edit  func(*Node)
		want  []string
		never []string
	}{
		{"defaults", func(*Node) {}, []string{"--no-prometheus"}, []string{"--prometheus-port", "--state-pruning", "--public-addr"}},
		{"metrics in a cluster", func(n *Node) { n.External, n.Ports.RelayPrometheus = true, 9625 },
			[]string{"--prometheus-port", "9625", "--prometheus-external"}, []string{"--no-prometheus"}},
		{"metrics on loopback", func(n *Node) { n.Ports.RelayPrometheus = 9625 },
			[]string{"--prometheus-port", "9625"}, []string{"--no-prometheus", "--prometheus-external"}},
		{"pruning", func(n *Node) { n.Parachain.RelayPruning = "1000" }, []string{"--state-pruning", "1000"}, nil},
		{"archive", func(n *Node) { n.Parachain.RelayPruning = "archive" },
			[]string{"--state-pruning", "archive", "--blocks-pruning", "archive"}, nil},
		{"public host", func(n *Node) { n.PublicHost = "203.0.113.7" },
			[]string{"--public-addr", "/ip4/203.0.113.7/tcp/30334"}, []string{"--listen-addr"}},
		{"node ports", func(n *Node) {
			n.PublicHost, n.PublicPort, n.RelayPublicPort = "edge.example.org", "$(P2P)", "$(RELAY)"
		},
			[]string{"--public-addr", "/dns/edge.example.org/tcp/$(RELAY)"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := base
			p := *base.Parachain
			n.Parachain = &p
			c.edit(&n)
			got := relayArgs(n)
			if !containsRun(got, c.want) {
				t.Errorf("relay node args %v lack %v", got, c.want)
			}
			for _, f := range c.never {
				if slices.Contains(got, f) {
					t.Errorf("relay node args %v hold %s", got, f)
				}
			}
		})
	}
}

// containsRun reports whether want appears in args as consecutive elements.
func containsRun(args, want []string) bool {
	for i := range args {
		if i+len(want) <= len(args) && slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}
