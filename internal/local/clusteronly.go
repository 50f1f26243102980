package local

import (
	"fmt"

	"github.com/dinfra/stack/api/v1alpha1"
)

// refuseClusterOnly refuses, by field path, the group settings that only mean something to a
// cluster scheduler or storage provisioner: on one machine there is no node to select, no
// taint to tolerate and no StorageClass, so honouring the spec is impossible and ignoring it
// would run the network somewhere the spec says it must not.
func refuseClusterOnly(n *v1alpha1.SubstrateNetwork) error {
	for i, g := range n.Spec.Groups {
		switch {
		case g.Pod != nil:
			return fmt.Errorf("spec.groups[%d].pod: pod placement and labels work in clusters only; remove it to run the network locally", i)
		case g.StorageClassName != "":
			return fmt.Errorf("spec.groups[%d].storageClassName: works in clusters only (local nodes keep their data in the state directory); remove it to run the network locally", i)
		case g.RestoreFrom != nil: // clusters restore in an init step; locally, restore after the start
			return fmt.Errorf("spec.groups[%d].restoreFrom: works in clusters only so far; locally, start the node and run `onf backup restore %s %s-0 ID` (docs/backup.md)", i, n.Name, g.Name)
		}
	}
	return nil
}
