package cluster

import (
	"context"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/netstatus"
)

// haStatus reads the Lease of each ha group's identity (a cluster runs one per group, its
// key 0, named as locally: <group>-0): the holder, a candidate pod, and when the Lease runs
// out unless renewed (its renewTime plus duration, on this machine's clock: for display
// only). A Lease that cannot be read within 2 s gives an error for that identity, not for
// the status. The authority is the holder while its agent's last renewal said its node
// signs (the Lease's signing annotation; a promotion shows within a third of the TTL).
func (c *Client) haStatus(ctx context.Context, n *v1alpha1.SubstrateNetwork) []netstatus.HAIdentity {
	var out []netstatus.HAIdentity
	for _, g := range n.Spec.Groups {
		if g.HA == nil {
			continue
		}
		id := netstatus.HAIdentity{Identity: g.Name + "-0"}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		h, err := ha.NewKubeLease(c.core.CoordinationV1(), n.Namespace, kube.HALeaseName(n.Name, g.Name)).Holder(lctx)
		cancel()
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
