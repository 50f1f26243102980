package operator

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/testenv"
)

// A validator StatefulSet made by an operator from before the keystore claim (claims cannot
// change in place: the API server refuses the apply) is replaced rather than left failing:
// the operator deletes it orphaning its pod, creates it anew with the keystore claim, and the
// pod comes back on the new template with the same chain data claim. Pods are kwok's (fake
// kubelet); the StatefulSet controller and garbage collector are the real ones.
func TestStatefulSetWithOldClaimsReplaced(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "retention")
	ctx := context.Background()
	n := createNetwork(t, cl, retentionSpec) // its validator group is the one an old operator made
	ns := n.Namespace

	// What the earlier operator made: the same StatefulSet without the keystore claim.
	old := oldValidatorSet(t, n)
	if err := cl.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	pod := types.NamespacedName{Namespace: ns, Name: old.Name + "-0"}
	claim := types.NamespacedName{Namespace: ns, Name: "data-" + old.Name + "-0"}
	var data corev1.PersistentVolumeClaim
	testenv.Eventually(t, time.Minute, "the old StatefulSet's pod and data claim", func() (bool, error) {
		var p corev1.Pod
		if err := cl.Get(ctx, pod, &p); err != nil {
			return false, err
		}
		return true, cl.Get(ctx, claim, &data)
	})

	startOperator(t, cluster, controller.Config{Workers: 2})
	testenv.Eventually(t, time.Minute, "the StatefulSet made anew with the keystore claim", func() (bool, error) {
		var sts appsv1.StatefulSet
		if err := cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: old.Name}, &sts); err != nil {
			return false, err
		}
		names := claimNames(&sts)
		return sts.UID != old.UID && slices.Contains(names, "keystore"), fmt.Errorf("claims %v, uid %s", names, sts.UID)
	})
	testenv.Eventually(t, time.Minute, "the pod on the new template, ready, on the same data claim", func() (bool, error) {
		var p corev1.Pod
		if err := cl.Get(ctx, pod, &p); err != nil {
			return false, err
		}
		var keystore, ready bool
		for _, v := range p.Spec.Volumes {
			keystore = keystore || v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "keystore-"+pod.Name
		}
		for _, c := range p.Status.Conditions {
			ready = ready || c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		}
		return keystore && ready, fmt.Errorf("keystore claim mounted: %v, ready: %v", keystore, ready)
	})
	var now corev1.PersistentVolumeClaim
	if err := cl.Get(ctx, claim, &now); err != nil || now.UID != data.UID {
		t.Errorf("data claim after the replacement: %v %v, want the same claim %s", now.UID, err, data.UID)
	}
}

// oldValidatorSet is n's validator StatefulSet as an operator without the keystore claim
// built it: no keystore claim template and no mount of it.
func oldValidatorSet(t *testing.T, n *v1alpha1.SubstrateNetwork) *appsv1.StatefulSet {
	t.Helper()
	net := n.DeepCopy()
	network.Default(net)
	keys, err := kube.PlaceholderKeys(net)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kube.Desired(net, keys, kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		sts, ok := o.(*appsv1.StatefulSet)
		if !ok || sts.Name != kube.GroupName(n.Name, "validator") {
			continue
		}
		sts.Spec.VolumeClaimTemplates = slices.DeleteFunc(sts.Spec.VolumeClaimTemplates, func(c corev1.PersistentVolumeClaim) bool { return c.Name == "keystore" })
		spec := &sts.Spec.Template.Spec
		for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
			for i := range list {
				list[i].VolumeMounts = slices.DeleteFunc(list[i].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "keystore" })
			}
		}
		return sts
	}
	t.Fatal("no validator StatefulSet built")
	return nil
}

func claimNames(s *appsv1.StatefulSet) []string {
	var names []string
	for _, c := range s.Spec.VolumeClaimTemplates {
		names = append(names, c.Name)
	}
	return names
}
