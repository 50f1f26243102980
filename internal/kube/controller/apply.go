package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/kube"
)

// AnnotationHash records the hash of the desired object an object was last applied from.
const AnnotationHash = "onf.dinfra.dev/applied-hash"

// FieldOwner is the operator's server-side apply field manager.
const FieldOwner = "onf-operator"

// apply makes the live object match desired with a server-side apply, unless the live object
// was applied from the same desired object already: a reconcile that finds nothing to change
// writes nothing. It returns the desired object's hash, and whether it skipped an apply only
// because the cache does not show this process's last apply yet (the caller checks again
// later).
func (r *Reconciler) apply(ctx context.Context, desired client.Object) (hash string, waiting bool, err error) {
	m, err := kube.Clean(desired)
	if err != nil {
		return "", false, err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", false, err
	}
	sum := sha256.Sum256(raw)
	hash = hex.EncodeToString(sum[:16])

	u := &unstructured.Unstructured{Object: m}
	live, err := r.newObject(u)
	if err != nil {
		return "", false, err
	}
	key := u.GetNamespace() + "/" + objectID(desired)
	err = r.Client.Get(ctx, client.ObjectKeyFromObject(desired), live)
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		return "", false, fmt.Errorf("read %s %s: %w", u.GetKind(), u.GetName(), err)
	case err == nil && live.GetAnnotations()[AnnotationHash] == hash:
		r.expect.observed(key)
		if sts, ok := live.(*appsv1.StatefulSet); ok {
			remain, err := r.renewPodsWithoutClaims(ctx, sts)
			return hash, remain, err
		}
		return hash, false, nil
	case r.expect.pending(key, hash):
		return hash, true, nil
	case err == nil:
		if replacing, err := r.replaceStatefulSet(ctx, live, desired); replacing || err != nil {
			return hash, true, err
		}
	}
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationHash] = hash
	u.SetAnnotations(annotations)
	if err := r.Client.Patch(ctx, u, client.Apply, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return "", false, fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	r.expect.applied(key, hash)
	return hash, false, nil
}

// newObject returns an empty typed object of u's kind (read through the cache), or an
// unstructured one for kinds the scheme does not know (ServiceMonitor).
func (r *Reconciler) newObject(u *unstructured.Unstructured) (client.Object, error) {
	gvk := u.GroupVersionKind()
	if o, err := r.Scheme.New(gvk); err == nil {
		if co, ok := o.(client.Object); ok {
			return co, nil
		}
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	return live, nil
}
