package kube

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// podDisruptionBudget lets voluntary disruptions (node drains) take one pod of a group at a
// time, so a validator set or an RPC pool never loses more than one member at once.
func (b *groupBuilder) podDisruptionBudget() *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(b.net, b.name(), b.labels()),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr(intstr.FromInt32(1)),
			Selector:       &metav1.LabelSelector{MatchLabels: Selector(b.net.Name, b.group.Name)},
		},
	}
}

// networkPolicy keeps P2P and metrics open and RPC private for the roles that hold keys or
// seed the network, and for the group behind the network's gateway: only the operator and
// the RPC gateway may call validators, collators, boot nodes and the gateway's upstreams.
func (b *groupBuilder) networkPolicy() *networkingv1.NetworkPolicy {
	open := []networkingv1.NetworkPolicyPort{tcpPort(portP2P), tcpPort(portMetrics)}
	if b.plan.Ports.RelayP2P != 0 {
		open = append(open, tcpPort(portRelayP2P))
	}
	if b.plan.Ports.RelayPrometheus != 0 {
		open = append(open, tcpPort(portRelayMetrics))
	}
	rpc := []networkingv1.NetworkPolicyPort{tcpPort(PortRPC)}
	if b.plan.Ports.WS != 0 {
		rpc = append(rpc, tcpPort(portWS))
	}
	rpc = append(rpc, b.sidecarPorts()...) // a sidecar (substrate-api-sidecar) serves chain data as RPC does
	rules := []networkingv1.NetworkPolicyIngressRule{{Ports: open}}
	fronted := b.net.Spec.Gateway != nil && b.net.Spec.Gateway.Group == b.group.Name
	if servesRPC(b.group.Role) && !fronted {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: rpc})
	} else {
		var from []networkingv1.NetworkPolicyPeer
		if fronted { // clients go through the gateway
			from = append(from, gatewayPeer(b.net.Name))
		}
		if bk := b.net.Spec.Backup; bk != nil && bk.Source == b.group.Name { // its facts step
			from = append(from, networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				LabelNetwork: b.net.Name, LabelBackupOf: b.group.Name,
			}}})
		}
		for i := range b.opts.RPCClients {
			from = append(from, networkingv1.NetworkPolicyPeer{
				NamespaceSelector: &metav1.LabelSelector{}, // in any namespace
				PodSelector:       &b.opts.RPCClients[i],
			})
		}
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: rpc, From: from})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(b.net, b.name(), b.labels()),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: Selector(b.net.Name, b.group.Name)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     rules,
		},
	}
}

// defaultTargetCPU is the CPU utilization an autoscaled group aims at.
const defaultTargetCPU = 70

// autoscaler scales an rpc group on CPU load when the group asks for it.
func (b *groupBuilder) autoscaler() *autoscalingv2.HorizontalPodAutoscaler {
	if !autoscaled(b.group) {
		return nil
	}
	a := b.group.Autoscaling
	utilization := func(r corev1.ResourceName, percent int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: r, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &percent},
		}}
	}
	metrics := []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, ptrOr(a.TargetCPUUtilization, defaultTargetCPU))}
	if a.TargetMemoryUtilization != nil {
		metrics = append(metrics, utilization(corev1.ResourceMemory, *a.TargetMemoryUtilization))
	}
	metrics = append(metrics, a.Metrics...)
	var behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
	if a.ScaleDownStabilizationSeconds != nil {
		behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: a.ScaleDownStabilizationSeconds}}
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: objectMeta(b.net, b.name(), b.labels()),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: b.name()},
			MinReplicas:    ptr(a.MinReplicas),
			MaxReplicas:    a.MaxReplicas,
			Metrics:        metrics,
			Behavior:       behavior,
		},
	}
}
