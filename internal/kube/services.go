package kube

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// Port names shared by containers, Services, probes and the ServiceMonitor.
const (
	portP2P      = "p2p"
	PortRPC      = "rpc" // the RPC port; the operator polls nodes on it
	portWS       = "ws"
	portMetrics  = "metrics"
	portRelayP2P = "relay-p2p"
	// portRelayMetrics is the embedded relay chain node's metrics port (parachains[].relay.metrics).
	portRelayMetrics = "relay-metrics"
)

// externalDNSHostname asks external-dns to publish a load balancer under a name.
const externalDNSHostname = "external-dns.alpha.kubernetes.io/hostname"

// LabelService tells a group's Services apart; the ServiceMonitor scrapes the headless ones.
const LabelService = "onf.dinfra.dev/service"

// containerPorts are the ports a node of the plan listens on.
func (b *groupBuilder) containerPorts() []corev1.ContainerPort {
	p := b.plan.Ports
	ports := []corev1.ContainerPort{
		{Name: portP2P, ContainerPort: int32(p.P2P), Protocol: corev1.ProtocolTCP},
		{Name: PortRPC, ContainerPort: int32(p.RPC), Protocol: corev1.ProtocolTCP},
	}
	if p.WS != 0 {
		ports = append(ports, corev1.ContainerPort{Name: portWS, ContainerPort: int32(p.WS), Protocol: corev1.ProtocolTCP})
	}
	ports = append(ports, corev1.ContainerPort{Name: portMetrics, ContainerPort: int32(p.Prometheus), Protocol: corev1.ProtocolTCP})
	if p.RelayP2P != 0 {
		ports = append(ports, corev1.ContainerPort{Name: portRelayP2P, ContainerPort: int32(p.RelayP2P), Protocol: corev1.ProtocolTCP})
	}
	if p.RelayPrometheus != 0 {
		ports = append(ports, corev1.ContainerPort{Name: portRelayMetrics, ContainerPort: int32(p.RelayPrometheus), Protocol: corev1.ProtocolTCP})
	}
	return ports
}

// servicePorts turns named container ports into Service ports.
func servicePorts(cps []corev1.ContainerPort, names ...string) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, cp := range cps {
		for _, n := range names {
			if cp.Name == n {
				out = append(out, corev1.ServicePort{
					Name: cp.Name, Port: cp.ContainerPort, TargetPort: intstr.FromString(cp.Name), Protocol: corev1.ProtocolTCP,
				})
			}
		}
	}
	return out
}

func (b *groupBuilder) service(name, kind string, spec corev1.ServiceSpec) *corev1.Service {
	labels := b.labels()
	labels[LabelService] = kind
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(b.net, name, labels),
		Spec:       spec,
	}
}

// headlessService gives each pod its stable DNS name (the hosts of boot node addresses). It
// publishes pods before they are ready: nodes must find their boot nodes to become ready.
func (b *groupBuilder) headlessService() *corev1.Service {
	return b.service(b.name(), "headless", corev1.ServiceSpec{
		ClusterIP:                corev1.ClusterIPNone,
		PublishNotReadyAddresses: true,
		Selector:                 Selector(b.net.Name, b.group.Name),
		Ports:                    servicePorts(b.containerPorts(), portP2P, PortRPC, portWS, portMetrics, portRelayP2P, portRelayMetrics),
	})
}

// servesRPC reports whether a role's RPC is meant for clients (load-balanced Service, open
// NetworkPolicy); validators, collators and boot nodes keep theirs private.
func servesRPC(r v1alpha1.Role) bool {
	return r == v1alpha1.RoleRPC || r == v1alpha1.RoleFull || r == v1alpha1.RoleArchive
}

// rpcService load-balances RPC over the ready pods of rpc, full and archive groups, inside
// the cluster unless rpc.service says otherwise (network.validateServices keeps unsafe
// methods and the gateway's group inside).
func (b *groupBuilder) rpcService() *corev1.Service {
	if !servesRPC(b.group.Role) {
		return nil
	}
	svc := b.service(RPCServiceName(b.net.Name, b.group.Name), "rpc", corev1.ServiceSpec{
		Type:     corev1.ServiceTypeClusterIP,
		Selector: Selector(b.net.Name, b.group.Name),
		Ports:    servicePorts(b.containerPorts(), PortRPC, portWS),
	})
	if b.group.RPC != nil && b.group.RPC.Service != nil {
		o := b.group.RPC.Service
		if o.Type != "" {
			svc.Spec.Type = o.Type
		}
		withServiceOptions(svc, &o.ServiceOptions)
	}
	return svc
}

// withServiceOptions applies a Service's options (groups[].rpc.service, groups[].p2p.service);
// onf's own annotations win.
func withServiceOptions(svc *corev1.Service, o *v1alpha1.ServiceOptions) {
	if o == nil {
		return
	}
	svc.Annotations = merged(o.Annotations, svc.Annotations)
	if o.ExternalTrafficPolicy != "" {
		svc.Spec.ExternalTrafficPolicy = o.ExternalTrafficPolicy
	}
	svc.Spec.LoadBalancerSourceRanges = o.LoadBalancerSourceRanges
}

// p2pServices expose each pod's P2P port outside the cluster, one Service per pod, when the
// group asks for it; a parachain node's embedded relay chain node is exposed with it (and
// announced at the same public host).
func (b *groupBuilder) p2pServices() []*corev1.Service {
	p := b.group.P2P
	if p == nil || p.Expose == "" || p.Expose == v1alpha1.ExposeNone {
		return nil
	}
	typ := corev1.ServiceTypeNodePort
	if p.Expose == v1alpha1.ExposeLoadBalancer {
		typ = corev1.ServiceTypeLoadBalancer
	}
	var out []*corev1.Service
	for i := range replicasOrMax(b.group) {
		pod := PodName(b.net.Name, b.group.Name, i)
		sel := Selector(b.net.Name, b.group.Name)
		sel[LabelPodName] = pod
		svc := b.service(P2PServiceName(b.net.Name, b.group.Name, i), "p2p", corev1.ServiceSpec{
			Type:                  typ,
			Selector:              sel,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Ports:                 servicePorts(b.containerPorts(), portP2P, portRelayP2P),
		})
		if suffix := publicHostPerPod(b.group); suffix != "" {
			svc.Annotations = map[string]string{externalDNSHostname: pod + "." + suffix}
		} else if typ == corev1.ServiceTypeLoadBalancer && p.PublicHost != "" {
			svc.Annotations = map[string]string{externalDNSHostname: p.PublicHost}
		}
		withServiceOptions(svc, p.Service)
		out = append(out, svc)
	}
	return out
}

// replicasOrMax is the number of pods a group may run: its replicas, or the autoscaler's
// maximum.
func replicasOrMax(g *v1alpha1.NodeGroup) int {
	if g.HA != nil { // one identity, its candidates the pods (checkHA)
		return network.Standbys(g) + 1
	}
	if autoscaled(g) {
		return int(g.Autoscaling.MaxReplicas)
	}
	return int(ptrOr(g.Replicas, 1))
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// autoscaled reports whether a HorizontalPodAutoscaler owns the group's replica count.
func autoscaled(g *v1alpha1.NodeGroup) bool {
	return g.Autoscaling != nil && g.Role == v1alpha1.RoleRPC
}
