package kube

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// RPCService is where clients inside the cluster reach a group's JSON-RPC: the load-balanced
// Service Desired creates for an rpc, full or archive group, in the network's namespace.
type RPCService struct {
	Group string
	// Name is the Service's name (RPCServiceName).
	Name string
	// HTTPPort serves JSON-RPC over HTTP.
	HTTPPort int32
	// WSPort serves JSON-RPC over WebSocket: HTTPPort itself for polkadot-sdk nodes, a port
	// of its own for gossamer.
	WSPort int32
}

// RPCServices lists, in group order, the RPC Services Desired creates for a defaulted,
// validated network, without building the rest of its objects. The Services are built by the
// same code as Desired's; they depend on the node plans' ports, never on node keys, so the
// plans are made with a placeholder key. It fails where Desired fails to plan the network
// (object names, chain sources); what only the workloads need, such as the image, is not checked.
func RPCServices(n *v1alpha1.SubstrateNetwork) ([]RPCService, error) {
	if err := checkNames(n); err != nil {
		return nil, err
	}
	byKey, _, err := chainMounts(n, nil)
	if err != nil {
		return nil, err
	}
	keys, err := PlaceholderKeys(n)
	if err != nil {
		return nil, err
	}
	t := &target{net: n, clusterDomain: Options{}.withDefaults().ClusterDomain, keys: keys, chains: byKey}
	templates, err := network.Templates(n, t)
	if err != nil {
		return nil, err
	}
	var out []RPCService
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		b := groupBuilder{net: n, group: g, index: i, plan: templates[g.Name]}
		svc := b.rpcService()
		if svc == nil {
			continue
		}
		out = append(out, rpcServiceOf(g.Name, svc))
	}
	return out, nil
}

// rpcServiceOf reads a group's RPC Service's ports by name.
func rpcServiceOf(group string, svc *corev1.Service) RPCService {
	rs := RPCService{Group: group, Name: svc.Name}
	for _, p := range svc.Spec.Ports {
		switch p.Name {
		case PortRPC:
			rs.HTTPPort = p.Port
		case portWS:
			rs.WSPort = p.Port
		}
	}
	if rs.WSPort == 0 {
		rs.WSPort = rs.HTTPPort
	}
	return rs
}
