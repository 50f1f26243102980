package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/network"
)

// restoreTarget is what RestoreNode works on: the node's pod and its data claim.
type restoreTarget struct {
	net        *v1alpha1.SubstrateNetwork
	pod, claim string
}

// CheckRestore refuses, before anything changes, a restore `onf backup restore` must not do
// on a cluster: a network without spec.backup, a node the network has not, a signing or
// boot node (only full, archive and rpc nodes are backed up or restored: the others get
// their keys and peers, never a backup's data), a group whose new volumes start from a
// storageSource (not empty: nothing would be restored), and a group whose pods do not read restore
// requests yet (an operator that has not rendered them: wiping the claim would sync the node
// from genesis instead).
func (c *Client) CheckRestore(ctx context.Context, name, node string) error {
	_, err := c.restoreTarget(ctx, name, node)
	return err
}

func (c *Client) restoreTarget(ctx context.Context, name, node string) (*restoreTarget, error) {
	n, err := c.network(ctx, name)
	if err != nil {
		return nil, err
	}
	if _, err := backupOf(n); err != nil {
		return nil, err
	}
	pod, err := podOf(n, node)
	if err != nil {
		return nil, err
	}
	refs := nodes(n)
	d := n.DeepCopy() // the group's role, defaulted
	network.Default(d)
	g := network.FindGroup(&d.Spec, refs[slices.IndexFunc(refs, func(r network.NodeRef) bool { return r.Name == node })].Group)
	switch g.Role {
	case v1alpha1.RoleFull, v1alpha1.RoleArchive, v1alpha1.RoleRPC:
	default:
		return nil, fmt.Errorf("node %s is a %s node: restore a full, archive or rpc node (a signing or boot node gets its keys and peers, never a backup's data)", node, g.Role)
	}
	if g.StorageSource != nil {
		// The new claim would hold the source's data, and the restore step restores only into
		// an empty volume: the backup would silently not be restored.
		return nil, fmt.Errorf("node %s: group %s's new data volumes start from its storageSource, so the restore step would find that data and skip the backup; remove storageSource from the group first; nothing was changed", node, g.Name)
	}
	var sts appsv1.StatefulSet
	if err := c.kube.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: kube.GroupName(name, g.Name)}, &sts); err != nil {
		return nil, fmt.Errorf("node %s of network %s: StatefulSet %s: %w", node, name, kube.GroupName(name, g.Name), err)
	}
	if !kube.ReadsRestoreRequests(&sts.Spec.Template.Spec) {
		return nil, fmt.Errorf("StatefulSet %s has no restore step that reads restore requests: the operator renders one into full, archive and rpc groups of a network with spec.backup (is it running, and up to date?); nothing was changed", sts.Name)
	}
	return &restoreTarget{net: n, pod: pod, claim: "data-" + pod}, nil
}

