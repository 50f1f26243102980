package kube

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/dinfra/stack/api/v1alpha1"
)

// A group exposed through per-pod NodePorts announces, per pod, the node ports the API server
// gave that pod's P2P Service, and a group exposed through per-pod LoadBalancers without a
// publicHost announces each pod's own load balancer address: one StatefulSet template cannot
// hold them, so the operator writes them into annotations of each pod (AnnounceAnnotations),
// the node container reads them through the downward API as environment variables its
// arguments name (--public-addr /dns/HOST/tcp/$(ONF_P2P_PUBLIC_PORT),
// --public-addr /$(ONF_P2P_PUBLIC_ADDR)/tcp/30333), and an init step holds the node back until
// they are there (the kubelet resolves the variables when it starts the container).
const (
	// AnnotationP2PNodePort and AnnotationRelayP2PNodePort are a pod's node ports for its
	// P2P port and its embedded relay chain node's, set by the operator.
	AnnotationP2PNodePort      = "onf.dinfra.dev/p2p-node-port"
	AnnotationRelayP2PNodePort = "onf.dinfra.dev/relay-p2p-node-port"
	// AnnotationP2PPublicAddr is the address of a pod's own load balancer as a multiaddr
	// without its leading slash (ip4/203.0.113.9, dns/lb.example.org), set by the operator
	// from the P2P Service's status.loadBalancer.ingress.
	AnnotationP2PPublicAddr = "onf.dinfra.dev/p2p-public-addr"

	envP2PPublicPort      = "ONF_P2P_PUBLIC_PORT"
	envRelayP2PPublicPort = "ONF_RELAY_P2P_PUBLIC_PORT"
	envP2PPublicAddr      = "ONF_P2P_PUBLIC_ADDR"

	volumeNodePorts = "node-ports"
	nodePortsDir    = "/onf/node-ports"
	waitName        = "wait-node-ports"
)

// nodePorts reports whether the group announces per-pod NodePorts.
func nodePorts(g *v1alpha1.NodeGroup) bool {
	return g != nil && g.P2P != nil && g.P2P.Expose == v1alpha1.ExposeNodePort
}

// loadBalancerAddress reports whether the group announces each pod's load balancer address.
func loadBalancerAddress(g *v1alpha1.NodeGroup) bool {
	return g != nil && g.P2P != nil && g.P2P.Expose == v1alpha1.ExposeLoadBalancer && g.P2P.PublicHost == ""
}

// Announces reports whether the operator tells the group's pods what to announce
// (AnnounceAnnotations).
func Announces(g *v1alpha1.NodeGroup) bool { return nodePorts(g) || loadBalancerAddress(g) }

// AnnounceAnnotations are the annotations that tell a pod of group g what its P2P Service
// makes it reachable at; nil until the API server has allocated the node ports, or the load
// balancer has an address.
func AnnounceAnnotations(g *v1alpha1.NodeGroup, svc *corev1.Service) map[string]string {
	if loadBalancerAddress(g) {
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if addr := lbMultiaddr(in); addr != "" {
				return map[string]string{AnnotationP2PPublicAddr: addr}
			}
		}
		return nil
	}
	out := map[string]string{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort == 0 {
			return nil
		}
		switch p.Name {
		case portP2P:
			out[AnnotationP2PNodePort] = fmt.Sprint(p.NodePort)
		case portRelayP2P:
			out[AnnotationRelayP2PNodePort] = fmt.Sprint(p.NodePort)
		}
	}
	if out[AnnotationP2PNodePort] == "" {
		return nil
	}
	return out
}

// lbMultiaddr is a load balancer ingress point as a multiaddr without its leading slash; ""
// for one that is neither an IP address nor a DNS name (never passed to a node).
func lbMultiaddr(in corev1.LoadBalancerIngress) string {
	if ip, err := netip.ParseAddr(in.IP); err == nil {
		if ip.Is4() || ip.Is4In6() {
			return "ip4/" + ip.Unmap().String()
		}
		return "ip6/" + ip.String()
	}
	if in.Hostname != "" && len(validation.IsDNS1123Subdomain(in.Hostname)) == 0 {
		return "dns/" + in.Hostname
	}
	return ""
}

// withNodePorts passes the pod's node ports or load balancer address to its node (see
// above). Gossamer cannot announce a port other than the one it listens on, nor take an
// address it cannot tell an IP from a name in when the pod is built, so both are refused.
func (b *groupBuilder) withNodePorts(pod *corev1.PodSpec) error {
	fromAnnotation := func(env, annotation string) corev1.EnvVar {
		return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['" + annotation + "']",
		}}}
	}
	node := &pod.Containers[0]
	var waitFor string
	switch {
	case nodePorts(b.group):
		if b.plan.Flavor == v1alpha1.FlavorGossamer {
			return fmt.Errorf("%s: gossamer announces only the port it listens on, not a node port: use LoadBalancer, or a polkadot-sdk node", b.field("p2p.expose"))
		}
		node.Env = append(node.Env, fromAnnotation(envP2PPublicPort, AnnotationP2PNodePort))
		if b.plan.Ports.RelayP2P != 0 {
			node.Env = append(node.Env, fromAnnotation(envRelayP2PPublicPort, AnnotationRelayP2PNodePort))
		}
		waitFor = AnnotationP2PNodePort
	case loadBalancerAddress(b.group):
		if b.plan.Flavor == v1alpha1.FlavorGossamer {
			return fmt.Errorf("%s: required for gossamer with expose LoadBalancer (gossamer must know whether it announces an IP or a name before the load balancer has one): give the load balancer's address or DNS name, or use a polkadot-sdk node", b.field("p2p.publicHost"))
		}
		node.Env = append(node.Env, fromAnnotation(envP2PPublicAddr, AnnotationP2PPublicAddr))
		waitFor = AnnotationP2PPublicAddr
	default:
		return nil
	}
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeNodePorts, VolumeSource: corev1.VolumeSource{
		DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{
			Path: "p2p", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + waitFor + "']"},
		}}},
	}})
	wait := corev1.Container{
		Name: waitName, Image: node.Image,
		Command:         []string{"/bin/sh", "-c", "until [ -s " + nodePortsDir + "/p2p ]; do sleep 1; done"},
		VolumeMounts:    []corev1.VolumeMount{{Name: volumeNodePorts, MountPath: nodePortsDir, ReadOnly: true}},
		SecurityContext: node.SecurityContext,
	}
	pod.InitContainers = append([]corev1.Container{wait}, pod.InitContainers...)
	return nil
}
