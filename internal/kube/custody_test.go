package kube

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
)

// TestRenderedManifestsHoldNoSecret is the custody scan of the cluster path's manifests
// (what `onf render` prints and the operator applies), for every example and test spec with
// every key source a cluster takes: no node key seed or private key outside its Secret, no
// secret in any environment variable, every Secret volume mounted 0400, and the session
// keys' Secret (secret URIs) mounted in the init step only, never in the node's container.
func TestRenderedManifestsHoldNoSecret(t *testing.T) {
	for _, spec := range clusterSpecs(t) {
		for _, source := range []string{"dev", "secret"} {
			t.Run(filepath.Base(spec)+"/"+source, func(t *testing.T) {
				n, _ := specWithKeys(t, spec, source)
				keys := testKeys(t, n)
				objs, err := Desired(n, keys, Options{GatewayImage: "registry.example.org/onf:1"})
				if err != nil {
					if n.Spec.Node.Flavor == v1alpha1.FlavorGossamer && source == "secret" {
						return // refused: gossamer takes dev keys only
					}
					t.Fatal(err)
				}
				for _, o := range objs {
					if _, ok := o.(*corev1.Secret); ok {
						continue // where node keys belong
					}
					b, err := yaml.Marshal(o)
					if err != nil {
						t.Fatal(err)
					}
					for name, k := range keys {
						if strings.Contains(string(b), k.SeedHex()) || strings.Contains(string(b), k.PrivateKeyHex()) {
							t.Errorf("%s %s holds the node key of %s", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), name)
						}
					}
					if sts, ok := o.(*appsv1.StatefulSet); ok {
						checkPodCustody(t, sts.Name, &sts.Spec.Template.Spec)
					}
				}
			})
		}
	}
}

func checkPodCustody(t *testing.T, name string, pod *corev1.PodSpec) {
	t.Helper()
	for _, v := range pod.Volumes {
		if s := v.Secret; s != nil && (s.DefaultMode == nil || *s.DefaultMode != 0o400) {
			t.Errorf("%s: Secret volume %s mode %v, want 0400", name, v.Name, s.DefaultMode)
		}
	}
	all := append(append([]corev1.Container(nil), pod.InitContainers...), pod.Containers...)
	for _, c := range all {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				t.Errorf("%s: container %s has a secret in its environment (%s)", name, c.Name, e.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				t.Errorf("%s: container %s has a Secret in its environment", name, c.Name)
			}
		}
	}
	for _, c := range pod.Containers {
		for _, m := range c.VolumeMounts {
			if m.Name == volumeKeys {
				t.Errorf("%s: the node's container %s mounts the secret URIs", name, c.Name)
			}
		}
	}
}
