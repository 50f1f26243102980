// Package local_test runs the onf CLI as a user would, against real gossamer nodes: up, status,
// rpc, kill and restart, scale, converge, down and purge.
package local_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// cli is onf with a private state home, and the gossamer binary its networks run.
type cli struct {
	*onfcli.CLI
	gossamer string
}

func newCLI(t testing.TB) *cli {
	t.Helper()
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	return &cli{CLI: onfcli.Build(t), gossamer: gossamer}
}

func node(t *testing.T, st local.NetworkStatus, name string) local.NodeInfo {
	t.Helper()
	for _, n := range st.Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s in %+v", name, st.Nodes)
	return local.NodeInfo{}
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// withGateway writes the example dev network plus an RPC gateway in front of its rpc group,
// with one API key, and returns the spec path, the gateway URL and the key.
func withGateway(t *testing.T) (spec, url, key string) {
	t.Helper()
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "dev-network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	key = "onf_local-test-key-0123456789abcdefghijklmnopqrstu"
	sum := sha256.Sum256([]byte(key))
	files := map[string]string{
		"keys.yaml":    fmt.Sprintf("keys:\n  - id: test\n    sha256: %x\n", sum),
		"gateway.yaml": fmt.Sprintf("listen: %s\nauth:\n  apiKeys:\n    file: %s\n", addr, filepath.Join(dir, "keys.yaml")),
		"spec.yaml":    string(example) + fmt.Sprintf("  gateway:\n    group: rpc\n    config: %s\n", filepath.Join(dir, "gateway.yaml")),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "spec.yaml"), "http://" + addr, key
}

// gatewayCall posts one JSON-RPC call through the gateway and returns the HTTP status and body.
func gatewayCall(t *testing.T, url, key, method string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":[]}`))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestLocalNetworkLifecycle(t *testing.T) {
	c := newCLI(t)
	spec, gwURL, key := withGateway(t)
	t.Cleanup(func() { c.Run("down", "dev", "--purge") })

	out := c.Must("up", "-f", spec, "--binary", c.gossamer, "--until-block", "2", "--timeout", "4m")
	if !strings.Contains(out, "network dev is up") {
		t.Fatalf("unexpected up output:\n%s", out)
	}
	st := c.Status("dev")
	if len(st.Nodes) != 3 {
		t.Fatalf("want 3 nodes, got %+v", st.Nodes)
	}
	ctx := context.Background()
	var hash2 string
	for _, n := range st.Nodes {
		if !n.Running || n.Best < 2 {
			t.Fatalf("node %s not up at block >= 2: %+v", n.Name, n)
		}
		// Every node reports the peer ID the planner derived from its persisted node key.
		client, err := rpc.Dial(ctx, n.RPC)
		if err != nil {
			t.Fatal(err)
		}
		peerID, err := client.LocalPeerID(ctx)
		if err != nil || peerID != n.PeerID {
			t.Errorf("node %s reports peer ID %q (%v), planned %q", n.Name, peerID, err, n.PeerID)
		}
		// The full nodes imported the validator's blocks: one hash at height 2.
		h, err := client.BlockHash(ctx, 2)
		client.Close()
		if err != nil {
			t.Fatalf("node %s block 2: %v", n.Name, err)
		}
		if hash2 == "" {
			hash2 = h
		} else if h != hash2 {
			t.Errorf("node %s has block 2 = %s, validator has %s", n.Name, h, hash2)
		}
	}

	// The gateway serves the rpc group to callers with a key, and nobody else.
	if st.Gateway != gwURL {
		t.Errorf("status gateway = %q, want %q", st.Gateway, gwURL)
	}
	// The gateway routes only to nodes that answer and are not syncing; on a busy machine the
	// rpc node may still be catching up for a moment after `up` returns.
	testenv.Eventually(t, 30*time.Second, "the gateway answering a caller with a key", func() (bool, error) {
		code, body := gatewayCall(t, gwURL, key, "chain_getBlockHash")
		return code == http.StatusOK && strings.Contains(body, `"result"`), fmt.Errorf("%d %s", code, body)
	})
	if code, _ := gatewayCall(t, gwURL, "", "chain_getBlockHash"); code != http.StatusUnauthorized {
		t.Errorf("gateway without key: status %d, want 401", code)
	}
	if code, body := gatewayCall(t, gwURL, key, "author_insertKey"); !strings.Contains(body, "-32003") {
		t.Errorf("gateway let an unsafe method through: %d %s", code, body)
	}

	// Direct access to a node through the CLI.
	if out := c.Must("rpc", "dev", "rpc-0", "chain_getBlockHash", "[2]"); !strings.Contains(out, hash2) {
		t.Errorf("onf rpc chain_getBlockHash [2] = %s, want %s", out, hash2)
	}
	if out := c.Must("logs", "dev", "validator-0"); !strings.Contains(out, "gossamer") && len(out) == 0 {
		t.Errorf("validator log is empty")
	}

	// up again converges: nothing restarts.
	before := map[string]int{}
	for _, n := range st.Nodes {
		before[n.Name] = n.PID
	}
	c.Must("up", "-f", spec, "--binary", c.gossamer, "--until-block", "0")
	for _, n := range c.Status("dev").Nodes {
		if n.PID != before[n.Name] {
			t.Errorf("second up restarted %s (pid %d -> %d)", n.Name, before[n.Name], n.PID)
		}
	}

	// A crashed node is restarted by the supervisor.
	victim := node(t, st, "rpc-0")
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "rpc-0 to be restarted and answer RPC", func() bool {
		n := node(t, c.Status("dev"), "rpc-0")
		return n.Running && n.PID != victim.PID && n.Restarts == 1 && n.RPCError == ""
	})

	// Scale the rpc group 1 -> 3 -> 1.
	c.Must("scale", "dev", "rpc=3", "--timeout", "3m")
	st = c.Status("dev")
	var rpcPIDs []int
	for _, name := range []string{"rpc-0", "rpc-1", "rpc-2"} {
		n := node(t, st, name)
		if !n.Running || n.RPCError != "" {
			t.Fatalf("after scale up, %s is not serving: %+v", name, n)
		}
		rpcPIDs = append(rpcPIDs, n.PID)
	}
	if code, body := gatewayCall(t, gwURL, key, "system_health"); code != http.StatusOK || !strings.Contains(body, `"result"`) {
		t.Errorf("gateway after scale up: %d %s", code, body)
	}
	c.Must("scale", "dev", "rpc=1")
	st = c.Status("dev")
	if len(st.Nodes) != 3 {
		t.Fatalf("after scale down want 3 nodes, got %d", len(st.Nodes))
	}
	for _, pid := range rpcPIDs[1:] {
		if alive(pid) {
			t.Errorf("scaled-down node pid %d still runs", pid)
		}
	}

	// down leaves no process behind; --purge leaves no data.
	var pids []int
	for _, n := range c.Status("dev").Nodes {
		pids = append(pids, n.PID)
	}
	pids = append(pids, st.Supervisor)
	c.Must("down", "dev")
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d still runs after onf down", pid)
		}
	}
	if out, _ := exec.Command("pgrep", "-f", c.Home).Output(); len(out) > 0 {
		t.Errorf("processes of the network still run after down: %s", out)
	}
	c.Must("down", "dev", "--purge")
	if _, err := os.Stat(filepath.Join(c.Home, "networks", "dev")); !os.IsNotExist(err) {
		t.Errorf("state left after --purge: %v", err)
	}
}

func TestBadSpecStartsNothing(t *testing.T) {
	c := newCLI(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	spec := `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: broken}
spec:
  chain: {builtin: westend-dev}
  groups:
    - {name: validator, role: validator, replicas: 2, keys: {dev: ["//Alice", "//Bob"]}}
    - {name: rpc, role: rpc, replicas: -1}
`
	if err := os.WriteFile(bad, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := c.Run("up", "-f", bad, "--binary", c.gossamer)
	if err == nil {
		t.Fatalf("up accepted a bad spec:\n%s", out)
	}
	for _, want := range []string{"spec.groups[1].replicas", "spec.groups"} {
		if !strings.Contains(out, want) {
			t.Errorf("error does not name %s:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(c.Home, "networks", "broken")); !os.IsNotExist(err) {
		t.Errorf("a rejected spec left state behind: %v", err)
	}
}
