package operator

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

var storageClaimSpec = polkadotNetwork("seeded", "claims", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
    - name: rpc
      role: rpc
      storageAnnotations: {backup.example.org/policy: hourly}
      storageLabels: {team: api}
      storageSource: {volumeSnapshot: rpc-synced}
`)

// A group's data claims carry storageAnnotations and storageLabels and start from
// storageSource: the API server admits the claims the StatefulSet controller makes from the
// template (a VolumeSnapshot source without the snapshot CRDs installed, and a claim to clone).
// A changed spec reaches the existing claim by a patch that keeps another tool's annotation and
// leaves its source alone, and the StatefulSet is replaced (its template cannot change) with
// its pod kept, so a claim made later starts from the new source.
func TestStorageClaimMetadataAndSource(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "claims")
	ctx := context.Background()
	startOperator(t, cluster, controller.Config{})
	n := createNetwork(t, cl, storageClaimSpec)
	key := client.ObjectKeyFromObject(n)
	claim := func(name string) (*corev1.PersistentVolumeClaim, error) {
		var c corev1.PersistentVolumeClaim
		return &c, cl.Get(ctx, types.NamespacedName{Namespace: "claims", Name: name}, &c)
	}
	var first *corev1.PersistentVolumeClaim
	testenv.Eventually(t, 60*time.Second, "the rpc data claim made from the template", func() (bool, error) {
		var err error
		first, err = claim("data-seeded-rpc-0")
		return err == nil, err
	})
	if d := first.Spec.DataSource; d == nil || d.Kind != "VolumeSnapshot" || d.Name != "rpc-synced" || d.APIGroup == nil || *d.APIGroup != "snapshot.storage.k8s.io" {
		t.Errorf("claim dataSource %+v, want the VolumeSnapshot rpc-synced", d)
	}
	if first.Annotations["backup.example.org/policy"] != "hourly" || first.Labels["team"] != "api" {
		t.Errorf("claim labels %v annotations %v", first.Labels, first.Annotations)
	}
	// Another tool's annotation on the claim, which onf must keep.
	before := first.DeepCopy()
	first.Annotations["velero.io/backup"] = "nightly"
	if err := cl.Patch(ctx, first, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	pod := func() (types.UID, error) {
		var p corev1.Pod
		err := cl.Get(ctx, types.NamespacedName{Namespace: "claims", Name: "seeded-rpc-0"}, &p)
		return p.UID, err
	}
	var podUID types.UID
	testenv.Eventually(t, 60*time.Second, "the rpc pod", func() (bool, error) {
		var err error
		podUID, err = pod()
		return err == nil, err
	})

	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) {
		g := &n.Spec.Groups[1]
		g.StorageAnnotations = map[string]string{"backup.example.org/policy": "daily", "quota.example.org/class": "chain"}
		g.StorageLabels = nil
		g.StorageSource = &v1alpha1.StorageSource{VolumeClaim: "data-seeded-rpc-0"}
	})
	want := map[string]string{
		"backup.example.org/policy": "daily", "quota.example.org/class": "chain", "velero.io/backup": "nightly",
		kube.AnnotationStorageAnnotations: "backup.example.org/policy,quota.example.org/class",
	}
	testenv.Eventually(t, 60*time.Second, "the existing claim's annotations changed, its label gone", func() (bool, error) {
		c, err := claim("data-seeded-rpc-0")
		if err != nil {
			return false, err
		}
		got := maps.Clone(c.Annotations)
		maps.DeleteFunc(got, func(k, _ string) bool { _, ok := want[k]; return !ok && k != kube.AnnotationStorageLabels })
		_, labelled := c.Labels["team"]
		return maps.Equal(got, want) && !labelled, fmt.Errorf("labels %v annotations %v", c.Labels, c.Annotations)
	})
	if c, err := claim("data-seeded-rpc-0"); err != nil || c.Spec.DataSource == nil || c.Spec.DataSource.Name != "rpc-synced" {
		t.Errorf("the existing claim's source changed: %v %+v", err, c.Spec.DataSource)
	}
	testenv.Eventually(t, 60*time.Second, "the StatefulSet's claim template from the new spec", func() (bool, error) {
		var sts appsv1.StatefulSet
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "claims", Name: "seeded-rpc"}, &sts); err != nil {
			return false, err
		}
		tmpl := sts.Spec.VolumeClaimTemplates[0]
		d := tmpl.Spec.DataSource
		return d != nil && d.Kind == "PersistentVolumeClaim" && tmpl.Annotations["quota.example.org/class"] == "chain",
			fmt.Errorf("template annotations %v source %+v", tmpl.Annotations, d)
	})
	if uid, err := pod(); err != nil || uid != podUID {
		t.Errorf("the rpc pod was made anew by the replacement: %v (%s, before %s)", err, uid, podUID)
	}

	// A claim made now clones the existing one.
	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[1].Replicas = new(int32(2)) })
	testenv.Eventually(t, 60*time.Second, "the second rpc claim, a clone", func() (bool, error) {
		c, err := claim("data-seeded-rpc-1")
		if err != nil {
			return false, err
		}
		d := c.Spec.DataSource
		return d != nil && d.Kind == "PersistentVolumeClaim" && d.Name == "data-seeded-rpc-0" && c.Annotations["quota.example.org/class"] == "chain",
			fmt.Errorf("source %+v annotations %v", d, c.Annotations)
	})
}
