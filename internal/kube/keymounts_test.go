package kube

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
)

// keySources are the ways a signing group can get its session keys, applied to every
// validator and collator group of a spec.
var keySources = map[string]func(replicas int) *v1alpha1.Keys{
	"dev": func(n int) *v1alpha1.Keys {
		dev := []string{"//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"}
		return &v1alpha1.Keys{Dev: dev[:n]}
	},
	"secret": func(int) *v1alpha1.Keys { return &v1alpha1.Keys{Secret: "validator-session-keys"} },
	"files": func(n int) *v1alpha1.Keys {
		var files []string
		for i := range n {
			files = append(files, "/etc/onf/keys/node-"+itoa(i)+".suri")
		}
		return &v1alpha1.Keys{Files: files}
	},
}

// clusterSpecs are every example and test spec.
func clusterSpecs(t *testing.T) []string {
	specs, _ := filepath.Glob("../../examples/*.yaml")
	tests, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range tests {
		if !strings.HasSuffix(s, ".golden.yaml") {
			specs = append(specs, s)
		}
	}
	if len(specs) < 4 {
		t.Fatalf("found only %v", specs)
	}
	return specs
}

// specWithKeys loads a spec for a cluster with every signing group's keys from source, and
// returns the index of the last signing group (-1: none).
func specWithKeys(t *testing.T, spec, source string) (*v1alpha1.SubstrateNetwork, int) {
	n := loadSpec(t, spec)
	if n.Spec.Node.Image == "" { // clusters need an image; the examples may run locally
		n.Spec.Node.Image, n.Spec.Node.Binary = "registry.example.org/node:1", "/usr/local/bin/node"
	}
	signing := -1
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if g.Keys != nil {
			types := g.Keys.Types
			g.Keys = keySources[source](max(int(ptrOr(g.Replicas, 1)), 1))
			g.Keys.Types = types
			signing = i
		}
	}
	return n, signing
}

// TestEveryPathAPodReadsIsMounted renders every example and test spec with every key source
// and checks that each file an init step or the node reads (the secret URI of `key insert`
// included) is inside a volume of that container, backed by an object the render produces or
// the spec names. keys.files names files on the machine running `onf up`: a cluster has
// none, so the render must refuse it rather than let `key insert --suri /onf/keys/suri`
// take the path itself as a (publicly derivable) secret URI.
func TestEveryPathAPodReadsIsMounted(t *testing.T) {
	for _, spec := range clusterSpecs(t) {
		for source := range keySources {
			t.Run(filepath.Base(spec)+"/"+source, func(t *testing.T) {
				n, signing := specWithKeys(t, spec, source)
				if signing < 0 {
					t.Skip("no signing group")
				}
				objs, err := Desired(n, testKeys(t, n), Options{})
				if source == "files" {
					if err == nil || !strings.Contains(err.Error(), ".keys.files: ") || !strings.Contains(err.Error(), "keys.secret") {
						t.Fatalf("keys.files rendered for a cluster: err = %v; want an error naming spec.groups[i].keys.files and keys.secret", err)
					}
					return
				}
				if err != nil {
					if n.Spec.Node.Flavor == v1alpha1.FlavorGossamer && source == "secret" && strings.Contains(err.Error(), ".keys: ") {
						return // gossamer takes dev keys only (its own test covers the message)
					}
					t.Fatal(err)
				}
				checkPodPaths(t, n, objs)
			})
		}
	}
}

func checkPodPaths(t *testing.T, n *v1alpha1.SubstrateNetwork, objs []client.Object) {
	t.Helper()
	produced := map[string]bool{} // Kind/name of every object rendered
	for _, o := range objs {
		produced[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = true
	}
	referenced := map[string]bool{} // Secrets and ConfigMaps the spec names
	for _, g := range n.Spec.Groups {
		if g.Keys != nil && g.Keys.Secret != "" {
			referenced["Secret/"+g.Keys.Secret] = true
		}
	}
	chains := []v1alpha1.Chain{n.Spec.Chain}
	for _, p := range n.Spec.Parachains {
		chains = append(chains, p.Chain)
	}
	for _, c := range chains {
		if c.ConfigMap != nil {
			referenced["ConfigMap/"+c.ConfigMap.Name] = true
		}
	}
	checked := 0
	for _, o := range objs {
		sts, ok := o.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		pod := sts.Spec.Template.Spec
		claims := map[string]bool{}
		for _, c := range sts.Spec.VolumeClaimTemplates {
			claims[c.Name] = true
		}
		volumes := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			volumes[v.Name] = v
		}
		binary := pod.Containers[0].Command // the image's own program, which init steps run too
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			for _, p := range readPaths(c, binary) {
				m, ok := mountFor(c.VolumeMounts, p)
				if !ok {
					t.Errorf("%s container %s reads %s, which no volume mount holds (mounts %v)", sts.Name, c.Name, p, c.VolumeMounts)
					continue
				}
				checked++
				if claims[m.Name] {
					continue
				}
				v, ok := volumes[m.Name]
				switch {
				case !ok:
					t.Errorf("%s container %s mounts volume %s, which the pod does not define", sts.Name, c.Name, m.Name)
				case v.Secret != nil:
					if name := "Secret/" + v.Secret.SecretName; !produced[name] && !referenced[name] {
						t.Errorf("%s mounts %s, which neither the render produces nor the spec names", sts.Name, name)
					}
				case v.ConfigMap != nil:
					if name := "ConfigMap/" + v.ConfigMap.Name; !produced[name] && !referenced[name] {
						t.Errorf("%s mounts ConfigMap %s, which the render does not produce", sts.Name, v.ConfigMap.Name)
					}
				case v.EmptyDir != nil:
				case v.DownwardAPI != nil: // the pod's own metadata (node ports)
				default:
					t.Errorf("%s volume %s has a source the test does not know", sts.Name, m.Name)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no path checked")
	}
}

// readPaths are the absolute file paths in a container's arguments and in the words of its
// shell script: everything but the programs in the image and libp2p multiaddrs.
func readPaths(c corev1.Container, programs []string) []string {
	words := slices.Clone(c.Args)
	if len(c.Command) == 3 && c.Command[0] == "/bin/sh" {
		for _, w := range strings.Fields(c.Command[2]) {
			words = append(words, strings.Trim(w, "'"))
		}
	}
	var out []string
	for _, w := range words {
		if _, v, ok := strings.Cut(w, "="); ok && strings.HasPrefix(w, "--") {
			w = v
		}
		if !strings.HasPrefix(w, "/") || w == "/bin/sh" || slices.Contains(programs, w) {
			continue
		}
		// A multiaddr, or one whose prefix the kubelet fills in (a load balancer's address).
		if multiaddr := strings.HasPrefix(w, "/ip4/") || strings.HasPrefix(w, "/ip6/") || strings.HasPrefix(w, "/dns") || strings.HasPrefix(w, "/$("); multiaddr {
			continue
		}
		out = append(out, w)
	}
	return out
}

func mountFor(mounts []corev1.VolumeMount, p string) (corev1.VolumeMount, bool) {
	for _, m := range mounts {
		if p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}
