package kube

import (
	"fmt"

	"github.com/dinfra/stack/api/v1alpha1"
)

// refuseHA refuses groups with ha: the Lease store exists (ha.KubeLease) but the operator
// does not yet run an agent in the candidate pods, and a StatefulSet of candidates would run
// every pod with the identity's keys (docs/ha.md).
func refuseHA(n *v1alpha1.SubstrateNetwork) error {
	for i, g := range n.Spec.Groups {
		if g.HA != nil {
			return fmt.Errorf("spec.groups[%d].ha: failover runs on local networks (onf up) only so far; the operator does not yet run the Lease agent in validator pods, so a cluster refuses it rather than run every candidate with the keys", i)
		}
	}
	return nil
}
