package kube

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/network"
)

// chainMount is a chain spec file in the node containers: a key of a ConfigMap volume, or a
// file an init step puts in an emptyDir volume (downloaded from url, or joined from parts).
type chainMount struct {
	field     string // spec field path of the source, for errors
	volume    string // volume name, also the directory under chainsDir
	configMap string
	key       string
	// content is set when the builders create the ConfigMap (a local file, rendered).
	content []byte
	// parts hold a local file too large for one ConfigMap: gzip data split across
	// ConfigMaps <configMap>-part-<i>, joined by an init step (chainspec.Pack).
	parts [][]byte
	// url is downloaded by an init step.
	url string
	// sha256 is the checksum the init step checks: url's, or the packed file's.
	sha256 string
}

const (
	// chainSpecKey is the key of a chain spec in a ConfigMap the builders create, and the
	// file name of a chain spec an init step writes.
	chainSpecKey = "chain-spec.json"
	// partKey is the key of a part of a packed chain spec in its ConfigMap.
	partKey = "part"
	// maxInlineSpec is the largest chain spec kept as it is in one ConfigMap; larger ones
	// are packed into parts of at most maxPart bytes. The API server refuses ConfigMaps over
	// 1 MiB and etcd requests over 1.5 MiB (binaryData is base64 there: 4/3 of the bytes).
	maxInlineSpec = 900 << 10
	maxPart       = 768 << 10
	// partsDir is where the join step sees the parts: partsDir/<volume>-part-<i>/part.
	partsDir = "/onf/parts"
	// fetchedFileLimit bounds the emptyDir a fetched file is written to: chainspec's cap.
	fetchedFileLimit = chainspec.DefaultMaxBytes
	chainStepName    = "chain-spec"
	runtimeStepName  = "runtime-override"
	volumeRuntime    = "runtime-override"
	runtimeFile      = "runtime.wasm"
)

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

// chainMounts lists the chain specs the nodes read from files: ConfigMaps the user made, local
// files (only when readFile is given, as `onf render` does) put into ConfigMaps of their own
// (packed across several when too large for one), and URLs with their sha256, which an init
// step downloads.
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
			m.configMap, m.key = fmt.Sprintf("%s-%s", n.Name, m.volume), chainSpecKey
			if len(content) <= maxInlineSpec {
				m.content = content
			} else {
				m.parts, m.sha256 = chainspec.Pack(content, maxPart), chainspec.SHA256(content)
			}
		case s.chain.File != "":
			return nil, nil, fmt.Errorf("%s.file: a local file cannot be read in the cluster; put the chain spec in a ConfigMap and use %s.configMap, or serve it and use %s.url with %s.sha256", s.field, s.field, s.field, s.field)
		default:
			if s.chain.SHA256 == "" {
				return nil, nil, fmt.Errorf("%s.sha256: required in clusters with %s.url: every node pod downloads the chain spec at each start, and only the checksum makes sure they all run the file reviewed (a changed or tampered file is refused and the pod does not start)", s.field, s.field)
			}
			m.url, m.sha256, m.key = s.chain.URL, s.chain.SHA256, chainSpecKey
		}
		byKey[k] = m
		ordered = append(ordered, m)
	}
	return byKey, ordered, nil
}

// chainConfigMaps are the ConfigMaps holding chain spec files the builders read.
func chainConfigMaps(n *v1alpha1.SubstrateNetwork, mounts []chainMount) []*corev1.ConfigMap {
	var out []*corev1.ConfigMap
	configMap := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: objectMeta(n, name, NetworkLabels(n.Name)),
		}
	}
	for _, m := range mounts {
		if m.content != nil {
			cm := configMap(m.configMap)
			cm.Data = map[string]string{m.key: string(m.content)}
			out = append(out, cm)
		}
		for i, part := range m.parts {
			cm := configMap(m.partName(i))
			cm.BinaryData = map[string][]byte{partKey: part}
			out = append(out, cm)
		}
	}
	return out
}

