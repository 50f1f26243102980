package controller

import (
	"cmp"
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
)

// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get

// A StatefulSet's claim templates only shape claims it has yet to make: a group's existing
// data volumes grow by a patch of each claim's request, which the StorageClass's provisioner
// then carries out. Volumes never shrink and never change class, so those changes are refused
// by field path before anything is applied.

// claimGrowth is one data claim to patch to a larger request.
type claimGrowth struct {
	claim *corev1.PersistentVolumeClaim
	size  resource.Quantity
}

// storageChanges returns the data claims of n's groups that must grow to their group's size
// (and the relay-data claims of parachain groups to their relay.storage),
// or an *invalidError when the spec asks for what volumes cannot do: shrink, change class,
// or grow on a class without volume expansion.
func (r *Reconciler) storageChanges(ctx context.Context, n *v1alpha1.SubstrateNetwork) ([]claimGrowth, error) {
	var grow []claimGrowth
	classes := map[string]*storagev1.StorageClass{}
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		at := fmt.Sprintf("spec.groups[%d].", i)
		size, err := kube.StorageSize(g)
		if err != nil {
			return nil, &invalidError{fmt.Errorf("%sstorage: %w", at, err)}
		}
		claims, err := r.dataClaims(ctx, n, g.Name)
		if err != nil {
			return nil, err
		}
		more, err := r.claimChanges(ctx, classes, claims, size, g.StorageClassName, at, "data volume")
		if err != nil {
			return nil, err
		}
		grow = append(grow, more...)
		if j, p := parachainOf(n, g); p != nil && p.Relay.Storage != "" {
			// The relay-data volumes (kube.IsRelayDataClaim) follow relay.storage alike.
			claims, err := r.groupClaims(ctx, n, g.Name, kube.IsRelayDataClaim)
			if err != nil {
				return nil, err
			}
			size, err := resource.ParseQuantity(p.Relay.Storage)
			if err != nil {
				return nil, &invalidError{fmt.Errorf("spec.parachains[%d].relay.storage: %w", j, err)}
			}
			more, err := r.claimChanges(ctx, classes, claims, size, cmp.Or(p.Relay.StorageClassName, g.StorageClassName), fmt.Sprintf("spec.parachains[%d].relay.", j), "relay-data volume")
			if err != nil {
				return nil, err
			}
			grow = append(grow, more...)
		}
	}
	return grow, nil
}

// parachainOf is the parachain of a group's nodes and its index, or nil.
func parachainOf(n *v1alpha1.SubstrateNetwork, g *v1alpha1.NodeGroup) (int, *v1alpha1.Parachain) {
	for j := range n.Spec.Parachains {
		if g.Parachain != "" && n.Spec.Parachains[j].Name == g.Parachain {
			return j, &n.Spec.Parachains[j]
		}
	}
	return 0, nil
}

// claimChanges returns the claims that must grow to size, refusing by the fields under at
// (storage, storageClassName) a shrink, a class change, or growth the class cannot do; what
// names the kind of volume in the refusal.
func (r *Reconciler) claimChanges(ctx context.Context, classes map[string]*storagev1.StorageClass, claims []*corev1.PersistentVolumeClaim, size resource.Quantity, wantClass, at, what string) ([]claimGrowth, error) {
	var grow []claimGrowth
	for _, c := range claims {
		class := ptrOr(c.Spec.StorageClassName, "")
		if wantClass != "" && class != wantClass {
			return nil, &invalidError{fmt.Errorf("%sstorageClassName: %s %s has class %q and a volume's class cannot change; keep %q, or move the data with a backup and restoreFrom (docs/backup.md)", at, what, c.Name, class, class)}
		}
		have := c.Spec.Resources.Requests[corev1.ResourceStorage]
		switch have.Cmp(size) {
		case 1:
			if c.Annotations[AnnotationGrownFrom] != "" {
				continue // grown by storageGrowth beyond the spec: not a shrink request
			}
			return nil, &invalidError{fmt.Errorf("%sstorage: %s %s holds %s and volumes cannot shrink; set storage to at least %s", at, what, c.Name, have.String(), have.String())}
		case 0:
			continue
		}
		if c.Status.Phase != corev1.ClaimBound {
			continue // the API server resizes bound claims only; a later reconcile grows it
		}
		if err := r.expandable(ctx, classes, class); err != nil {
			return nil, &invalidError{fmt.Errorf("%sstorage: %s %s cannot grow from %s to %s: %w", at, what, c.Name, have.String(), size.String(), err)}
		}
		grow = append(grow, claimGrowth{claim: c, size: size})
	}
	return grow, nil
}

// expandable says why volumes of class cannot grow, or nil when they can.
func (r *Reconciler) expandable(ctx context.Context, seen map[string]*storagev1.StorageClass, class string) error {
	if class == "" {
		return fmt.Errorf("it has no StorageClass; only dynamically provisioned volumes grow")
	}
	sc, ok := seen[class]
	if !ok {
		sc = &storagev1.StorageClass{}
		// Read directly: StorageClasses are cluster objects the namespaced cache does not hold.
		reader := r.APIReader
		if reader == nil {
			reader = r.Client
		}
		if err := reader.Get(ctx, client.ObjectKey{Name: class}, sc); err != nil {
			return fmt.Errorf("StorageClass %s: %w", class, err)
		}
		seen[class] = sc
	}
	if sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
		return fmt.Errorf("StorageClass %s does not allow volume expansion (allowVolumeExpansion)", class)
	}
	return nil
}

// growClaims patches each claim's storage request; the provisioner grows the volume and the
// kubelet the file system, while the node keeps running.
func (r *Reconciler) growClaims(ctx context.Context, grow []claimGrowth) error {
	for _, g := range grow {
		before := g.claim.DeepCopy()
		g.claim.Spec.Resources.Requests[corev1.ResourceStorage] = g.size
		if err := r.Client.Patch(ctx, g.claim, client.MergeFrom(before)); err != nil {
			return fmt.Errorf("grow data volume %s to %s: %w", g.claim.Name, g.size.String(), err)
		}
		r.log().Info("growing a data volume", "namespace", g.claim.Namespace, "claim", g.claim.Name, "from", before.Spec.Resources.Requests.Storage().String(), "to", g.size.String())
	}
	return nil
}
