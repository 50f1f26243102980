package cluster

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/network"
)

// nodes are the nodes of a network as `onf` names them (<group>-<index>), in start order:
// the spec's replicas, or for an autoscaled group the count its autoscaler last set.
func nodes(n *v1alpha1.SubstrateNetwork) []network.NodeRef {
	d := n.DeepCopy()
	network.Default(d)
	for i := range d.Spec.Groups {
		g := &d.Spec.Groups[i]
		if g.Autoscaling == nil {
			continue
		}
		for _, gs := range n.Status.Groups {
			if gs.Name == g.Name {
				g.Replicas = &gs.Desired
			}
		}
	}
	return network.Nodes(d)
}

// podOf is the pod name of a node, or a clear refusal naming the nodes there are.
func podOf(n *v1alpha1.SubstrateNetwork, node string) (string, error) {
	refs := nodes(n)
	names := make([]string, len(refs))
	for i, r := range refs {
		if r.Name == node {
			return kube.PodName(n.Name, r.Group, r.Index), nil
		}
		names[i] = r.Name
	}
	return "", fmt.Errorf("network %s has no node %q (nodes: %s)", n.Name, node, strings.Join(names, ", "))
}

// statusOf is `onf status` of a network in a cluster: a row per node of the spec, filled from
// the node's pod and the chain facts the operator gathered into the network's status.
func statusOf(n *v1alpha1.SubstrateNetwork, pods []corev1.Pod) *netstatus.Network {
	out := &netstatus.Network{
		Network: n.Name, Namespace: n.Namespace, State: networkState(n),
		Generation: n.Status.ObservedGeneration, Nodes: []netstatus.Node{}, Rollouts: n.Status.Rollouts,
	}
	if c := meta.FindStatusCondition(n.Status.Conditions, kube.ConditionDegraded); c != nil && c.Status == metav1.ConditionTrue {
		out.Error = c.Message
	}
	if gw := n.Status.Gateway; gw != nil {
		out.Gateway = gw.URL
	}
	facts := map[string]v1alpha1.NodeStatus{}
	for _, f := range n.Status.Nodes {
		facts[f.Name] = f
	}
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		byName[pods[i].Name] = &pods[i]
	}
	for _, r := range nodes(n) {
		pod := kube.PodName(n.Name, r.Group, r.Index)
		row := netstatus.Node{Name: r.Name, Group: r.Group, Role: r.Role}
		if f, ok := facts[pod]; ok {
			row.Version, row.PeerID, row.Peers, row.Syncing = f.Version, f.PeerID, int(f.Peers), f.Syncing
			row.Best, row.Finalized = uint64(max(f.Best, 0)), uint64(max(f.Finalized, 0))
		}
		if p := byName[pod]; p != nil {
			fillFromPod(&row, p)
		} else {
			row.RPCError = "no pod yet"
		}
		out.Nodes = append(out.Nodes, row)
	}
	return out
}

// networkState is the header of `onf status`: ready, or what keeps the network from it.
func networkState(n *v1alpha1.SubstrateNetwork) string {
	is := func(typ string) bool {
		c := meta.FindStatusCondition(n.Status.Conditions, typ)
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == n.Generation
	}
	switch {
	case n.Status.ObservedGeneration < n.Generation:
		return "waiting for the operator"
	case is(kube.ConditionDegraded):
		return "degraded"
	case is(kube.ConditionReady):
		return "ready"
	case is(kube.ConditionProgressing):
		return "progressing"
	}
	return "not ready"
}

// fillFromPod sets what the pod says of its node: running, restarts, last exit and endpoints
// (the pod's IP with the node container's named ports).
func fillFromPod(row *netstatus.Node, p *corev1.Pod) {
	c, cs := nodeContainer(p)
	if cs != nil {
		row.Running = cs.State.Running != nil
		row.Restarts = int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil {
			row.LastExit = fmt.Sprintf("%s, exit code %d", t.Reason, t.ExitCode)
		}
	}
	switch {
	case cs != nil && cs.State.Waiting != nil:
		row.RPCError = "container waiting: " + cs.State.Waiting.Reason
	case !row.Running:
		row.RPCError = "pod " + strings.ToLower(string(p.Status.Phase))
	case !kube.PodReady(p):
		row.RPCError = "pod not ready"
	}
	if ip := p.Status.PodIP; ip != "" && c != nil {
		ports := map[string]int32{}
		for _, cp := range c.Ports {
			ports[cp.Name] = cp.ContainerPort
		}
		ws := ports["ws"]
		if ws == 0 {
			ws = ports[kube.PortRPC] // polkadot-sdk serves WebSocket on its RPC port
		}
		row.RPC = fmt.Sprintf("http://%s:%d", ip, ports[kube.PortRPC])
		row.WS = fmt.Sprintf("ws://%s:%d", ip, ws)
		row.Metrics = fmt.Sprintf("http://%s:%d/metrics", ip, ports["metrics"])
	}
}

// nodeContainer is the node's container in its pod (the first: the builders give node pods
// one container) and its status, nil before the kubelet reports one.
func nodeContainer(p *corev1.Pod) (*corev1.Container, *corev1.ContainerStatus) {
	if len(p.Spec.Containers) == 0 {
		return nil, nil
	}
	c := &p.Spec.Containers[0]
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == c.Name {
			return c, &p.Status.ContainerStatuses[i]
		}
	}
	return c, nil
}

// groupNames lists a spec's groups, for errors.
func groupNames(n *v1alpha1.SubstrateNetwork) string {
	names := make([]string, len(n.Spec.Groups))
	for i, g := range n.Spec.Groups {
		names[i] = g.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
