package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeKeySecret holds the group's node keys in the file format of its flavor, one key per
// replica index, each mounted alone into its own pod at the plan's node key path.
func (b *groupBuilder) nodeKeySecret() (*corev1.Secret, error) {
	d := b.dialect()
	data := map[string][]byte{}
	for i := range KeyedReplicas(b.group) {
		node := fmt.Sprintf("%s-%d", b.group.Name, i)
		k, ok := b.keys[node]
		if !ok {
			return nil, fmt.Errorf("%s: no node key for replica %d", b.field("replicas"), i)
		}
		data[itoa(i)] = []byte(d.NodeKeyFileContent(k.SeedHex(), k.PrivateKeyHex()))
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: objectMeta(b.net, NodeKeySecretName(b.net.Name, b.group.Name), b.labels()),
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}

// devKeySecret holds well-known development secret URIs (//Alice, ...) so that dev keys reach
// the keystore through the same file path as real keys do.
func (b *groupBuilder) devKeySecret() *corev1.Secret {
	k := b.group.Keys
	if k == nil || len(k.Dev) == 0 {
		return nil
	}
	data := map[string][]byte{}
	for i, uri := range k.Dev {
		data[itoa(i)] = []byte(uri)
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: objectMeta(b.net, DevKeySecretName(b.net.Name, b.group.Name), b.labels()),
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
}

// sessionKeySecret names the Secret holding the group's secret URIs, if any.
func (b *groupBuilder) sessionKeySecret() string {
	k := b.group.Keys
	switch {
	case k == nil:
		return ""
	case len(k.Dev) > 0:
		return DevKeySecretName(b.net.Name, b.group.Name)
	default:
		return k.Secret
	}
}