func (m chainMount) partName(i int) string { return fmt.Sprintf("%s-part-%d", m.configMap, i) }

// fetched reports whether an init step puts the file in place (rather than a ConfigMap).
func (m chainMount) fetched() bool { return m.url != "" || m.parts != nil }

// chainVolumes mount every chain spec file read-only under chainsDir.
func chainVolumes(mounts []chainMount) ([]corev1.Volume, []corev1.VolumeMount) {
	var vols []corev1.Volume
	var vms []corev1.VolumeMount
	for _, m := range mounts {
		src := corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: m.configMap},
			Items:                []corev1.KeyToPath{{Key: m.key, Path: m.key}},
		}}
		if m.fetched() {
			src = scratch()
		}
		vols = append(vols, corev1.Volume{Name: m.volume, VolumeSource: src})
		vms = append(vms, corev1.VolumeMount{Name: m.volume, MountPath: chainsDir + "/" + m.volume, ReadOnly: true})
	}
	return vols, vms
}

// scratch is an emptyDir for one fetched file.
func scratch() corev1.VolumeSource {
	return corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: resource.NewQuantity(fetchedFileLimit, resource.BinarySI)}}
}

// withFetchSteps adds the init steps that put downloaded or packed chain specs and the
// group's runtime override in place, before every other step: each runs the onf image
// (`onf chainspec`), checks the file's sha256 and writes it to an emptyDir the node mounts
// read-only, so a node never starts on a file other than the one the spec names.
func (b *groupBuilder) withFetchSteps(pod *corev1.PodSpec) error {
	var steps []corev1.Container
	for _, m := range b.mounts {
		if !m.fetched() {
			continue
		}
		img, err := onfImage(b.opts, m.field)
		if err != nil {
			return err
		}
		dir := chainsDir + "/" + m.volume
		out := dir + "/" + m.key
		step := corev1.Container{
			Name: chainStepName + "-" + strings.TrimPrefix(m.volume, "chain-"), Image: img,
			VolumeMounts: []corev1.VolumeMount{{Name: m.volume, MountPath: dir}}, SecurityContext: backupSecurity(),
		}
		if m.url != "" {
			step.Args = []string{"chainspec", "fetch", "--url", m.url, "--sha256", m.sha256, "--out", out}
		} else {
			step.Args = []string{"chainspec", "join", "--sha256", m.sha256, "--out", out}
			for i := range m.parts {
				vol := fmt.Sprintf("%s-part-%d", m.volume, i)
				pod.Volumes = append(pod.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
					ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: m.partName(i)}},
				}})
				step.VolumeMounts = append(step.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: partsDir + "/" + vol, ReadOnly: true})
				step.Args = append(step.Args, partsDir+"/"+vol+"/"+partKey)
			}
		}
		steps = append(steps, step)
	}
	if o := b.group.RuntimeOverride; o != nil {
		img, err := onfImage(b.opts, b.field("runtimeOverride"))
		if err != nil {
			return err
		}
		steps = append(steps, corev1.Container{
			Name: runtimeStepName, Image: img, SecurityContext: backupSecurity(),
			Args:         []string{"chainspec", "fetch", "--runtime", "--url", o.URL, "--sha256", o.SHA256, "--out", network.RuntimeOverrideDir + "/" + runtimeFile},
			VolumeMounts: []corev1.VolumeMount{{Name: volumeRuntime, MountPath: network.RuntimeOverrideDir}},
		})
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeRuntime, VolumeSource: scratch()})
		for i := range pod.Containers {
			if pod.Containers[i].Name == containerName {
				pod.Containers[i].VolumeMounts = append(pod.Containers[i].VolumeMounts, corev1.VolumeMount{Name: volumeRuntime, MountPath: network.RuntimeOverrideDir, ReadOnly: true})
			}
		}
	}
	pod.InitContainers = append(steps, pod.InitContainers...)
	return nil
}