// RestoreNode is `onf backup restore` of a node in a cluster. It records the request (the
// backup ID under the pod's name in the ConfigMap kube.RestoreRequestsName, which the
// group's restore step reads), deletes the node's data claim and then its pod, so the
// StatefulSet makes both again: a new, empty volume, which the new pod's restore step fills
// from the backup before the node starts. The claim's deletion completes once the old pod is
// gone (PVC protection); the StatefulSet controller then makes the new claim for the pending
// pod. The keystore and node key claims and Secrets are not touched. RestoreNode waits until
// the new pod is Ready on a new claim and removes the request, or returns the restore step's
// failure (a corrupt archive): the node then stays down, its volume marked, and the request
// stays, so the kubelet's retries restore the same backup (a new `onf backup restore`
// replaces it).
func (c *Client) RestoreNode(ctx context.Context, name, node, id string, timeout time.Duration) error {
	t, err := c.restoreTarget(ctx, name, node)
	if err != nil {
		return err
	}
	key := func(n string) types.NamespacedName { return types.NamespacedName{Namespace: c.Namespace, Name: n} }
	var pod corev1.Pod
	if err := c.kube.Get(ctx, key(t.pod), &pod); err != nil {
		return fmt.Errorf("node %s of network %s: pod %s: %w", node, name, t.pod, err)
	}
	var claim corev1.PersistentVolumeClaim
	if err := c.kube.Get(ctx, key(t.claim), &claim); err != nil {
		return fmt.Errorf("node %s of network %s: data claim %s: %w", node, name, t.claim, err)
	}
	if err := c.setRestoreRequest(ctx, t, id); err != nil {
		return err
	}
	// UID preconditions: only these objects, never replacements made in between.
	if err := c.kube.Delete(ctx, &claim, client.Preconditions(metav1.Preconditions{UID: &claim.UID})); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("node %s of network %s: delete claim %s: %w", node, name, t.claim, err)
	}
	if err := c.kube.Delete(ctx, &pod, client.Preconditions(metav1.Preconditions{UID: &pod.UID})); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("node %s of network %s: delete pod %s: %w", node, name, t.pod, err)
	}
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	state := "pod deleted"
	for {
		var np corev1.Pod
		var nc corev1.PersistentVolumeClaim
		err := c.kube.Get(wait, key(t.pod), &np)
		switch {
		case err == nil && np.UID != pod.UID:
			if msg := restoreFailure(&np); msg != "" {
				return fmt.Errorf("node %s of network %s: the restore step of pod %s failed: %s\nthe node stays down on its new volume, marked for a restore, and the kubelet retries the step; restore another backup with onf backup restore, or remove the request (key %s of ConfigMap %s) to start it from genesis", node, name, t.pod, msg, t.pod, kube.RestoreRequestsName(name))
			}
			state = "new pod " + podState(&np)
			if kube.PodReady(&np) && c.kube.Get(wait, key(t.claim), &nc) == nil && nc.UID != claim.UID {
				return c.setRestoreRequest(ctx, t, "")
			}
		case err != nil && !apierrors.IsNotFound(err) && wait.Err() == nil:
			return fmt.Errorf("node %s of network %s: %w", node, name, err)
		}
		select {
		case <-wait.Done():
			return fmt.Errorf("node %s of network %s: claim %s and pod %s deleted, the new pod not Ready within %s (%s): kubectl describe pod %s", node, name, t.claim, t.pod, timeout, state, t.pod)
		case <-time.After(time.Second):
		}
	}
}

// restoreFailure is the message of the pod's restore step when it failed, "" otherwise.
func restoreFailure(p *corev1.Pod) string {
	for _, s := range p.Status.InitContainerStatuses {
		if s.Name != kube.RestoreStep {
			continue
		}
		for _, t := range []*corev1.ContainerStateTerminated{s.State.Terminated, s.LastTerminationState.Terminated} {
			if t != nil && t.ExitCode != 0 {
				return strings.TrimSpace(t.Message)
			}
		}
	}
	return ""
}

// setRestoreRequest records id under the pod's name in the network's restore-requests
// ConfigMap, or removes the pod's key when id is "". The ConfigMap goes with the network (an
// owner reference) but is not the operator's to reconcile (not a controller reference).
func (c *Client) setRestoreRequest(ctx context.Context, t *restoreTarget, id string) error {
	name := kube.RestoreRequestsName(t.net.Name)
	if id != "" {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: c.Namespace, Labels: map[string]string{kube.LabelNetwork: t.net.Name},
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: v1alpha1.GroupVersion.String(), Kind: "SubstrateNetwork", Name: t.net.Name, UID: t.net.UID,
				}},
			},
			Data: map[string]string{t.pod: id},
		}
		err := c.kube.Create(ctx, cm)
		if err == nil || !apierrors.IsAlreadyExists(err) {
			return restoreRequestErr(name, err)
		}
	}
	var v any // a JSON null removes the key in a merge patch
	if id != "" {
		v = id
	}
	patch, err := json.Marshal(map[string]any{"data": map[string]any{t.pod: v}})
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}
	err = c.kube.Patch(ctx, cm, client.RawPatch(types.MergePatchType, patch))
	if id == "" && apierrors.IsNotFound(err) {
		return nil
	}
	return restoreRequestErr(name, err)
}

func restoreRequestErr(name string, err error) error {
	if err != nil {
		return fmt.Errorf("restore request in ConfigMap %s: %w", name, err)
	}
	return nil
}
