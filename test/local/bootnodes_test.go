package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
)

// Two onf networks form one chain through spec.groups[].p2p.bootnodes, as two clusters or data
// centres would: network "west" has no validator of its own; its full node is given "east"'s
// validator as a boot node and imports east's blocks (the same hashes) on real gossamer nodes.
func TestNetworksJoinThroughBootnodes(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	t.Cleanup(func() { c.Run("down", "east", "--purge"); c.Run("down", "west", "--purge") })
	const head = "apiVersion: onf.dinfra.dev/v1alpha1\nkind: SubstrateNetwork\nmetadata: {name: %s}\nspec:\n  chain: {builtin: westend-dev}\n  node: {flavor: gossamer}\n  groups:\n"
	write := func(name, groups string) string {
		f := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(f, []byte(fmt.Sprintf(head, name)+groups), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	c.Must("up", "-f", write("east", "  - {name: validator, role: validator, keys: {dev: [\"//Alice\"]}}\n"),
		"--binary", c.gossamer, "--until-block", "1", "--timeout", "4m")

	// east's validator as any operator would give it: its address and peer ID.
	validator := c.Node("east", "validator-0")
	d, err := local.NetworkDir(c.Home, "east")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(d.Facts())
	if err != nil {
		t.Fatal(err)
	}
	var facts local.Facts
	if err := json.Unmarshal(raw, &facts); err != nil {
		t.Fatal(err)
	}
	boot := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", facts.Ports["validator-0"].P2P, validator.PeerID)

	c.Must("up", "-f", write("west", fmt.Sprintf("  - {name: full, role: full, p2p: {bootnodes: [%q]}}\n", boot)),
		"--binary", c.gossamer, "--until-block", "2", "--timeout", "4m")

	ctx := context.Background()
	hashAt := func(url string, n uint64) (string, error) {
		cl, err := rpc.Dial(ctx, url)
		if err != nil {
			return "", err
		}
		defer cl.Close()
		return cl.BlockHash(ctx, n)
	}
	full := c.Node("west", "full-0")
	testenv.Eventually(t, 60*time.Second, "west's full node holding east's block 2", func() (bool, error) {
		want, err := hashAt(validator.RPC, 2)
		if err != nil {
			return false, err
		}
		got, err := hashAt(full.RPC, 2)
		return err == nil && got == want, fmt.Errorf("west block 2 %q (%v), east %q", got, err, want)
	})
}
