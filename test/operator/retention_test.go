package operator

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

var retentionSpec = polkadotNetwork("keep", "retention", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
    - name: rpc
      role: rpc
    - name: scratch
      role: full
      storageRetention: Delete
`)

// Deleting a network keeps its chain data by default: the real StatefulSet controller and
// garbage collector delete the StatefulSets and pods, the claims of Retain groups stay, the
// claims of a Delete group go; a network of the same name adopts the kept claims again (same
// claim, same UID).
func TestVolumesOutliveTheNetwork(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "retention")
	ctx := context.Background()
	startOperator(t, cluster, controller.Config{Workers: 2})
	claim := func(group string) types.NamespacedName {
		return types.NamespacedName{Namespace: "retention", Name: "data-" + kube.GroupName("keep", group) + "-0"}
	}
	getClaim := func(group string) (*corev1.PersistentVolumeClaim, error) {
		var pvc corev1.PersistentVolumeClaim
		return &pvc, cl.Get(ctx, claim(group), &pvc)
	}
	createNetwork(t, cl, retentionSpec)
	// The StatefulSet controller makes a claim per pod and, for a Delete group only, makes the
	// StatefulSet its owner.
	testenv.Eventually(t, 60*time.Second, "a claim per group, owned by its StatefulSet for the Delete group", func() (bool, error) {
		for _, g := range []string{"validator", "rpc", "scratch"} {
			pvc, err := getClaim(g)
			if err != nil {
				return false, err
			}
			if owned := len(pvc.OwnerReferences) > 0; owned != (g == "scratch") {
				return false, fmt.Errorf("claim of %s: owners %+v", g, pvc.OwnerReferences)
			}
		}
		return true, nil
	})
	kept, _ := getClaim("rpc")

	if err := cl.Delete(ctx, parseNetwork(t, retentionSpec)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "the network's workloads collected and its Delete claims gone", func() (bool, error) {
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace("retention"), client.MatchingLabels{kube.LabelNetwork: "keep"}); err != nil {
			return false, err
		}
		// Deleted, or being deleted: the pvc-protection finalizer holds a claim until its
		// controller (not run by kubetest) lets go.
		pvc, err := getClaim("scratch")
		gone := err != nil || pvc.DeletionTimestamp != nil
		return len(pods.Items) == 0 && gone, fmt.Errorf("%d pods left, scratch claim deleted: %v", len(pods.Items), gone)
	})
	// The garbage collector has had its pass: the Retain claims are still there, unowned.
	for _, g := range []string{"validator", "rpc"} {
		pvc, err := getClaim(g)
		if err != nil {
			t.Fatalf("claim of %s deleted with the network: %v", g, err)
		}
		if len(pvc.OwnerReferences) != 0 || pvc.DeletionTimestamp != nil {
			t.Errorf("claim of %s is owned or being deleted: %+v", g, pvc.ObjectMeta)
		}
	}

	// Re-adoption: the same network again uses the same claim.
	createNetwork(t, cl, retentionSpec)
	testenv.Eventually(t, 60*time.Second, "the new rpc pod on the kept claim", func() (bool, error) {
		var pod corev1.Pod
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "retention", Name: kube.GroupName("keep", "rpc") + "-0"}, &pod); err != nil {
			return false, err
		}
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim("rpc").Name {
				return true, nil
			}
		}
		return false, fmt.Errorf("pod volumes %+v", pod.Spec.Volumes)
	})
	if pvc, err := getClaim("rpc"); err != nil || pvc.UID != kept.UID {
		t.Errorf("rpc claim after re-creating the network: %v %v, want the kept claim %s", pvc.UID, err, kept.UID)
	}
}
