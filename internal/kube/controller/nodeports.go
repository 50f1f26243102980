package controller

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=patch;delete

// announceNodePorts tells every pod of a group exposed through per-pod NodePorts the node
// ports of its own P2P Service, and every pod of a group exposed through per-pod
// LoadBalancers without a publicHost its load balancer's address
// (kube.AnnounceAnnotations), which its node announces. A pod that announced something else
// (its Service was recreated with new ports, its load balancer got a new address) is
// deleted, so that its node starts again announcing the new one.
func (r *Reconciler) announceNodePorts(ctx context.Context, n *v1alpha1.SubstrateNetwork) error {
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if !kube.Announces(g) {
			continue
		}
		var pods corev1.PodList
		if err := r.Client.List(ctx, &pods, client.InNamespace(n.Namespace), client.MatchingLabels(kube.Selector(n.Name, g.Name))); err != nil {
			return fmt.Errorf("list pods of group %s: %w", g.Name, err)
		}
		for j := range pods.Items {
			if err := r.announce(ctx, g, &pods.Items[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Reconciler) announce(ctx context.Context, g *v1alpha1.NodeGroup, p *corev1.Pod) error {
	if p.DeletionTimestamp != nil {
		return nil
	}
	var svc corev1.Service
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Name + "-p2p"}, &svc); err != nil {
		return client.IgnoreNotFound(err) // applied just now: its event brings us back
	}
	want := kube.AnnounceAnnotations(g, &svc)
	if want == nil {
		return nil
	}
	stale := false
	for k, v := range want {
		old, ok := p.Annotations[k]
		if ok && old != v {
			stale = true
		}
	}
	if stale {
		r.log().Info("public address changed: restarting the pod to announce it", "pod", p.Name, "announce", want)
		if err := r.Client.Delete(ctx, p, client.Preconditions{UID: &p.UID}); client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("restart pod %s for its new public address: %w", p.Name, err)
		}
		return nil
	}
	have := map[string]string{}
	for k := range want {
		if v, ok := p.Annotations[k]; ok {
			have[k] = v
		}
	}
	if maps.Equal(have, want) {
		return nil
	}
	patch := client.MergeFrom(p.DeepCopy())
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	maps.Copy(p.Annotations, want)
	if err := r.Client.Patch(ctx, p, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("tell pod %s its public address: %w", p.Name, err)
	}
	return nil
}
