package cluster

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/netstatus"
)

const relay = `
apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: relay, namespace: chains, generation: 3}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: gossamer, image: gossamer:test, binary: /usr/local/bin/gossamer}
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - {name: rpc, role: rpc, replicas: 2}
    - name: public-rpc
      role: rpc
      autoscaling: {minReplicas: 1, maxReplicas: 5, targetCPUUtilization: 70}
status:
  observedGeneration: 3
  conditions:
    - {type: Ready, status: "False", reason: NodesNotReady, message: "3/4 nodes ready", observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:00Z"}
    - {type: Progressing, status: "True", reason: RollingOut, message: "group rpc: 1/2", observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:00Z"}
    - {type: Degraded, status: "False", reason: AsExpected, observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:00Z"}
  groups:
    - {name: validator, desired: 1, ready: 1}
    - {name: rpc, desired: 2, ready: 1}
    - {name: public-rpc, desired: 2, ready: 2}
  nodes:
    - {name: relay-validator-0, group: validator, role: validator, ready: true, version: "0.9.0", peerId: "12D3KooWA", peers: 2, best: 40, finalized: 38}
  gateway: {url: "http://relay-gateway.chains.svc:8080", desired: 1, ready: 1}
`

func relayNetwork(t *testing.T) *v1alpha1.SubstrateNetwork {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	if err := yaml.UnmarshalStrict([]byte(relay), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

// nodePod is a pod of the operator's shape: one container with named ports.
func nodePod(name string, running, ready bool, ip string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec.Containers = []corev1.Container{{Name: "node", Ports: []corev1.ContainerPort{
		{Name: "p2p", ContainerPort: 30333}, {Name: kube.PortRPC, ContainerPort: 9944},
		{Name: "ws", ContainerPort: 9945}, {Name: "metrics", ContainerPort: 9615},
	}}}
	cs := corev1.ContainerStatus{Name: "node", RestartCount: 2,
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}}}
	if running {
		cs.State.Running = &corev1.ContainerStateRunning{}
		p.Status.Phase = corev1.PodRunning
	} else {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		p.Status.Phase = corev1.PodRunning
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	p.Status.PodIP = ip
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

func TestStatusOf(t *testing.T) {
	n := relayNetwork(t)
	pods := []corev1.Pod{
		nodePod("relay-validator-0", true, true, "10.0.0.5"),
		nodePod("relay-rpc-0", true, false, "10.0.0.6"),
		nodePod("relay-rpc-1", false, false, ""),
		nodePod("relay-public-rpc-0", true, true, "10.0.0.8"),
		nodePod("other-rpc-0", true, true, "10.0.0.9"), // another network's: not a row
	}
	st := statusOf(n, pods)
	if st.Network != "relay" || st.Namespace != "chains" || st.State != "progressing" || st.Generation != 3 || st.Supervisor != 0 ||
		st.Gateway != "http://relay-gateway.chains.svc:8080" || st.Error != "" {
		t.Errorf("network fields: %+v", st)
	}
	type row struct{ name, state, rpcError string }
	var got []row
	for _, r := range st.Nodes {
		got = append(got, row{r.Name, r.State(), r.RPCError})
	}
	want := []row{
		{"validator-0", "up", ""},
		{"rpc-0", "starting", "pod not ready"},
		{"rpc-1", "stopped", "container waiting: CrashLoopBackOff"},
		{"public-rpc-0", "up", ""},
		{"public-rpc-1", "stopped", "no pod yet"}, // the autoscaler's count, from status.groups
	}
	if len(got) != len(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
	v := st.Nodes[0]
	if v.Version != "0.9.0" || v.PeerID != "12D3KooWA" || v.Peers != 2 || v.Best != 40 || v.Finalized != 38 || v.Restarts != 2 ||
		v.LastExit != "Error, exit code 1" || v.Group != "validator" || v.Role != v1alpha1.RoleValidator {
		t.Errorf("validator-0 facts: %+v", v)
	}
	if v.RPC != "http://10.0.0.5:9944" || v.WS != "ws://10.0.0.5:9945" || v.Metrics != "http://10.0.0.5:9615/metrics" {
		t.Errorf("validator-0 endpoints: %s %s %s", v.RPC, v.WS, v.Metrics)
	}
	if r := st.Nodes[2]; r.RPC != "" || r.Running {
		t.Errorf("a pod without IP has no endpoints and does not run: %+v", r)
	}
}

// The JSON of a cluster status has exactly the local status's fields (one type), plus namespace.
func TestStatusJSONShape(t *testing.T) {
	data, err := json.Marshal(statusOf(relayNetwork(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	var back netstatus.Network
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"network":"relay"`, `"namespace":"chains"`, `"state":"progressing"`, `"supervisor":0`, `"nodes":[`, `"peerId"`, `"rpc"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("status JSON lacks %s: %s", key, data)
		}
	}
}

func TestNetworkState(t *testing.T) {
	set := func(n *v1alpha1.SubstrateNetwork, typ string, s metav1.ConditionStatus) {
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == typ {
				n.Status.Conditions[i].Status = s
			}
		}
	}
	n := relayNetwork(t)
	set(n, kube.ConditionProgressing, metav1.ConditionFalse)
	set(n, kube.ConditionReady, metav1.ConditionTrue)
	if s := networkState(n); s != "ready" {
		t.Errorf("state %q, want ready", s)
	}
	set(n, kube.ConditionDegraded, metav1.ConditionTrue)
	n.Status.Conditions[2].Message = "pod relay-rpc-1: CrashLoopBackOff"
	if s, e := networkState(n), statusOf(n, nil).Error; s != "degraded" || !strings.Contains(e, "CrashLoopBackOff") {
		t.Errorf("state %q error %q, want degraded with the condition's message", s, e)
	}
	n.Generation = 4 // a change the operator has not seen yet
	if s := networkState(n); s != "waiting for the operator" {
		t.Errorf("state %q, want waiting for the operator", s)
	}
	n.Status = v1alpha1.SubstrateNetworkStatus{}
	n.Generation = 0
	if s := networkState(n); s != "not ready" {
		t.Errorf("state of a network without status %q, want not ready", s)
	}
}

func TestPodOf(t *testing.T) {
	n := relayNetwork(t)
	for node, want := range map[string]string{
		"validator-0": "relay-validator-0", "rpc-1": "relay-rpc-1", "public-rpc-1": "relay-public-rpc-1",
	} {
		if got, err := podOf(n, node); err != nil || got != want {
			t.Errorf("podOf(%s) = %q, %v; want %s", node, got, err, want)
		}
	}
	for _, node := range []string{"rpc-2", "validator", "relay-rpc-0", "public-rpc-2", "", "rpc--1"} {
		_, err := podOf(n, node)
		if err == nil || !strings.Contains(err.Error(), `network relay has no node "`+node+`" (nodes: validator-0, rpc-0, rpc-1, public-rpc-0, public-rpc-1)`) {
			t.Errorf("podOf(%q): %v, want refused with the node list", node, err)
		}
	}
}

func TestScalePatch(t *testing.T) {
	p, err := scalePatch(2, "rpc", 4)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"test","path":"/spec/groups/2/name","value":"rpc"},{"op":"add","path":"/spec/groups/2/replicas","value":4}]`
	if string(p) != want {
		t.Errorf("patch %s, want %s", p, want)
	}
}

// A wait fails on a Degraded network only once it has stayed Degraded for the grace, without
// a break: one crash the kubelet retries is waited out.
func TestLastingDegraded(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var l lasting
	for _, step := range []struct {
		at    time.Duration
		holds bool
		want  bool
	}{
		{0, true, false},
		{30 * time.Second, true, false},
		{40 * time.Second, false, false}, // recovered: the clock starts again
		{50 * time.Second, true, false},
		{100 * time.Second, true, false},
		{110 * time.Second, true, true},
	} {
		if got := l.over(step.holds, t0.Add(step.at), time.Minute); got != step.want {
			t.Errorf("at %s (degraded %v): over = %v, want %v", step.at, step.holds, got, step.want)
		}
	}
}
