package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// chainMount is a chain spec file in the node containers: a key of a ConfigMap volume.
type chainMount struct {
	field     string // spec field path of the source, for errors
	volume    string // volume name, also the directory under chainsDir
	configMap string
	key       string
	// content is set when the builders create the ConfigMap (a local file, rendered).
	content []byte
}

// chainSpecKey is the key of a chain spec in a ConfigMap the builders create.
const chainSpecKey = "chain-spec.json"

func chainKey(c v1alpha1.Chain) string {
	switch {
	case c.ConfigMap != nil:
		return "configMap:" + c.ConfigMap.Name + "/" + c.ConfigMap.Key
	case c.File != "":
		return "file:" + c.File
	case c.URL != "":
		return "url:" + c.URL
	}
	return "builtin:" + c.Builtin
}

// chainMounts lists the chain specs the nodes read from files: ConfigMaps the user made, and
// local files (only when readFile is given, as `onf render` does) put into ConfigMaps of
// their own. URLs are not fetched by the cluster.
func chainMounts(n *v1alpha1.SubstrateNetwork, readFile func(string) ([]byte, error)) (map[string]chainMount, []chainMount, error) {
	type source struct {
		field string
		chain v1alpha1.Chain
	}
	sources := []source{{"spec.chain", n.Spec.Chain}}
	for i, p := range n.Spec.Parachains {
		sources = append(sources, source{fmt.Sprintf("spec.parachains[%d].chain", i), p.Chain})
	}
	byKey := map[string]chainMount{}
	var ordered []chainMount
	for _, s := range sources {
		k := chainKey(s.chain)
		if _, seen := byKey[k]; seen || s.chain.Builtin != "" {
			continue
		}
		m := chainMount{field: s.field, volume: fmt.Sprintf("chain-%d", len(ordered))}
		switch {
		case s.chain.ConfigMap != nil:
			m.configMap, m.key = s.chain.ConfigMap.Name, s.chain.ConfigMap.Key
		case s.chain.File != "" && readFile != nil:
			content, err := readFile(s.chain.File)
			if err != nil {
				return nil, nil, fmt.Errorf("%s.file: %w", s.field, err)
			}
			m.configMap, m.key, m.content = fmt.Sprintf("%s-%s", n.Name, m.volume), chainSpecKey, content
		case s.chain.File != "":
			return nil, nil, fmt.Errorf("%s.file: a local file cannot be read in the cluster; put the chain spec in a ConfigMap and use %s.configMap", s.field, s.field)
		default:
			return nil, nil, fmt.Errorf("%s.url: the operator does not download chain specs; put the chain spec in a ConfigMap and use %s.configMap", s.field, s.field)
		}
		byKey[k] = m
		ordered = append(ordered, m)
	}
	return byKey, ordered, nil
}

// chainConfigMaps are the ConfigMaps holding chain spec files the builders read.
func chainConfigMaps(n *v1alpha1.SubstrateNetwork, mounts []chainMount) []*corev1.ConfigMap {
	var out []*corev1.ConfigMap
	for _, m := range mounts {
		if m.content == nil {
			continue
		}
		out = append(out, &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: objectMeta(n, m.configMap, NetworkLabels(n.Name)),
			Data:       map[string]string{m.key: string(m.content)},
		})
	}
	return out
}

// chainVolumes mount every chain spec file read-only under chainsDir.
func chainVolumes(mounts []chainMount) ([]corev1.Volume, []corev1.VolumeMount) {
	var vols []corev1.Volume
	var vms []corev1.VolumeMount
	for _, m := range mounts {
		vols = append(vols, corev1.Volume{Name: m.volume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: m.configMap},
				Items:                []corev1.KeyToPath{{Key: m.key, Path: m.key}},
			},
		}})
		vms = append(vms, corev1.VolumeMount{Name: m.volume, MountPath: chainsDir + "/" + m.volume, ReadOnly: true})
	}
	return vols, vms
}
