package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodAnnotation is the value of annotation key on the node's pod ("" when it has none).
func (c *Client) PodAnnotation(ctx context.Context, name, node, key string) (string, error) {
	p, err := c.pod(ctx, name, node)
	if err != nil {
		return "", err
	}
	return p.Annotations[key], nil
}

// AnnotatePod sets annotation key of the node's pod to value, or removes it when value is
// "". The annotation goes with the pod: a pod made again starts without it.
func (c *Client) AnnotatePod(ctx context.Context, name, node, key, value string) error {
	p, err := c.pod(ctx, name, node)
	if err != nil {
		return err
	}
	var v any // a JSON null removes the key in a merge patch
	if value != "" {
		v = value
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: v}}})
	if err != nil {
		return err
	}
	if _, err := c.core.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotate pod %s: %w", p.Name, err)
	}
	return nil
}
