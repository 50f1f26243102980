package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/kube"
)

// Restart is `onf restart` of a node in a cluster: it deletes the node's pod, which the
// group's StatefulSet makes anew under the same name with the same claims (data, keystore,
// node key), and waits until the new pod (another UID) is Ready.
func (c *Client) Restart(ctx context.Context, name, node string, timeout time.Duration) error {
	p, err := c.pod(ctx, name, node)
	if err != nil {
		return err
	}
	old := p.UID
	// The UID precondition deletes this pod only, never a replacement made in between.
	if err := c.kube.Delete(ctx, p, client.Preconditions(metav1.Preconditions{UID: &old})); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("node %s of network %s: delete pod %s: %w", node, name, p.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var np corev1.Pod
		err := c.kube.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: p.Name}, &np)
		switch {
		case err == nil && np.UID != old && kube.PodReady(&np):
			return nil
		case err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil:
			return fmt.Errorf("node %s of network %s: %w", node, name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s of network %s: pod %s deleted, its replacement not Ready within %s", node, name, p.Name, timeout)
		case <-time.After(time.Second):
		}
	}
}
