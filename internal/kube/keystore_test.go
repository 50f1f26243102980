package kube

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// TestKeystoreClaimApartFromData renders every example and test spec with every key source
// a cluster takes and checks each signing StatefulSet: the keystore is a volume claim of its
// own (it outlives the pod), not the data claim and not in memory; no container mounts it
// inside the data volume or the data volume inside it (a backup or snapshot of the data
// volume can never hold a session key); every container that mounts the data volume mounts
// it at the data directory only. A gossamer pod (keystore in memory) carries the start hook
// that inserts its keystore volume's keys again, naming no secret, and the annotation
// `onf keys` reads; a polkadot-sdk pod (keystore on disk) has neither.
func TestKeystoreClaimApartFromData(t *testing.T) {
	for _, spec := range clusterSpecs(t) {
		for _, source := range []string{"dev", "secret"} {
			t.Run(filepath.Base(spec)+"/"+source, func(t *testing.T) {
				n, signing := specWithKeys(t, spec, source)
				if signing < 0 {
					t.Skip("no signing group")
				}
				objs, err := Desired(n, testKeys(t, n), Options{})
				if err != nil {
					if n.Spec.Node.Flavor == v1alpha1.FlavorGossamer && source == "secret" {
						return // gossamer takes dev keys only
					}
					t.Fatal(err)
				}
				checked := 0
				for _, o := range objs {
					sts, ok := o.(*appsv1.StatefulSet)
					if !ok || !signingSet(sts) {
						continue
					}
					checked++
					checkKeystore(t, n.Spec.Node.Flavor, sts)
				}
				if checked == 0 {
					t.Fatal("no signing StatefulSet rendered")
				}
			})
		}
	}
}

func signingSet(sts *appsv1.StatefulSet) bool {
	r := v1alpha1.Role(sts.Spec.Template.Labels[LabelRole])
	return r == v1alpha1.RoleValidator || r == v1alpha1.RoleCollator
}

func checkKeystore(t *testing.T, f v1alpha1.Flavor, sts *appsv1.StatefulSet) {
	t.Helper()
	claims := map[string]bool{}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		claims[c.Name] = true
	}
	if !claims[volumeKeystore] || !claims[volumeData] {
		t.Fatalf("%s: volume claims %v, want %s and %s apart", sts.Name, claims, volumeData, volumeKeystore)
	}
	pod := sts.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.Name == volumeKeystore {
			t.Errorf("%s: the keystore is a pod volume (%+v): it goes with the pod", sts.Name, v.VolumeSource)
		}
	}
	inside := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") }
	for _, c := range append(append([]corev1.Container(nil), pod.InitContainers...), pod.Containers...) {
		var data, keystore []string
		for _, m := range c.VolumeMounts {
			switch m.Name {
			case volumeData:
				data = append(data, m.MountPath)
			case volumeKeystore:
				keystore = append(keystore, m.MountPath)
			}
		}
		for _, k := range keystore {
			for _, d := range data {
				if inside(k, d) || inside(d, k) {
					t.Errorf("%s container %s: keystore at %s and data at %s overlap", sts.Name, c.Name, k, d)
				}
			}
		}
		if c.Name == containerName && len(keystore) != 1 {
			t.Errorf("%s: the node mounts its keystore at %v, want once", sts.Name, keystore)
		}
	}
	node := pod.Containers[0]
	hook := node.Lifecycle != nil && node.Lifecycle.PostStart != nil && node.Lifecycle.PostStart.Exec != nil
	restore := sts.Spec.Template.Annotations[AnnotationKeystoreRestore]
	if f != v1alpha1.FlavorGossamer {
		if hook || restore != "" {
			t.Errorf("%s: a %s node keeps its keystore on disk, yet has the restore hook (%v) or annotation %q", sts.Name, f, hook, restore)
		}
		return
	}
	if !hook || restore != keystoreDir {
		t.Fatalf("%s: gossamer pod without the keystore restore hook (%v) or annotation (%q)", sts.Name, hook, restore)
	}
	script := strings.Join(node.Lifecycle.PostStart.Exec.Command, " ")
	for _, want := range []string{"--post-file", "'" + keystoreDir + "'/*.json", "http://127.0.0.1:"} {
		if !strings.Contains(script, want) {
			t.Errorf("%s: restore hook lacks %q:\n%s", sts.Name, want, script)
		}
	}
}
