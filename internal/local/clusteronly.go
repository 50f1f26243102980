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
		if g.Pod != nil {
			if err := refusePodOptions(g.Pod, fmt.Sprintf("spec.groups[%d].pod", i)); err != nil {
				return err
			}
		}
		switch {
		case g.RPC != nil && g.RPC.Service != nil:
			return fmt.Errorf("spec.groups[%d].rpc.service: shapes a Kubernetes Service (clusters only; local nodes serve RPC on loopback, behind the gateway); remove it to run the network locally", i)
		case g.P2P != nil && g.P2P.Service != nil:
			return fmt.Errorf("spec.groups[%d].p2p.service: shapes Kubernetes Services (clusters only); remove it to run the network locally", i)
		case g.P2P != nil && g.P2P.NodeKeySecret != "":
			return fmt.Errorf("spec.groups[%d].p2p.nodeKeySecret: names a Kubernetes Secret (clusters only; local nodes keep their keys in the state directory); remove it to run the network locally", i)
		case g.RuntimeOverride != nil:
			return fmt.Errorf("spec.groups[%d].runtimeOverride: is put in place by an init step of cluster pods only so far; remove it to run the network locally", i)
		case g.StorageClassName != "":
			return fmt.Errorf("spec.groups[%d].storageClassName: works in clusters only (local nodes keep their data in the state directory); remove it to run the network locally", i)
		case len(g.StorageAnnotations) > 0:
			return fmt.Errorf("spec.groups[%d].storageAnnotations: annotate cluster volume claims only (local nodes keep their data in the state directory); remove it to run the network locally", i)
		case len(g.StorageLabels) > 0:
			return fmt.Errorf("spec.groups[%d].storageLabels: label cluster volume claims only (local nodes keep their data in the state directory); remove it to run the network locally", i)
		case g.StorageSource != nil:
			return fmt.Errorf("spec.groups[%d].storageSource: fills cluster volumes from a VolumeSnapshot or a claim (local nodes keep their data in the state directory; restoreFrom works locally); remove it to run the network locally", i)
		case g.StorageGrowth != nil:
			return fmt.Errorf("spec.groups[%d].storageGrowth: grows cluster volumes only (local nodes keep their data in the state directory, whose file system onf does not size); remove it to run the network locally", i)
		}
	}
	if gw := n.Spec.Gateway; gw != nil && gw.Ingress != nil {
		return fmt.Errorf("spec.gateway.ingress: makes a Kubernetes Ingress (clusters only; locally the gateway listens where its config file says); remove it to run the network locally")
	}
	if n.Spec.Monitoring != nil {
		return fmt.Errorf("spec.monitoring: configures a Prometheus Operator in clusters; locally `onf monitor up` scrapes every node (docs/monitoring.md): remove it to run the network locally")
	}
	for i, p := range n.Spec.Parachains {
		if p.Relay.Metrics { // local nodes get no port for it (ports.go)
			return fmt.Errorf("spec.parachains[%d].relay.metrics: works in clusters only so far; remove it to run the network locally", i)
		}
		if p.Relay.Storage != "" || p.Relay.StorageClassName != "" {
			// A local collator's relay chain data stays under its own state directory.
			return fmt.Errorf("spec.parachains[%d].relay.storage: sizes a cluster volume of its own (clusters only; local nodes keep their data in the state directory); remove relay.storage and relay.storageClassName to run the network locally", i)
		}
	}
	return nil
}
