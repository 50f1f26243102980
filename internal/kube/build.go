package kube

import (
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
)

// Options are the cluster facts the builders cannot read from the network itself.
type Options struct {
	// ClusterDomain is the cluster's DNS domain (default cluster.local).
	ClusterDomain string
	// ReadFile reads local chain spec files into ConfigMaps (`onf render`); the operator
	// leaves it nil and rejects spec.chain.file.
	ReadFile func(path string) ([]byte, error)
	// ServiceMonitor adds the Prometheus Operator's scrape objects (the operator: when the
	// ServiceMonitor CRD is installed) even when spec.monitoring, which always adds them, is
	// unset: ServiceMonitors, or PodMonitors when spec.monitoring.kind says so.
	ServiceMonitor bool
	// PrometheusRule adds a Prometheus Operator PrometheusRule holding the alert rules of
	// monitoring/rules, scoped to the network (when its CRD is installed).
	PrometheusRule bool
	// RPCClients are the only pods allowed to reach validator and collator RPC ports: the
	// operator and the RPC gateway. Default: pods labelled app.kubernetes.io/name
	// onf-operator or onf-gateway in any namespace.
	RPCClients []metav1.LabelSelector
	// GatewayImage is the onf image that runs spec.gateway when the spec names none.
	GatewayImage string
}

func (o Options) withDefaults() Options {
	if o.ClusterDomain == "" {
		o.ClusterDomain = "cluster.local"
	}
	if o.RPCClients == nil {
		o.RPCClients = []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: LabelName, Operator: metav1.LabelSelectorOpIn, Values: []string{"onf-operator", "onf-gateway"},
		}}}}
	}
	return o
}

// KeyedReplicas is how many node keys a group keeps: enough for every replica it may run
// (the autoscaler's maximum included), and at least one so that a group scaled to zero
// still has a template node.
func KeyedReplicas(g *v1alpha1.NodeGroup) int {
	return max(network.Replicas(g), replicasOrMax(g), 1)
}

// Desired returns every object that runs a defaulted, validated network, in the order they
// are best created. keys must hold a node key for replicas 0..KeyedReplicas-1 of every group.
// Objects carry a controller owner reference when the network has a UID (it came from the
// API server).
func Desired(n *v1alpha1.SubstrateNetwork, keys NodeKeys, opts Options) ([]client.Object, error) {
	opts = opts.withDefaults()
	if err := checkNames(n); err != nil {
		return nil, err
	}
	if err := checkHA(n, opts); err != nil {
		return nil, err
	}
	byKey, mounts, err := chainMounts(n, opts.ReadFile)
	if err != nil {
		return nil, err
	}
	if err := checkPerPodPublicHosts(n); err != nil {
		return nil, err
	}
	t := &target{net: n, clusterDomain: opts.ClusterDomain, keys: keys, chains: byKey}
	templates, err := network.Templates(n, t)
	if err != nil {
		return nil, err
	}
	var objs []client.Object
	for _, cm := range chainConfigMaps(n, mounts) {
		objs = append(objs, cm)
	}
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		gb := groupBuilder{net: n, group: g, index: i, plan: templates[g.Name], keys: keys, mounts: mounts, opts: opts}
		groupObjs, err := gb.objects()
		if err != nil {
			return nil, err
		}
		objs = append(objs, groupObjs...)
	}
	gwObjs, err := gatewayObjects(n, templates, opts)
	if err != nil {
		return nil, err
	}
	objs = append(objs, gwObjs...)
	backupObjs, err := backupObjects(n, templates, opts)
	if err != nil {
		return nil, err
	}
	objs = append(objs, backupObjs...)
	if opts.ServiceMonitor || n.Spec.Monitoring != nil {
		mons, err := monitors(n)
		if err != nil {
			return nil, err
		}
		objs = append(objs, mons...)
	}
	if opts.PrometheusRule {
		rule, err := prometheusRule(n)
		if err != nil {
			return nil, err
		}
		objs = append(objs, rule)
	}
	for _, o := range objs {
		setOwner(n, o)
	}
	return objs, nil
}

