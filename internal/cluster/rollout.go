package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/rollout"
)

// Rollouts are the network's canary rollouts as the operator last reported them, and whether
// it has applied the network's latest spec (`onf rollout status`).
func (c *Client) Rollouts(ctx context.Context, name string) ([]v1alpha1.RolloutStatus, bool, error) {
	n, err := c.network(ctx, name)
	if err != nil {
		return nil, false, err
	}
	return n.Status.Rollouts, n.Status.ObservedGeneration >= n.Generation, nil
}

// SetRolloutPaused sets spec.groups[].upgrade.paused of the group ("" every group with an
// upgrade): the operator holds the rollout at its current step, or carries on.
func (c *Client) SetRolloutPaused(ctx context.Context, name, group string, paused bool) error {
	return c.editUpgrades(ctx, name, group, func(i int, _ *v1alpha1.NodeGroup, _ *v1alpha1.RolloutStatus) []map[string]any {
		return []map[string]any{{"op": "add", "path": fmt.Sprintf("/spec/groups/%d/upgrade/paused", i), "value": paused}}
	})
}

// UndoRollout sets each group's image in the spec back to its last rollout's previous one.
func (c *Client) UndoRollout(ctx context.Context, name, group string) error {
	return c.editUpgrades(ctx, name, group, func(i int, g *v1alpha1.NodeGroup, st *v1alpha1.RolloutStatus) []map[string]any {
		switch {
		case st == nil:
			return nil
		case g.Node == nil:
			return []map[string]any{{"op": "add", "path": fmt.Sprintf("/spec/groups/%d/node", i), "value": map[string]any{"image": st.From}}}
		}
		return []map[string]any{{"op": "add", "path": fmt.Sprintf("/spec/groups/%d/node/image", i), "value": st.From}}
	})
}

// AbortRollout asks the operator to roll back the group's running rollout ("" every group):
// an annotation that aborts the rollouts started no later than the newest one running now
// (rollout.AbortAnnotation). Naming that start, not the time of the request, keeps a rollout
// that a pipeline starts right after the abort (in the same second) from being aborted too.
func (c *Client) AbortRollout(ctx context.Context, name, group string) error {
	n, err := c.network(ctx, name)
	if err != nil {
		return err
	}
	var newest time.Time
	for _, st := range n.Status.Rollouts {
		running := st.Phase == v1alpha1.RolloutProgressing || st.Phase == v1alpha1.RolloutPaused
		if running && (group == "" || st.Group == group) && st.Started.After(newest) {
			newest = st.Started.Time
		}
	}
	if newest.IsZero() {
		return fmt.Errorf("network %s has no rollout in progress to abort", name)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		rollout.AbortAnnotation: rollout.AbortRequest(group, newest),
	}}})
	if err != nil {
		return err
	}
	if err := c.kube.Patch(ctx, n, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("abort the rollouts of network %s: %w", name, err)
	}
	return nil
}

// editUpgrades patches the spec of the groups with an upgrade (the one named, or all) with the
// JSON patch operations edit gives for group i and its rollout, each guarded by the group's
// name (the spec may have changed since it was read).
func (c *Client) editUpgrades(ctx context.Context, name, group string, edit func(i int, g *v1alpha1.NodeGroup, st *v1alpha1.RolloutStatus) []map[string]any) error {
	n, err := c.network(ctx, name)
	if err != nil {
		return err
	}
	var ops []map[string]any
	err = rollout.EachUpgradable(name, &n.Spec, n.Status.Rollouts, group, func(i int, g *v1alpha1.NodeGroup, st *v1alpha1.RolloutStatus) {
		if more := edit(i, g, st); len(more) > 0 {
			ops = append(ops, map[string]any{"op": "test", "path": fmt.Sprintf("/spec/groups/%d/name", i), "value": g.Name})
			ops = append(ops, more...)
		}
	})
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	raw, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	if err := c.kube.Patch(ctx, n, client.RawPatch(types.JSONPatchType, raw)); err != nil {
		return fmt.Errorf("change the rollouts of network %s: %w", name, err)
	}
	return nil
}
