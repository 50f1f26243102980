package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// day2Onf is the built onf binary with its own HOME, run as a user runs it.
type day2Onf struct {
	bin, kubeconfig, namespace string
	env                        []string
}

func day2BuildOnf(t *testing.T, kubeconfig, namespace string) *day2Onf {
	t.Helper()
	return &day2Onf{bin: onfcli.Build(t).Bin, kubeconfig: kubeconfig, namespace: namespace, env: []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}}
}

// command is `onf VERB --kubeconfig K -n NAMESPACE ARGS...`.
func (o *day2Onf) command(ctx context.Context, verb string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, o.bin, append([]string{verb, "--kubeconfig", o.kubeconfig, "-n", o.namespace}, args...)...)
	cmd.Env = o.env
	return cmd
}

func (o *day2Onf) run(t *testing.T, stdin string, verb string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := o.command(ctx, verb, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("onf %s: %w: %s", verb, err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// testDay2Commands runs the built onf's status, rpc, logs, exec and scale with --kubeconfig
// and -n against running gossamer pods: the port-forward, log stream and exec reach the
// kubelet for real, and each answer is checked against the node it names.
func testDay2Commands(t *testing.T, rc *realCluster) {
	ns := rc.namespace(t, "day2")
	cluster, cl := rc.cluster, rc.cl
	ctx := context.Background()
	net := devNetwork(t, ns, rc.image)
	if err := cl.Create(ctx, net); err != nil {
		t.Fatal(err)
	}
	e := &env{cluster: cluster, cl: cl, net: net}
	e.waitPods(t, 3, 4*time.Minute)
	onf := day2BuildOnf(t, cluster.Kubeconfig, ns)

	status := func(t *testing.T) *netstatus.Network {
		t.Helper()
		out, err := onf.run(t, "", "status", "dev", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var st netstatus.Network
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("status -o json: %v\n%s", err, out)
		}
		return &st
	}
	var st *netstatus.Network
	t.Run("status", func(t *testing.T) {
		testenv.Eventually(t, 3*time.Minute, "every node up at block >= 1 in onf status", func() (bool, error) {
			st = status(t)
			for _, n := range st.Nodes {
				if n.State() != "up" || n.Best < 1 || n.PeerID == "" {
					return false, fmt.Errorf("%s: %s at block %d (%s)", n.Name, n.State(), n.Best, n.RPCError)
				}
			}
			return st.State == "ready" && len(st.Nodes) == 3, fmt.Errorf("network %s, %d nodes", st.State, len(st.Nodes))
		})
		out, err := onf.run(t, "", "status", "dev")
		if err != nil || !strings.HasPrefix(out, "network "+ns+"/dev (ready)\nNODE ") {
			t.Errorf("status table: %v\n%s", err, out)
		}
	})
	peerID := map[string]string{}
	for _, n := range st.Nodes {
		peerID[n.Name] = n.PeerID
	}
	t.Run("rpc through a port-forward", func(t *testing.T) {
		for _, node := range []string{"validator-0", "rpc-0"} {
			out, err := onf.run(t, "", "rpc", "dev", node, "system_localPeerId")
			if err != nil || strings.TrimSpace(out) != `"`+peerID[node]+`"` {
				t.Errorf("onf rpc dev %s system_localPeerId: %v %q, want %q", node, err, out, peerID[node])
			}
		}
		out, err := onf.run(t, "", "rpc", "dev", "rpc-0", "chain_getBlockHash", "[0]")
		if err != nil || !strings.HasPrefix(strings.TrimSpace(out), `"0x`) {
			t.Errorf("chain_getBlockHash [0]: %v %q", err, out)
		}
	})

	t.Run("logs", func(t *testing.T) {
		out, err := onf.run(t, "", "logs", "dev", "validator-0")
		if err != nil || !strings.Contains(out, "name dev-validator-0") {
			t.Errorf("onf logs dev validator-0: %v, want the validator's own log:\n%.2000s", err, out)
		}
		// -f keeps streaming until interrupted.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cmd := onf.command(cctx, "logs", "dev", "rpc-0", "-f")
		cmd.Env = onf.env
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(pipe)
		if !lines.Scan() {
			t.Fatalf("logs -f printed nothing: %v", cmd.Wait())
		}
		exited := make(chan error, 1)
		go func() {
			for lines.Scan() {
			}
			exited <- cmd.Wait()
		}()
		select {
		case err := <-exited:
			t.Errorf("logs -f stopped on its own: %v", err)
		case <-time.After(3 * time.Second):
			cancel()
			<-exited
		}
	})

	t.Run("exec in the node's container", func(t *testing.T) {
		// The node's endpoints in the environment, pointing at the container's own ports.
		out, err := onf.run(t, "", "exec", "dev", "rpc-0", "--", "sh", "-c",
			`echo "$ONF_NODE $ONF_RPC_URL $ONF_WS_URL $ONF_METRICS_URL"; `+
				`wget -qO- --header 'Content-Type: application/json' --post-data '{"id":1,"jsonrpc":"2.0","method":"system_localPeerId"}' "$ONF_RPC_URL"`)
		want := "rpc-0 http://127.0.0.1:9944 ws://127.0.0.1:9945 http://127.0.0.1:9615/metrics\n"
		if err != nil || !strings.HasPrefix(out, want) || !strings.Contains(out, peerID["rpc-0"]) {
			t.Errorf("exec: %v\n%s\nwant %q and rpc-0's peer ID %s", err, out, want, peerID["rpc-0"])
		}
		if out, err := onf.run(t, "hello from stdin\n", "exec", "dev", "validator-0", "--", "cat"); err != nil || out != "hello from stdin\n" {
			t.Errorf("exec cat: %v %q", err, out)
		}
		if _, err := onf.run(t, "", "exec", "dev", "validator-0", "--", "sh", "-c", "echo oops >&2; exit 3"); err == nil ||
			!strings.Contains(err.Error(), "exit code 3") || !strings.Contains(err.Error(), "oops") {
			t.Errorf("failing command: %v, want its exit code and stderr", err)
		}
	})

	t.Run("scale", func(t *testing.T) {
		out, err := onf.run(t, "", "scale", "dev", "rpc=2", "--timeout", "4m")
		if err != nil || out != "network dev: group rpc has 2 nodes\n" {
			t.Fatalf("scale rpc=2: %v %q", err, out)
		}
		if st := status(t); len(st.Nodes) != 4 || st.Nodes[3].Name != "rpc-1" || st.Nodes[3].State() != "up" {
			t.Errorf("status after scaling to 2: %+v", st.Nodes)
		}
		if out, err := onf.run(t, "", "scale", "dev", "rpc=1", "--timeout", "2m"); err != nil {
			t.Fatalf("scale rpc=1: %v %q", err, out)
		}
		if n := len(status(t).Nodes); n != 3 {
			t.Errorf("%d nodes after scaling back, want 3", n)
		}
	})
}