// checkPerPodPublicHosts refuses an IP address as the public host of a group exposed through
// per-pod LoadBalancers: each pod is announced as <pod>.<publicHost> (target.Self), since one
// name cannot reach several load balancers, and the P2P Services ask external-dns for those
// names.
func checkPerPodPublicHosts(n *v1alpha1.SubstrateNetwork) error {
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if publicHostPerPod(g) == "" {
			continue
		}
		if _, err := netip.ParseAddr(g.P2P.PublicHost); err == nil {
			return fmt.Errorf("spec.groups[%d].p2p.publicHost: %s is one address for %d load-balanced nodes; give a DNS name and each pod is announced as <pod>.<name>",
				i, g.P2P.PublicHost, replicasOrMax(g))
		}
	}
	return nil
}

// publicHostPerPod is the DNS suffix under which each pod of the group is announced, or ""
// when the group's public host names its single node.
func publicHostPerPod(g *v1alpha1.NodeGroup) string {
	p := g.P2P
	if p == nil || p.Expose != v1alpha1.ExposeLoadBalancer || p.PublicHost == "" || replicasOrMax(g) < 2 {
		return ""
	}
	return p.PublicHost
}

// groupBuilder builds one group's objects.
type groupBuilder struct {
	net    *v1alpha1.SubstrateNetwork
	group  *v1alpha1.NodeGroup
	index  int
	plan   *network.NodePlan
	keys   NodeKeys
	mounts []chainMount
	opts   Options
}

func (b *groupBuilder) name() string { return GroupName(b.net.Name, b.group.Name) }

func (b *groupBuilder) labels() map[string]string { return Labels(b.net.Name, b.group) }

func (b *groupBuilder) field(sub string) string {
	return fmt.Sprintf("spec.groups[%d].%s", b.index, sub)
}

func (b *groupBuilder) objects() ([]client.Object, error) {
	nodeKeys, err := b.nodeKeySecret()
	if err != nil {
		return nil, err
	}
	objs := []client.Object{nodeKeys}
	if s := b.devKeySecret(); s != nil {
		objs = append(objs, s)
	}
	objs = append(objs, b.headlessService())
	if s := b.rpcService(); s != nil {
		objs = append(objs, s)
	}
	for _, s := range b.p2pServices() {
		objs = append(objs, s)
	}
	sts, err := b.statefulSet()
	if err != nil {
		return nil, err
	}
	if err := b.withFetchSteps(&sts.Spec.Template.Spec); err != nil {
		return nil, err
	}
	if err := b.withRestore(&sts.Spec.Template.Spec); err != nil {
		return nil, err
	}
	if err := b.withNodePorts(&sts.Spec.Template.Spec); err != nil {
		return nil, err
	}
	if err := b.withHA(&sts.Spec.Template.Spec); err != nil {
		return nil, err
	}
	if err := b.withPodOptions(sts, objs); err != nil {
		return nil, err
	}
	objs = append(objs, sts, b.podDisruptionBudget(), b.networkPolicy())
	objs = append(objs, b.haAccess()...)
	if h := b.autoscaler(); h != nil {
		objs = append(objs, h)
	}
	return objs, nil
}

func (b *groupBuilder) dialect() flavor.Dialect { return flavor.MustFor(b.plan.Flavor) }

func objectMeta(n *v1alpha1.SubstrateNetwork, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: n.Namespace, Labels: labels}
}

func setOwner(n *v1alpha1.SubstrateNetwork, o client.Object) {
	if n.UID == "" {
		return
	}
	yes := true
	o.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind, Name: n.Name, UID: n.UID,
		Controller: &yes, BlockOwnerDeletion: &yes,
	}})
}

func itoa(i int) string { return strconv.Itoa(i) }

// KeyNames lists the nodes (<group>-<index>) Desired needs a node key for.
func KeyNames(n *v1alpha1.SubstrateNetwork) []string {
	var names []string
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		for r := range KeyedReplicas(g) {
			names = append(names, fmt.Sprintf("%s-%d", g.Name, r))
		}
	}
	return names
}

// PlaceholderKeys gives every node KeyNames lists one fixed, well-known key: enough to plan
// the network and build (so check) all of its objects without reading or generating real
// keys. Never deploy what is built with them.
func PlaceholderKeys(n *v1alpha1.SubstrateNetwork) (NodeKeys, error) {
	placeholder, err := nodekey.FromSeed(make([]byte, ed25519.SeedSize))
	if err != nil {
		return nil, fmt.Errorf("placeholder node key: %w", err)
	}
	keys := NodeKeys{}
	for _, name := range KeyNames(n) {
		keys[name] = placeholder
	}
	return keys, nil
}
