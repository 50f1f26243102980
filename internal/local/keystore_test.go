package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
)

// fakeKeyInsert stands in for a polkadot-sdk binary (none runs here): it records each call
// and, for `key insert`, writes a key file into --keystore-path as polkadot does.
const fakeKeyInsert = `#!/bin/sh
echo "$@" >> "$0.calls"
[ "$1 $2" = "key insert" ] || exit 0
while [ $# -gt 0 ]; do
  case "$1" in
    --keystore-path) ks=$2 ;;
    --key-type) kt=$2 ;;
  esac
  shift
done
umask 077
echo '"0xfeed"' > "$ks/$kt"
`

// The session keystore is its own 0700 directory outside the node's base path: a backup or
// copy of the chain database never holds a session key. Keys go in before every start.
func TestKeystoreLivesApartFromChainData(t *testing.T) {
	home := t.TempDir()
	bin := filepath.Join(home, "polkadot")
	if err := os.WriteFile(bin, []byte(fakeKeyInsert), 0o700); err != nil {
		t.Fatal(err)
	}
	suri := filepath.Join(home, "alice.suri")
	if err := os.WriteFile(suri, []byte("//Alice"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := Dir(filepath.Join(home, "networks", "solo"))
	n := &v1alpha1.SubstrateNetwork{Spec: v1alpha1.SubstrateNetworkSpec{
		Chain: v1alpha1.Chain{Builtin: "dev"},
		Node:  v1alpha1.NodeSoftware{Flavor: v1alpha1.FlavorSubstrate, Binary: bin},
		Groups: []v1alpha1.NodeGroup{{Name: "validator", Role: v1alpha1.RoleValidator,
			Keys: &v1alpha1.Keys{Files: []string{suri}, Types: []v1alpha1.SessionKeyType{"aura:sr25519", "gran:ed25519"}}}},
	}}
	n.Name = "solo"
	network.Default(n)
	key, err := nodekey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{dir: dir, facts: &Facts{Ports: map[string]flavor.Ports{"validator-0": {P2P: 1, RPC: 2, Prometheus: 3}}}, keys: map[string]nodekey.Key{"validator-0": key}}
	plan, err := network.Build(n, tg)
	if err != nil {
		t.Fatal(err)
	}
	np := plan.Nodes[0]
	s := &Supervisor{dir: dir}
	for range 2 { // two starts
		if err := s.prepareNode(np); err != nil {
			t.Fatal(err)
		}
	}
	ks := dir.Keystore("validator-0")
	if rel, _ := filepath.Rel(np.BasePath, ks); !strings.HasPrefix(rel, "..") {
		t.Errorf("keystore %s is inside the base path %s", ks, np.BasePath)
	}
	for path, want := range map[string]os.FileMode{ks: 0o700 | os.ModeDir, filepath.Join(ks, "aura"): 0o600, filepath.Join(ks, "gran"): 0o600, dir.SURI("validator-0"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want mode %v", path, fi.Mode(), err, want)
		}
	}
	calls, _ := os.ReadFile(bin + ".calls")
	if got := strings.Count(string(calls), "key insert"); got != 4 {
		t.Errorf("key insert ran %d times over two starts of a node with 2 key types, want 4:\n%s", got, calls)
	}
	if !strings.Contains(string(calls), "--keystore-path "+ks) {
		t.Errorf("key insert was not given the keystore: %s", calls)
	}
	filepath.WalkDir(np.BasePath, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Base(p) == "aura" || filepath.Base(p) == "gran" || strings.HasSuffix(p, ".suri")) {
			t.Errorf("%s: a session key file inside the chain data", p)
		}
		return nil
	})
}
