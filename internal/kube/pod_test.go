package kube

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
)

// The pod options that add to onf's pod are refused by field path where they would collide
// with what onf renders: its env, volumes (claims included), mount paths, containers and the
// node's ports, which sidecars share.
func TestPodExtrasClashesRefused(t *testing.T) {
	sidecar := func(c corev1.Container) *v1alpha1.PodOptions {
		c.Image = "registry.example.org/sidecar:1"
		return &v1alpha1.PodOptions{Containers: []corev1.Container{c}}
	}
	tests := []struct {
		name string
		pod  *v1alpha1.PodOptions
		want string
	}{
		{"onf's env", &v1alpha1.PodOptions{Env: []corev1.EnvVar{{Name: "RUST_LOG", Value: "info"}, {Name: envPodIndex, Value: "7"}}},
			"spec.groups[0].pod.env[1].name: POD_INDEX is set by onf itself"},
		{"onf's volume", &v1alpha1.PodOptions{Volumes: []corev1.Volume{{Name: volumeNodeKey}}},
			"spec.groups[0].pod.volumes[0].name: node-key is a volume of onf's own"},
		{"onf's claim", &v1alpha1.PodOptions{Volumes: []corev1.Volume{{Name: volumeData}}},
			"spec.groups[0].pod.volumes[0].name: data is a volume of onf's own"},
		{"inside the data directory", &v1alpha1.PodOptions{VolumeMounts: []corev1.VolumeMount{{Name: "x", MountPath: "/data/chains/"}}},
			"spec.groups[0].pod.volumeMounts[0].mountPath: /data/chains/ overlaps onf's data at /data"},
		{"over the whole file system", &v1alpha1.PodOptions{VolumeMounts: []corev1.VolumeMount{{Name: "x", MountPath: "/"}}},
			"spec.groups[0].pod.volumeMounts[0].mountPath: / overlaps onf's data at /data"},
		{"onf's container", &v1alpha1.PodOptions{InitContainers: []corev1.Container{{Name: initName, Image: "x"}}},
			"spec.groups[0].pod.initContainers[0].name: init is a container of onf's own"},
		{"the node's port", sidecar(corev1.Container{Name: "api", Ports: []corev1.ContainerPort{{ContainerPort: 9944}}}),
			"spec.groups[0].pod.containers[0].ports[0]: /9944 is the node's port"},
		{"the node's port name", sidecar(corev1.Container{Name: "api", Ports: []corev1.ContainerPort{{Name: PortRPC, ContainerPort: 8080}}}),
			"spec.groups[0].pod.containers[0].ports[0]: rpc/8080 is the node's port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := loadSpec(t, "testdata/rococo.yaml")
			n.Spec.Groups[0].Pod = tc.pod
			_, err := Desired(n, testKeys(t, n), Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Desired: %v\nwant an error starting %q", err, tc.want)
			}
		})
	}
}

// A container security context only adds to what onf sets on the containers that run the
// node image: they still drop every capability and never escalate, whatever it says; a pod
// security context without fsGroup keeps onf's; sidecars keep their own.
func TestPodSecurityContextsLaidOver(t *testing.T) {
	n := loadSpec(t, "testdata/rococo.yaml")
	yes, no := true, false
	uid := int64(4242)
	n.Spec.Groups[0].Pod = &v1alpha1.PodOptions{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: &uid},
		ContainerSecurityContext: &corev1.SecurityContext{
			ReadOnlyRootFilesystem: &yes, Privileged: &no,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}},
		},
		Containers: []corev1.Container{{Name: "api", Image: "registry.example.org/sidecar:1"}},
	}
	objs, err := Desired(n, testKeys(t, n), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sts := findStatefulSet(t, objs, GroupName(n.Name, n.Spec.Groups[0].Name))
	p := sts.Spec.Template.Spec
	if sc := p.SecurityContext; sc == nil || sc.FSGroup == nil || *sc.FSGroup != 1000 || *sc.RunAsUser != uid {
		t.Errorf("pod security context %+v, want runAsUser %d and onf's fsGroup 1000", sc, uid)
	}
	nodeImage := 0
	for _, c := range append(p.InitContainers, p.Containers...) {
		sc := c.SecurityContext
		if c.Name == "api" {
			if sc != nil {
				t.Errorf("the sidecar got %+v", sc)
			}
			continue
		}
		if c.Image != n.Spec.Node.Image {
			continue
		}
		nodeImage++
		if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("%s: security context %+v", c.Name, sc)
		}
	}
	if nodeImage < 2 {
		t.Errorf("%d containers run the node image; want the node and its init step", nodeImage)
	}
}

func findStatefulSet(t *testing.T, objs []client.Object, name string) *appsv1.StatefulSet {
	t.Helper()
	for _, o := range objs {
		if sts, ok := o.(*appsv1.StatefulSet); ok && sts.Name == name {
			return sts
		}
	}
	t.Fatalf("no StatefulSet %s", name)
	return nil
}
