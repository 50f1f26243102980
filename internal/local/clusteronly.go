package local

import (
	"fmt"

	"github.com/dinfra/stack/api/v1alpha1"
)

// refuseClusterOnly refuses, by field path, the group settings that only mean something to a
// cluster scheduler or storage provisioner: on one machine there is no node to select, no
// taint to tolerate and no StorageClass, so honouring the spec is impossible and ignoring it
// would run the network somewhere the spec says it must not. The embedded relay chain node's
// metrics port is planned for clusters only.
func refuseClusterOnly(n *v1alpha1.SubstrateNetwork) error {
	for i, g := range n.Spec.Groups {
		switch {
		case g.Pod != nil:
			return fmt.Errorf("spec.groups[%d].pod: pod placement and labels work in clusters only; remove it to run the network locally", i)
		case g.StorageClassName != "":
			return fmt.Errorf("spec.groups[%d].storageClassName: works in clusters only (local nodes keep their data in the state directory); remove it to run the network locally", i)
		}
	}
	if n.Spec.Monitoring != nil {
		return fmt.Errorf("spec.monitoring: configures a Prometheus Operator in clusters; locally `onf monitor up` scrapes every node (docs/monitoring.md): remove it to run the network locally")
	}
	for i, p := range n.Spec.Parachains {
		if p.Relay.Metrics { // local nodes get no port for it (ports.go)
			return fmt.Errorf("spec.parachains[%d].relay.metrics: works in clusters only so far; remove it to run the network locally", i)
		}
	}
	return nil
}
