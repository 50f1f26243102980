package kube

import (
	"fmt"
	"path"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
)

// Fixed container ports: every pod has its own IP, so every node uses the same numbers.
var clusterPorts = flavor.Ports{P2P: 30333, RPC: 9944, WS: 9945, Prometheus: 9615, RelayP2P: 30334, RelayRPC: 9955, RelayPrometheus: 9625}

// Paths inside a node container.
const (
	dataDir   = "/data"
	chainsDir = "/onf/chains"
	// suriFile is the pod's own secret URI: the replica's key of the keys Secret, mounted
	// alone (subPathExpr) so a pod never sees another replica's secret.
	suriFile = "/onf/keys/suri"
	// keystoreDir is the node's session keystore: a volume claim of its own, never in the
	// data volume (so never in its snapshots), filled from the Secret at each start.
	keystoreDir = "/keystore"
)

// target gives the planner the cluster's facts about each node.
type target struct {
	net           *v1alpha1.SubstrateNetwork
	clusterDomain string
	keys          NodeKeys
	chains        map[string]chainMount // by chainKey
}

// NodeKeys are the nodes' persistent libp2p keys by node name (<group>-<index>).
type NodeKeys map[string]nodekey.Key

var _ network.Target = (*target)(nil)

func (t *target) Ports(network.NodeRef) flavor.Ports { return clusterPorts }

// Host is the pod's stable DNS name under its group's headless Service.
func (t *target) Host(n network.NodeRef) string {
	return t.podHost(PodName(t.net.Name, n.Group, podIndex(n)), n.Group)
}

func (t *target) podHost(pod, group string) string {
	return fmt.Sprintf("%s.%s.%s.svc.%s", pod, GroupName(t.net.Name, group), t.net.Namespace, t.clusterDomain)
}

// Self: a group's pods share one command line, so a node names itself by its pod's name,
// which the kubelet puts in $(POD_NAME); a group announced through per-pod load balancers
// announces each pod as <pod>.<publicHost> (publicHostPerPod).
//
// A group exposed through per-pod NodePorts announces each pod's own node ports, and one
// exposed through per-pod LoadBalancers without a publicHost each pod's load balancer
// address, which the pod reads from annotations the operator sets (withNodePorts).
func (t *target) Self(n network.NodeRef, publicHost string) network.Self {
	pod := "$(" + envPodName + ")"
	g := network.FindGroup(&t.net.Spec, n.Group)
	if publicHost != "" && publicHostPerPod(g) != "" {
		publicHost = pod + "." + publicHost
	}
	self := network.Self{Name: pod, Host: t.podHost(pod, n.Group), PublicHost: publicHost}
	if nodePorts(g) {
		self.PublicPort = "$(" + envP2PPublicPort + ")"
		self.RelayPublicPort = "$(" + envRelayP2PPublicPort + ")"
	}
	if loadBalancerAddress(g) { // a multiaddr prefix (AnnotationP2PPublicAddr)
		self.PublicHost = "/$(" + envP2PPublicAddr + ")"
	}
	return self
}

func (t *target) BasePath(network.NodeRef) string { return dataDir }

func (t *target) PeerID(n network.NodeRef) (string, error) {
	name := fmt.Sprintf("%s-%d", n.Group, podIndex(n))
	k, ok := t.keys[name]
	if !ok {
		return "", fmt.Errorf("no node key for %s", name)
	}
	return k.PeerID(), nil
}

func (t *target) ChainSpec(c v1alpha1.Chain, _ v1alpha1.Flavor) (string, error) {
	if c.Builtin != "" {
		return c.Builtin, nil
	}
	m, ok := t.chains[chainKey(c)]
	if !ok {
		return "", fmt.Errorf("chain spec source %+v has no mount", c)
	}
	return path.Join(chainsDir, m.volume, m.key), nil
}

func (t *target) SURIFile(network.NodeRef) string { return suriFile }

func (t *target) KeystorePath(network.NodeRef) string { return keystoreDir }

func (t *target) External() bool { return true }
