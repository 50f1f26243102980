package kube

import (
	"fmt"
	"strconv"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Label keys on every object the builders produce.
const (
	LabelNetwork   = "onf.dinfra.dev/network"
	LabelGroup     = "onf.dinfra.dev/group"
	LabelRole      = "onf.dinfra.dev/role"
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelPodName is set by the StatefulSet controller on each pod.
	LabelPodName = "statefulset.kubernetes.io/pod-name"

	// ManagedBy is the value of LabelManagedBy; the operator caches only objects carrying it.
	ManagedBy = "onf-operator"
	appName   = "substrate-node"
)

// maxStatefulSetName keeps pod names and the controller-revision-hash label (name plus an
// 11-character hash) within the 63 characters of a label value.
const maxStatefulSetName = 52

// GroupName is the name of a group's StatefulSet, headless Service and most other objects.
func GroupName(network, group string) string { return network + "-" + group }

// PodName is the name of replica i of a group.
func PodName(network, group string, i int) string {
	return GroupName(network, group) + "-" + strconv.Itoa(i)
}

// RPCServiceName is the load-balanced RPC Service of a group.
func RPCServiceName(network, group string) string { return GroupName(network, group) + "-rpc" }

// P2PServiceName is the Service exposing one pod's P2P port outside the cluster.
func P2PServiceName(network, group string, i int) string { return PodName(network, group, i) + "-p2p" }

// NodeKeySecretName holds a group's node keys, one Secret key per replica index.
func NodeKeySecretName(network, group string) string { return GroupName(network, group) + "-node-keys" }

// DevKeySecretName holds a group's well-known dev secret URIs (//Alice, ...), one per replica.
func DevKeySecretName(network, group string) string { return GroupName(network, group) + "-dev-keys" }

// checkNames rejects networks whose object names would not fit Kubernetes limits.
func checkNames(n *v1alpha1.SubstrateNetwork) error {
	for i, g := range n.Spec.Groups {
		if name := GroupName(n.Name, g.Name); len(name) > maxStatefulSetName {
			return fmt.Errorf("spec.groups[%d].name: %q with network name %q makes the object name %q, longer than %d characters on Kubernetes",
				i, g.Name, n.Name, name, maxStatefulSetName)
		}
	}
	return nil
}

// Labels are the labels of a group's objects and pods.
func Labels(network string, g *v1alpha1.NodeGroup) map[string]string {
	l := NetworkLabels(network)
	l[LabelGroup] = g.Name
	l[LabelRole] = string(g.Role)
	l[LabelComponent] = string(g.Role)
	return l
}

// NetworkLabels are the labels of a network's objects that belong to no group.
func NetworkLabels(network string) map[string]string {
	return map[string]string{
		LabelName:      appName,
		LabelInstance:  network,
		LabelManagedBy: ManagedBy,
		LabelNetwork:   network,
	}
}

// Selector selects a group's pods; it never changes for the life of the group.
func Selector(network, group string) map[string]string {
	return map[string]string{LabelNetwork: network, LabelGroup: group}
}
