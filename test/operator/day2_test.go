package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/rpc/rpctest"
	"github.com/dinfra/stack/internal/testenv"
)

// onfCLI is the built onf binary, run as a user runs it: its own HOME and ONF_HOME, and
// KUBECONFIG only when a test sets it.
type onfCLI struct {
	bin string
	env []string
}

func buildOnf(t *testing.T) *onfCLI {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "onf")
	if out, err := exec.Command("go", "build", "-o", bin, repoPath("cmd/onf")).CombinedOutput(); err != nil {
		t.Fatalf("build onf: %v\n%s", err, out)
	}
	home := t.TempDir()
	env := []string{"HOME=" + home, "ONF_HOME=" + filepath.Join(home, "onf")}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return &onfCLI{bin: bin, env: env}
}

func (o *onfCLI) run(t *testing.T, env []string, args ...string) (stdout string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, args...)
	cmd.Env = append(slices.Clone(o.env), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), errorf("onf %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// TestDay2Commands runs the built `onf status`, `scale`, `logs`, `rpc` and `exec` with
// kubectl-style flags against SubstrateNetworks on a real control plane with the operator.
// kwok's pods are fake (no containers): every pod's RPC endpoint, which the operator polls
// for chain facts, is one real gossamer node on this machine. Logs, rpc and exec need a
// kubelet, which kwok's nodes do not have; here they are checked as far as the API server
// goes: unknown nodes, nodes without a pod and pods that do not run are refused clearly,
// without contacting any kubelet (test/cluster runs them against running gossamer pods).
func TestDay2Commands(t *testing.T) {
	node := rpctest.StartGossamer(t)
	// The operator runs networks in namespace chains only: the one in idle gets no pods.
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "chains", "idle")
	ctx := context.Background()
	startOperator(t, cluster, controller.Config{
		Namespace: "chains", Workers: 2, SyncPeriod: 10 * time.Second, NodeStatusInterval: time.Second,
		Endpoint: func(*corev1.Pod) string { return node.HTTPURL },
	})
	n := createNetwork(t, cl, spec)
	key := client.ObjectKeyFromObject(n)
	waitCondition(t, cl, key, kube.ConditionReady, metav1.ConditionTrue, kube.ReasonAllReady, 90*time.Second)
	testenv.Eventually(t, 60*time.Second, "chain facts of every node in status", func() (bool, error) {
		var got v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &got); err != nil {
			return false, err
		}
		for _, s := range got.Status.Nodes {
			if s.Version == "" {
				return false, errorf("node %s has no version yet", s.Name)
			}
		}
		return len(got.Status.Nodes) == 5, errorf("%d nodes in status", len(got.Status.Nodes))
	})

	onf := buildOnf(t)
	kc := "--kubeconfig=" + cluster.Kubeconfig
	statusJSON := func(t *testing.T, args ...string) *netstatus.Network {
		t.Helper()
		out, err := onf.run(t, nil, append([]string{"status", kc, "-o", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var st netstatus.Network
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields() // the same schema as a local network's
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("status -o json: %v\n%s", err, out)
		}
		return &st
	}
	names := func(st *netstatus.Network) []string {
		var s []string
		for _, r := range st.Nodes {
			s = append(s, r.Name)
		}
		return s
	}

	t.Run("status table", func(t *testing.T) {
		out, err := onf.run(t, nil, "status", kc, "-n", "chains", "relay")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 7 || lines[0] != "network chains/relay (ready)" ||
			strings.Join(strings.Fields(lines[1]), " ") != "NODE ROLE STATE RESTARTS VERSION PEERS BEST FINALIZED SYNCING RPC METRICS" {
			t.Fatalf("status table:\n%s", out)
		}
		for _, l := range lines[2:] {
			f := strings.Fields(l)
			if len(f) != 11 || f[2] != "up" || f[4] == "-" || !strings.HasPrefix(f[9], "ws://") {
				t.Errorf("row %q: want an up node with a version and endpoints", l)
			}
		}
	})

	t.Run("status json", func(t *testing.T) {
		st := statusJSON(t, "-n", "chains", "relay")
		want := []string{"validator-0", "validator-1", "boot-0", "rpc-0", "rpc-1"}
		if st.Network != "relay" || st.Namespace != "chains" || st.State != "ready" || st.Generation != 1 || !slices.Equal(names(st), want) {
			t.Fatalf("status %+v, nodes %v, want ready with %v", st, names(st), want)
		}
		for _, r := range st.Nodes {
			if !r.Running || r.Version == "" || r.PeerID == "" || r.Group == "" || r.Role == "" || !strings.HasPrefix(r.RPC, "http://") {
				t.Errorf("node %+v: want running with chain facts and endpoints", r)
			}
		}
	})

	t.Run("network and namespace found as kubectl finds them", func(t *testing.T) {
		// The only network of the namespace; the namespace of a -f spec; $KUBECONFIG with
		// --cluster; -n alone selects the cluster.
		if st := statusJSON(t, "-n", "chains"); st.Network != "relay" {
			t.Errorf("only network: %s", st.Network)
		}
		file := filepath.Join(t.TempDir(), "relay.yaml")
		if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
		if st := statusJSON(t, "-f", file); st.Namespace != "chains" {
			t.Errorf("namespace from the spec: %s", st.Namespace)
		}
		env := []string{"KUBECONFIG=" + cluster.Kubeconfig}
		for _, args := range [][]string{{"--cluster", "-n", "chains", "relay"}, {"-n", "chains", "relay"}} {
			if out, err := onf.run(t, env, append([]string{"status"}, args...)...); err != nil || !strings.HasPrefix(out, "network chains/relay (ready)") {
				t.Errorf("onf status %v with $KUBECONFIG: %v\n%s", args, err, out)
			}
		}
		// Without cluster flags status stays local.
		if _, err := onf.run(t, env, "status"); err == nil || !strings.Contains(err.Error(), "name the network (local networks: [])") {
			t.Errorf("onf status without cluster flags: %v, want the local networks", err)
		}
		if _, err := onf.run(t, nil, "status", kc, "--context", "nosuch", "relay"); err == nil || !strings.Contains(err.Error(), `context "nosuch"`) {
			t.Errorf("unknown context: %v", err)
		}
		if _, err := onf.run(t, nil, "status", kc, "-n", "chains", "nosuch"); err == nil || !strings.Contains(err.Error(), `no SubstrateNetwork "nosuch" in namespace chains`) {
			t.Errorf("unknown network: %v", err)
		}
	})

	t.Run("scale", func(t *testing.T) {
		out, err := onf.run(t, nil, "scale", kc, "-n", "chains", "relay", "rpc=3", "--timeout", "90s")
		if err != nil || out != "network relay: group rpc has 3 nodes\n" {
			t.Fatalf("scale up: %v\n%s", err, out)
		}
		if st := statusJSON(t, "-n", "chains", "relay"); !slices.Contains(names(st), "rpc-2") {
			t.Errorf("after scaling up, nodes %v lack rpc-2", names(st))
		}
		var sts appsv1.StatefulSet
		if err := cl.Get(ctx, client.ObjectKey{Namespace: "chains", Name: kube.GroupName("relay", "rpc")}, &sts); err != nil || *sts.Spec.Replicas != 3 {
			t.Errorf("StatefulSet replicas after scale: %v %v", err, sts.Spec.Replicas)
		}
		if out, err := onf.run(t, nil, "scale", kc, "-n", "chains", "relay", "rpc=1", "--timeout", "90s"); err != nil {
			t.Fatalf("scale down: %v\n%s", err, out)
		}
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace("chains"), client.MatchingLabels(kube.Selector("relay", "rpc"))); err != nil || len(pods.Items) != 1 {
			t.Errorf("rpc pods after scaling down to 1: %d, %v", len(pods.Items), err)
		}
	})

	t.Run("scale refusals change nothing", func(t *testing.T) {
		var before v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &before); err != nil {
			t.Fatal(err)
		}
		for args, want := range map[string]string{
			"nosuch=1": `network relay has no group "nosuch" (groups: boot, rpc, validator)`,
			"rpc=1001": "spec.groups[2].replicas",
			"rpc=-1":   "want GROUP=REPLICAS with 0 <= REPLICAS <= 1000",
		} {
			if _, err := onf.run(t, nil, "scale", kc, "-n", "chains", "relay", args); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("scale %s: %v, want %q", args, err, want)
			}
		}
		var after v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &after); err != nil || after.Generation != before.Generation {
			t.Errorf("refused scales changed the spec: generation %d -> %d (%v)", before.Generation, after.Generation, err)
		}
	})

	t.Run("unknown nodes are refused", func(t *testing.T) {
		want := `network relay has no node "rpc-7" (nodes: validator-0, validator-1, boot-0, rpc-0)`
		for _, args := range [][]string{
			{"logs", kc, "-n", "chains", "relay", "rpc-7"},
			{"rpc", kc, "-n", "chains", "relay", "rpc-7", "system_health"},
			{"exec", kc, "-n", "chains", "relay", "rpc-7", "--", "true"},
		} {
			if _, err := onf.run(t, nil, args...); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("onf %s: %v, want %q", args[0], err, want)
			}
		}
	})

	t.Run("nodes that do not run are refused", func(t *testing.T) {
		idle := parseNetwork(t, spec)
		idle.Namespace = "idle"
		if err := cl.Create(ctx, idle); err != nil {
			t.Fatal(err)
		}
		// A pod on a node that does not exist: Pending for ever, no container status.
		pending := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "idle", Name: "relay-rpc-0", Labels: map[string]string{kube.LabelNetwork: "relay", kube.LabelGroup: "rpc"}},
			Spec: corev1.PodSpec{NodeName: "nowhere", Containers: []corev1.Container{{Name: "node", Image: "gossamer:none",
				Ports: []corev1.ContainerPort{{Name: kube.PortRPC, ContainerPort: 9944}}}}},
		}
		if err := cl.Create(ctx, pending); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"logs", "validator-0"}, "node validator-0 of network relay has no pod yet (pod relay-validator-0)"},
			{[]string{"rpc", "boot-0", "system_health"}, "node boot-0 of network relay has no pod yet (pod relay-boot-0)"},
			{[]string{"exec", "validator-1", "--", "true"}, "node validator-1 of network relay has no pod yet"},
			{[]string{"logs", "rpc-0"}, "node rpc-0 of network relay has no log yet (pod relay-rpc-0 is pod pending)"},
			{[]string{"rpc", "rpc-0", "system_health"}, "node rpc-0 of network relay is not running (pod relay-rpc-0 is pod pending)"},
			{[]string{"exec", "rpc-0", "--", "true"}, "node rpc-0 of network relay is not running (pod relay-rpc-0 is pod pending)"},
		} {
			args := append([]string{tc.args[0], kc, "-n", "idle", "relay"}, tc.args[1:]...)
			if _, err := onf.run(t, nil, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("onf %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
			}
		}
		st := statusJSON(t, "-n", "idle", "relay")
		if st.State != "waiting for the operator" || len(st.Nodes) != 5 || st.Nodes[0].State() != "stopped" || st.Nodes[0].RPCError != "no pod yet" ||
			st.Nodes[3].RPCError != "pod pending" {
			t.Errorf("status of a network without pods: %+v", st)
		}
	})
}
