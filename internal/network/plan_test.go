package network

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/nodekey"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedTarget is a deterministic target for golden tests: loopback with ports counted up from
// a base (like the local runtime), or cluster DNS names with fixed ports (like Kubernetes).
type fixedTarget struct {
	cluster bool
	network string
	index   map[string]int
}

func newFixedTarget(n *v1alpha1.SubstrateNetwork, cluster bool) *fixedTarget {
	t := &fixedTarget{cluster: cluster, network: n.Name, index: map[string]int{}}
	for i, ref := range Nodes(n) {
		t.index[ref.Name] = i
	}
	return t
}

func (t *fixedTarget) Ports(n NodeRef) flavor.Ports {
	if t.cluster {
		return flavor.Ports{P2P: 30333, RPC: 9944, WS: 9945, Prometheus: 9615, RelayP2P: 30334, RelayRPC: 9955}
	}
	b := 20000 + 10*t.index[n.Name]
	return flavor.Ports{P2P: b, RPC: b + 1, WS: b + 2, Prometheus: b + 3, RelayP2P: b + 4, RelayRPC: b + 5}
}

func (t *fixedTarget) Host(n NodeRef) string {
	if t.cluster {
		return n.Name + ".net.svc.cluster.local"
	}
	return "127.0.0.1"
}

func (t *fixedTarget) BasePath(n NodeRef) string {
	if t.cluster {
		return "/data"
	}
	return "/state/nodes/" + n.Name
}

func (t *fixedTarget) PeerID(n NodeRef) (string, error) {
	seed := sha256.Sum256([]byte(n.Name))
	k, err := nodekey.FromSeed(seed[:])
	return k.PeerID(), err
}

func (t *fixedTarget) ChainSpec(c v1alpha1.Chain, f v1alpha1.Flavor) (string, error) {
	switch {
	case c.Builtin != "" && f == v1alpha1.FlavorGossamer:
		return "/gossamer/chain/" + c.Builtin + "/" + c.Builtin + "-spec-raw.json", nil
	case c.Builtin != "":
		return c.Builtin, nil
	case c.File != "":
		return c.File, nil
	default:
		return "/chainspecs/" + filepath.Base(c.URL), nil
	}
}

func (t *fixedTarget) SURIFile(n NodeRef) string { return "/keys/" + n.Name + ".suri" }

func (t *fixedTarget) KeystorePath(n NodeRef) string { return "/keystore/" + n.Name }
func (t *fixedTarget) External() bool                { return t.cluster }

func (t *fixedTarget) Self(n NodeRef, publicHost string) Self {
	return Self{Name: t.network + "-" + n.Name, Host: t.Host(n), PublicHost: publicHost}
}

