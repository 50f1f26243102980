package kube

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// StorageSize is the size of a group's data volumes: spec.groups[].storage, 10Gi by default.
func StorageSize(g *v1alpha1.NodeGroup) (resource.Quantity, error) {
	if g.Storage == "" {
		return resource.ParseQuantity(network.DefaultStorage)
	}
	return resource.ParseQuantity(g.Storage)
}

// IsDataClaim reports whether a PersistentVolumeClaim is a data volume of the group: the
// StatefulSet controller names replica i's claim data-<network>-<group>-<i>.
func IsDataClaim(network, group, claim string) bool {
	return isClaimOf(volumeData, network, group, claim)
}

// IsRelayDataClaim reports whether a PersistentVolumeClaim is a relay-data volume of the
// group (relay-data-<network>-<group>-<i>, parachains[].relay.storage).
func IsRelayDataClaim(network, group, claim string) bool {
	return isClaimOf(volumeRelayData, network, group, claim)
}

// isClaimOf reports whether claim is replica i's claim of the group's template.
func isClaimOf(template, network, group, claim string) bool {
	i, ok := strings.CutPrefix(claim, template+"-"+GroupName(network, group)+"-")
	if !ok {
		return false
	}
	_, err := strconv.ParseUint(i, 10, 31)
	return err == nil
}
