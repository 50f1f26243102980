package controller

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
)

// labelClaims keeps each existing data claim's labels and annotations in line with its
// group's storageLabels and storageAnnotations (claims made later get them from the
// StatefulSet's claim template). Only what onf set is ever removed.
func (r *Reconciler) labelClaims(ctx context.Context, n *v1alpha1.SubstrateNetwork) error {
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		claims, err := r.dataClaims(ctx, n, g.Name)
		if err != nil {
			return err
		}
		for _, c := range claims {
			before := c.DeepCopy()
			if !kube.SetDataClaimMetadata(&c.ObjectMeta, g) {
				continue
			}
			if err := r.Client.Patch(ctx, c, client.MergeFrom(before)); err != nil {
				return fmt.Errorf("set labels and annotations of data volume %s: %w", c.Name, err)
			}
		}
	}
	return nil
}
