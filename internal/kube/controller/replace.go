package controller

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/kube"
)

// immutableChange names the StatefulSet field that differs between live and desired and that
// the API server refuses to change in place (volume claim templates, selector, service name,
// pod management policy), or returns "" when none does. A network made by an earlier operator
// version meets this when a release adds a volume claim (the keystore's, for one).
func immutableChange(live, desired *appsv1.StatefulSet) string {
	claims := func(s *appsv1.StatefulSet) []string {
		names := make([]string, len(s.Spec.VolumeClaimTemplates))
		for i, c := range s.Spec.VolumeClaimTemplates {
			names[i] = c.Name
		}
		slices.Sort(names)
		return names
	}
	switch {
	case !slices.Equal(claims(live), claims(desired)):
		return fmt.Sprintf("volume claims %v, want %v", claims(live), claims(desired))
	case !slices.Equal(claimShapes(live), claimShapes(desired)):
		// spec.groups[].storage or storageClassName changed; the claims themselves are
		// grown by a patch (storage.go).
		return fmt.Sprintf("volume claims %v, want %v", claimShapes(live), claimShapes(desired))
	case !equality.Semantic.DeepEqual(live.Spec.Selector, desired.Spec.Selector):
		return "its selector differs"
	case live.Spec.ServiceName != desired.Spec.ServiceName:
		return fmt.Sprintf("service name %q, want %q", live.Spec.ServiceName, desired.Spec.ServiceName)
	case desired.Spec.PodManagementPolicy != "" && live.Spec.PodManagementPolicy != desired.Spec.PodManagementPolicy:
		return fmt.Sprintf("pod management policy %s, want %s", live.Spec.PodManagementPolicy, desired.Spec.PodManagementPolicy)
	}
	return ""
}

// replaceStatefulSet deletes live so that a later reconcile creates it as desired, when the
// difference is one the API server will not apply in place. The delete orphans: pods and
// their claims keep running (a validator keeps signing, chain data stays); the new
// StatefulSet adopts them by their labels, and renewPodsWithoutClaims makes them anew one at
// a time. It reports whether live was (or is being) replaced; the caller then waits.
func (r *Reconciler) replaceStatefulSet(ctx context.Context, live, desired client.Object) (bool, error) {
	ls, ok := live.(*appsv1.StatefulSet)
	ds, ok2 := desired.(*appsv1.StatefulSet)
	if !ok || !ok2 {
		return false, nil
	}
	if ls.DeletionTimestamp != nil {
		return true, nil // an earlier replacement still on its way
	}
	why := immutableChange(ls, ds)
	if why == "" {
		return false, nil
	}
	r.log().Info("replacing a StatefulSet whose fields cannot change in place; its pods stay", "namespace", ls.Namespace, "name", ls.Name, "why", why)
	err := r.Client.Delete(ctx, ls, client.PropagationPolicy(metav1.DeletePropagationOrphan), client.Preconditions{UID: &ls.UID})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("replace StatefulSet %s (%s): %w", ls.Name, why, err)
	}
	return true, nil
}

// claimShapes are a StatefulSet's claim templates with their sizes, classes, sources,
// labels and annotations, sorted.
func claimShapes(s *appsv1.StatefulSet) []string {
	shapes := make([]string, len(s.Spec.VolumeClaimTemplates))
	for i, c := range s.Spec.VolumeClaimTemplates {
		class := ""
		if c.Spec.StorageClassName != nil {
			class = " class " + *c.Spec.StorageClassName
		}
		if d := c.Spec.DataSource; d != nil {
			class += " from " + d.Kind + " " + d.Name
		}
		if len(c.Labels)+len(c.Annotations) > 0 {
			class += fmt.Sprintf(" labels %v annotations %v", c.Labels, c.Annotations)
		}
		shapes[i] = c.Name + " " + c.Spec.Resources.Requests.Storage().String() + class
	}
	slices.Sort(shapes)
	return shapes
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=delete

// renewPodsWithoutClaims deletes a pod of sts that lacks the volume of one of its claim
// templates (a pod adopted from a replaced StatefulSet), one at a time and only while every
// other pod of sts is ready: the StatefulSet controller cannot add a volume to a running pod
// (it tries, is refused, and goes no further), so such a pod must be made anew. It reports
// whether one remains.
func (r *Reconciler) renewPodsWithoutClaims(ctx context.Context, sts *appsv1.StatefulSet) (bool, error) {
	if len(sts.Spec.VolumeClaimTemplates) == 0 || sts.Spec.Selector == nil {
		return false, nil
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(sts.Namespace), client.MatchingLabels(sts.Spec.Selector.MatchLabels)); err != nil {
		return false, fmt.Errorf("list pods of StatefulSet %s: %w", sts.Name, err)
	}
	var stale *corev1.Pod
	settled := true
	for i := range pods.Items {
		p := &pods.Items[i]
		if lacksClaim(p, sts) && stale == nil {
			stale = p
			continue
		}
		settled = settled && p.DeletionTimestamp == nil && kube.PodReady(p)
	}
	if stale == nil || !settled || stale.DeletionTimestamp != nil {
		return stale != nil, nil
	}
	r.log().Info("renewing a pod without its StatefulSet's volume claims", "namespace", stale.Namespace, "pod", stale.Name)
	err := r.Client.Delete(ctx, stale, client.Preconditions{UID: &stale.UID})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return true, fmt.Errorf("renew pod %s: %w", stale.Name, err)
	}
	return true, nil
}

// lacksClaim reports whether pod p has no volume for one of sts's claim templates (the
// StatefulSet controller names a pod's claim volume after its template).
func lacksClaim(p *corev1.Pod, sts *appsv1.StatefulSet) bool {
	for _, c := range sts.Spec.VolumeClaimTemplates {
		if !slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.Name }) {
			return true
		}
	}
	return false
}
