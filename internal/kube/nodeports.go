package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// A group exposed through per-pod NodePorts announces, per pod, the node ports the API server
// gave that pod's P2P Service: one StatefulSet template cannot hold them, so the operator
// writes them into annotations of each pod (NodePortAnnotations), the node container reads
// them through the downward API as environment variables its arguments name
// (--public-addr /dns/HOST/tcp/$(ONF_P2P_PUBLIC_PORT)), and an init step holds the node back
// until they are there (the kubelet resolves the variables when it starts the container).
const (
	// AnnotationP2PNodePort and AnnotationRelayP2PNodePort are a pod's node ports for its
	// P2P port and its embedded relay chain node's, set by the operator.
	AnnotationP2PNodePort      = "onf.dinfra.dev/p2p-node-port"
	AnnotationRelayP2PNodePort = "onf.dinfra.dev/relay-p2p-node-port"

	envP2PPublicPort      = "ONF_P2P_PUBLIC_PORT"
	envRelayP2PPublicPort = "ONF_RELAY_P2P_PUBLIC_PORT"

	volumeNodePorts = "node-ports"
	nodePortsDir    = "/onf/node-ports"
	waitName        = "wait-node-ports"
)

// nodePorts reports whether the group announces per-pod NodePorts.
func nodePorts(g *v1alpha1.NodeGroup) bool {
	return g != nil && g.P2P != nil && g.P2P.Expose == v1alpha1.ExposeNodePort
}

// NodePortAnnotations are the annotations that tell a pod its node ports, read from its P2P
// Service; nil until the API server has allocated them.
func NodePortAnnotations(svc *corev1.Service) map[string]string {
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

// withNodePorts passes the pod's node ports to its node (see above) when the group is
// exposed through NodePorts. Gossamer cannot announce a port other than the one it listens
// on, so it is refused.
func (b *groupBuilder) withNodePorts(pod *corev1.PodSpec) error {
	if !nodePorts(b.group) {
		return nil
	}
	if b.plan.Flavor == v1alpha1.FlavorGossamer {
		return fmt.Errorf("%s: gossamer announces only the port it listens on, not a node port: use LoadBalancer, or a polkadot-sdk node", b.field("p2p.expose"))
	}
	fromAnnotation := func(env, annotation string) corev1.EnvVar {
		return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['" + annotation + "']",
		}}}
	}
	node := &pod.Containers[0]
	node.Env = append(node.Env, fromAnnotation(envP2PPublicPort, AnnotationP2PNodePort))
	if b.plan.Ports.RelayP2P != 0 {
		node.Env = append(node.Env, fromAnnotation(envRelayP2PPublicPort, AnnotationRelayP2PNodePort))
	}
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeNodePorts, VolumeSource: corev1.VolumeSource{
		DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{
			Path: "p2p", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + AnnotationP2PNodePort + "']"},
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
