package kube

import (
	"cmp"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/internal/network"
)

// volumeRelayData is the claim template of a parachain node's embedded relay chain node
// (parachains[].relay.storage): the relay chain's database, often larger than the
// parachain's, on a volume sized and classed apart, mounted at network.RelayDataDir.
const volumeRelayData = "relay-data"

// relayDataClaim is the group's relay-data claim template, when its parachain asks for one.
// Validation refuses a size that does not parse and relay.storage with relay.rpcUrls.
func (b *groupBuilder) relayDataClaim(labels map[string]string) []corev1.PersistentVolumeClaim {
	p := network.FindParachain(&b.net.Spec, b.group.Parachain)
	if p == nil || p.Relay.Storage == "" || len(p.Relay.RPCURLs) > 0 {
		return nil
	}
	c := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: volumeRelayData, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(p.Relay.Storage)}},
		},
	}
	// The group's class unless the relay chain names its own.
	if class := cmp.Or(p.Relay.StorageClassName, b.group.StorageClassName); class != "" {
		c.Spec.StorageClassName = &class
	}
	return []corev1.PersistentVolumeClaim{c}
}

// relayDataMounts mounts the relay-data claim where the embedded node's --base-path points.
func (b *groupBuilder) relayDataMounts() []corev1.VolumeMount {
	if len(b.relayDataClaim(nil)) == 0 {
		return nil
	}
	return []corev1.VolumeMount{{Name: volumeRelayData, MountPath: network.RelayDataDir}}
}
