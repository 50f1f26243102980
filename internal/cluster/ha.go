package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/netstatus"
)

// haStatus is the status of each ha group's identity (a cluster runs one per group, its key
// 0, named as locally: <group>-0) from its Lease, found by lease: the holder, a candidate
// pod, and when the Lease runs out unless renewed (its renewTime plus duration, on this
// machine's clock: for display only). The authority is the holder while its agent's last
// renewal said its node signs (the Lease's signing annotation; a promotion shows within a
// third of the TTL). A Lease that cannot be read gives an error for that identity, not for
// the status.
func haStatus(n *v1alpha1.SubstrateNetwork, lease func(name string) (ha.Holding, error)) []netstatus.HAIdentity {
	var out []netstatus.HAIdentity
	for _, g := range n.Spec.Groups {
		if g.HA == nil {
			continue
		}
		id := netstatus.HAIdentity{Identity: g.Name + "-0"}
		h, err := lease(kube.HALeaseName(n.Name, g.Name))
		switch {
		case err != nil:
			id.Error = err.Error()
		case h.Holder != "":
			id.Holder = h.Holder
			id.Expires = time.Now().Add(h.Left).UTC().Format(time.RFC3339)
			if h.Signing {
				id.Authority = h.Holder
			}
		}
		out = append(out, id)
	}
	return out
}

// leaseReader reads one Lease of namespace ns within 2 s.
func (c *Client) leaseReader(ctx context.Context, ns string) func(string) (ha.Holding, error) {
	return func(name string) (ha.Holding, error) {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return ha.NewKubeLease(c.core.CoordinationV1(), ns, name).Holder(lctx)
	}
}

// leaseLister reads the Leases of the namespace (every namespace when Namespace is empty) in
// one list call, for the networks of a Statuses round that have ha groups.
func (c *Client) leaseLister(ctx context.Context, networks []v1alpha1.SubstrateNetwork) func(ns, name string) (ha.Holding, error) {
	if !slices.ContainsFunc(networks, func(n v1alpha1.SubstrateNetwork) bool {
		return slices.ContainsFunc(n.Spec.Groups, func(g v1alpha1.NodeGroup) bool { return g.HA != nil })
	}) {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	list, err := c.core.CoordinationV1().Leases(c.Namespace).List(lctx, metav1.ListOptions{})
	if err != nil {
		return func(string, string) (ha.Holding, error) { return ha.Holding{}, fmt.Errorf("leases: %w", err) }
	}
	byName := map[types.NamespacedName]*coordinationv1.Lease{}
	for i := range list.Items {
		l := &list.Items[i]
		byName[types.NamespacedName{Namespace: l.Namespace, Name: l.Name}] = l
	}
	return func(ns, name string) (ha.Holding, error) {
		if l := byName[types.NamespacedName{Namespace: ns, Name: name}]; l != nil {
			return ha.HoldingOf(l), nil
		}
		return ha.Holding{}, nil
	}
}
