package kube

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/dinfra/stack/internal/chainspec"
)

// testOnfImage stands for the operator's --gateway-image in tests.
const testOnfImage = "ghcr.io/dinfra/onf:test"

// TestChainSourcesGolden renders chain specs and a runtime override that init steps put in
// place, and database backends (testdata/chains).
func TestChainSourcesGolden(t *testing.T) {
	n := loadSpec(t, "testdata/chains/spec.yaml")
	readFile := func(p string) ([]byte, error) {
		return chainspec.ReadFile(filepath.Join("testdata/chains", p), chainspec.Options{})
	}
	objs, err := Desired(n, testKeys(t, n), Options{ReadFile: readFile, GatewayImage: testOnfImage})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "testdata/chains/golden.yaml", objs)
}

// BigChainSpec is a chain spec of about size bytes whose genesis holds a code blob of
// incompressible hex, as a raw relay chain spec's runtime is: gzip halves it at best.
func BigChainSpec(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"name":"Big","id":"big","chainType":"Live","genesis":{"raw":{"top":{"0x3a636f6465":"0x`)
	x := uint64(88172645463325252)
	for b.Len() < size {
		x ^= x << 13 // xorshift: cheap, fixed, incompressible enough
		x ^= x >> 7
		x ^= x << 17
		b.WriteByte("0123456789abcdef"[x&15])
	}
	b.WriteString(`"}}}}`)
	return b.Bytes()
}

// TestPackedChainSpec: a chain.file over the 1 MiB ConfigMap limit is packed into several
// ConfigMaps, each under the limit, which the join step mounts and reads in order.
func TestPackedChainSpec(t *testing.T) {
	spec := BigChainSpec(3 << 20)
	n := loadSpec(t, "testdata/chains/spec.yaml")
	readFile := func(string) ([]byte, error) { return spec, nil }
	objs, err := Desired(n, testKeys(t, n), Options{ReadFile: readFile, GatewayImage: testOnfImage})
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	var collator *appsv1.StatefulSet
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			if len(o.Data) > 0 {
				t.Errorf("ConfigMap %s holds the spec as text: want only parts", o.Name)
			}
			if size := len(o.BinaryData[partKey]); size == 0 || size > maxPart {
				t.Errorf("ConfigMap %s holds %d bytes: want 1 to %d", o.Name, size, maxPart)
			}
			parts[o.Name] = o.BinaryData[partKey]
		case *appsv1.StatefulSet:
			if o.Name == "fetched-collator" {
				collator = o
			}
		}
	}
	if len(parts) < 2 {
		t.Fatalf("%d part ConfigMaps for a %d-byte spec: want several", len(parts), len(spec))
	}
	pod := collator.Spec.Template.Spec
	step := pod.InitContainers[slices.IndexFunc(pod.InitContainers, func(c corev1.Container) bool { return c.Name == "chain-spec-1" })]
	if step.Image != testOnfImage || !slices.Equal(step.Args[:6], []string{"chainspec", "join", "--sha256", chainspec.SHA256(spec), "--out", "/onf/chains/chain-1/chain-spec.json"}) {
		t.Fatalf("join step = %s %q", step.Image, step.Args)
	}
	// The files the step reads, in its order, are the parts' ConfigMaps in order.
	var readers []io.Reader
	for _, file := range step.Args[6:] {
		dir := filepath.Dir(file)
		mount := step.VolumeMounts[slices.IndexFunc(step.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir })]
		vol := pod.Volumes[slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == mount.Name })]
		readers = append(readers, bytes.NewReader(parts[vol.ConfigMap.Name]))
	}
	if got, err := chainspec.Unpack(readers, chainspec.Options{SHA256: chainspec.SHA256(spec)}); err != nil || !bytes.Equal(got, spec) {
		t.Fatalf("joining the mounted parts = %d bytes, %v", len(got), err)
	}
	node := pod.Containers[0]
	if !slices.ContainsFunc(node.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/onf/chains/chain-1" && m.ReadOnly }) ||
		!strings.Contains(strings.Join(node.Args, " "), "--chain /onf/chains/chain-1/chain-spec.json") {
		t.Errorf("the node does not read the joined spec: mounts %v, args %q", node.VolumeMounts, node.Args)
	}
}
