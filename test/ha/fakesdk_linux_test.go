package ha_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/ha/hatest"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// fakeSDKSpec is a polkadot-sdk validator identity with one standby whose binary is the FAKE
// polkadot-sdk node (hatest/fakesdknode): polkadot cannot run here. Its key types are a
// relay validator's default seven, BEEFY's beef:ecdsa included.
const fakeSDKSpec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: hasdk}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: substrate, binary: %q}
  groups:
    - name: validator
      role: validator
      keys: {dev: ["//Alice"]}
      ha: {standbys: 1, leaseTTL: 3s, safetyMargin: 1s, etcd: {endpoints: [%q]}}
`

// The local supervisor's agents promote and fence a polkadot-sdk node (a FAKE one, which
// records its command line and keystore at each start) against a real etcd: the lease
// holder's node starts with --validator and finds the identity's seven session keys (babe,
// gran, ..., beef's 33-byte ecdsa key) in its keystore in sc-keystore's format, written by
// the agent (the fake refuses `key insert`);
// the standby never validates and holds no key. With etcd down the holder is killed, its
// keystore removed and it restarts keyless within T - M; nobody validates while etcd is
// down; once it is back one node is promoted again the same way.
func TestFakeSDKNodeFailover(t *testing.T) {
	testenv.Short(t)
	etcd := hatest.StartEtcd(t)
	fake := hatest.FakeSDKNode(t)
	cli := onfcli.Build(t)
	file := filepath.Join(t.TempDir(), "hasdk.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, fakeSDKSpec, fake, etcd.Endpoint()), 0o600); err != nil {
		t.Fatal(err)
	}
	spec, err := network.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cli.Must("up", "-f", file, "--until-block", "0", "--timeout", "2m")
	t.Cleanup(func() { _, _ = cli.Run("down", "hasdk", "--purge") })
	dir, err := local.NetworkDir(cli.Home, "hasdk")
	if err != nil {
		t.Fatal(err)
	}
	nodes := []string{"validator-0-0", "validator-0-1"}
	wantKeys := map[string]string{}
	for _, kt := range spec.Spec.Groups[0].Keys.Types {
		id, scheme, _ := strings.Cut(string(kt), ":")
		p, err := keyring.FromURI(keyring.Scheme(scheme), "//Alice")
		if err != nil {
			t.Fatal(err)
		}
		wantKeys[hex.EncodeToString([]byte(id))+hex.EncodeToString(p.Public().Raw())] = `"//Alice"`
	}
	if len(wantKeys) != 7 {
		t.Fatalf("default relay validator key types %v, want seven", spec.Spec.Groups[0].Keys.Types)
	}
	last := func(node string) hatest.FakeStart {
		starts := hatest.FakeStarts(t, dir.NodeDir(node))
		if len(starts) == 0 {
			return hatest.FakeStart{}
		}
		return starts[len(starts)-1]
	}
	keys := func(node string) []string {
		entries, _ := os.ReadDir(dir.Keystore(node))
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	authority := func() string {
		st := cli.Status("hasdk")
		if len(st.HA) == 1 && st.HA[0].Authority != "" && last(st.HA[0].Authority).Authority {
			return st.HA[0].Authority
		}
		return ""
	}
	promoted := func(what string) string {
		var leader string
		testenv.Eventually(t, time.Minute, what, func() (bool, string) {
			leader = authority()
			return leader != "", fmt.Sprintf("status %+v", cli.Status("hasdk").HA)
		})
		s := last(leader)
		if !slices.Contains(s.Args, "--validator") || len(s.Keystore) != len(wantKeys) {
			t.Errorf("%s started as %v with keystore %v", leader, s.Args, s.Keystore)
		}
		for name, content := range wantKeys {
			if s.Keystore[name] != content || s.Modes[name] != "0600" {
				t.Errorf("%s's keystore file %s: %q mode %s, want %s 0600", leader, name, s.Keystore[name], s.Modes[name], content)
			}
		}
		for _, n := range nodes {
			if n != leader && (last(n).Authority || len(keys(n)) != 0) {
				t.Errorf("standby %s runs %v with keys %v", n, last(n).Args, keys(n))
			}
		}
		return leader
	}
	leader := promoted("one node validates with the identity's keys")
	authorityPID := last(leader).PID

	etcd.Stop()
	stopped := time.Now()
	testenv.Eventually(t, 3*time.Second, "the holder fences its node without etcd", func() (bool, string) {
		gone := syscall.Kill(authorityPID, 0) != nil
		return gone && len(keys(leader)) == 0, fmt.Sprintf("validating node alive %v, keys %v", !gone, keys(leader))
	})
	if took := time.Since(stopped); took > 2*time.Second+time.Second {
		t.Errorf("fenced %s after etcd went down, want about T - M = 2s", took)
	}
	testenv.Eventually(t, 30*time.Second, "the fenced node restarts keyless", func() (bool, string) {
		s := last(leader)
		return s.PID != authorityPID && !s.Authority, fmt.Sprintf("last start %v", s.Args)
	})
	time.Sleep(6 * time.Second) // two TTLs: nobody may validate without a lease
	for _, n := range nodes {
		if last(n).Authority {
			t.Errorf("%s validates while etcd is down", n)
		}
	}
	etcd.Start()
	promoted("a node validates again once etcd is back")
}