func TestPlanGolden(t *testing.T) {
	cases := []struct {
		spec    string
		cluster bool
	}{
		{"gossamer-dev", false},
		{"substrate-relay-parachain", true},
		{"substrate-external-relay", false},
		{"substrate-solochain", false},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			n, err := Load(filepath.Join("testdata/plan", c.spec+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := Build(n, newFixedTarget(n, c.cluster))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(plan, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata/plan", c.spec+".golden.json"), append(got, '\n'))
		})
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file; diff with -update and review:\n%s", file, got)
	}
}

// polkadot-sdk flag names, from `polkadot --help` and `polkadot-parachain --help` (stable2503).
// Every flag the planner renders for the substrate flavor must be one of them.
var polkadotSDKFlags = []string{
	"--name", "--chain", "--base-path", "--port", "--rpc-port", "--prometheus-port", "--prometheus-external",
	"--node-key-file", "--no-telemetry", "--validator", "--collator", "--rpc-methods", "--rpc-external",
	"--unsafe-rpc-external", "--rpc-cors", "--rpc-max-connections", "--public-addr", "--state-pruning",
	"--blocks-pruning", "--bootnodes", "--relay-chain-rpc-urls", "--no-prometheus", "--log", "--listen-addr",
	"key", "insert", "--key-type", "--scheme", "--suri", "--keystore-path",
}

func TestSubstrateFlagsAreReal(t *testing.T) {
	for _, spec := range []string{"substrate-relay-parachain", "substrate-external-relay", "substrate-solochain"} {
		n, err := Load(filepath.Join("testdata/plan", spec+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, cluster := range []bool{false, true} {
			plan, err := Build(n, newFixedTarget(n, cluster))
			if err != nil {
				t.Fatal(err)
			}
			for _, np := range plan.Nodes {
				for _, cmd := range append(append(slices.Clone(np.Init), np.InsertKeys...), np.Args) {
					for _, a := range cmd {
						if strings.HasPrefix(a, "--") && a != "--" && !slices.Contains(polkadotSDKFlags, a) {
							t.Errorf("%s: node %s renders %s, not a polkadot-sdk flag", spec, np.Name, a)
						}
					}
				}
			}
		}
	}
}

func TestPlanFacts(t *testing.T) {
	n, err := Load("testdata/plan/substrate-relay-parachain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Build(n, newFixedTarget(n, true))
	if err != nil {
		t.Fatal(err)
	}
	tiers := []int{}
	for _, np := range plan.Nodes {
		tiers = append(tiers, np.Tier)
	}
	if !slices.IsSorted(tiers) {
		t.Errorf("nodes not in start order: tiers %v", tiers)
	}
	boot := plan.Node("boot-0")
	if !slices.Contains(boot.Args, "--public-addr") || !slices.Contains(boot.Args, "/dns/boot.example.org/tcp/30333") {
		t.Errorf("boot node lacks --public-addr: %v", boot.Args)
	}
	rpc := plan.Node("rpc-1")
	if i := slices.Index(rpc.Args, "--rpc-methods"); i < 0 || rpc.Args[i+1] != "safe" {
		t.Errorf("rpc node must run safe methods: %v", rpc.Args)
	}
	if len(rpc.Bootnodes) != 3 {
		t.Errorf("rpc node must know the 3 relay seeds (2 validators, 1 boot node), got %v", rpc.Bootnodes)
	}
	col := plan.Node("asset-collator-1")
	sep := slices.Index(col.Args, "--")
	if sep < 0 || col.Args[sep+1] != "--chain" || col.Args[sep+2] != "rococo-local" {
		t.Fatalf("collator must run an embedded relay node after --: %v", col.Args)
	}
	if got := col.Bootnodes; len(got) != 1 || !strings.Contains(got[0], "asset-collator-0") {
		t.Errorf("collator bootnodes = %v, want the other collator", got)
	}
	if len(col.InsertKeys) != 1 || !slices.Contains(col.InsertKeys[0], "aura") {
		t.Errorf("collator must insert its aura key before start: %v", col.InsertKeys)
	}
	// The keystore is never inside the base path, so no copy of chain data holds a key.
	if ks := col.KeystorePath; ks == "" || strings.HasPrefix(ks, col.BasePath+"/") || ks == col.BasePath ||
		!slices.Contains(col.Args, ks) || !slices.Contains(col.InsertKeys[0], ks) {
		t.Errorf("collator keystore %q must be outside its base path %q and given to the node and key insert: %v %v", ks, col.BasePath, col.Args, col.InsertKeys)
	}
	for _, np := range plan.Nodes {
		for _, a := range np.Args {
			if strings.HasPrefix(a, "//") {
				t.Errorf("node %s: a secret URI reached the command line: %v", np.Name, np.Args)
			}
		}
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	n, err := Load("testdata/plan/substrate-relay-parachain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Build(n, newFixedTarget(n, true))
	b, _ := Build(n, newFixedTarget(n, true))
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("two plans of the same spec differ")
	}
}

// Templates are Build's first node of each group; a group scaled to zero gets the plan its
// first node would have, and no other node takes it for a seed.
func TestTemplates(t *testing.T) {
	n, err := Load("testdata/plan/substrate-relay-parachain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	zero := int32(0)
	FindGroup(&n.Spec, "boot").Replicas = &zero
	target := newFixedTarget(n, true)
	plan, err := Build(n, target)
	if err != nil {
		t.Fatal(err)
	}
	templates, err := Templates(n, target)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range n.Spec.Groups {
		tpl := templates[g.Name]
		if tpl == nil || tpl.Name != g.Name+"-0" {
			t.Fatalf("template of %s = %+v", g.Name, tpl)
		}
		if g.Name == "boot" {
			continue
		}
		want, _ := json.Marshal(plan.Node(g.Name + "-0"))
		if got, _ := json.Marshal(tpl); string(got) != string(want) {
			t.Errorf("template of %s differs from Build's plan:\n%s\n%s", g.Name, got, want)
		}
	}
	boot := templates["boot"]
	if !slices.Contains(boot.Args, "--public-addr") || len(boot.Bootnodes) != 2 {
		t.Errorf("template of the empty boot group: args %v, bootnodes %v (want the 2 validators)", boot.Args, boot.Bootnodes)
	}
	for _, np := range plan.Nodes {
		if slices.Contains(np.Bootnodes, boot.Multiaddr) || slices.ContainsFunc(np.Args, func(a string) bool { return strings.Contains(a, boot.PeerID) }) {
			t.Errorf("%s takes the empty boot group's template for a seed", np.Name)
		}
	}
}
