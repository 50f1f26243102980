package network

import (
	"slices"

	"github.com/dinfra/stack/api/v1alpha1"
)

// GossamerChains are the builtin chains gossamer ships (its chain/ folder).
var GossamerChains = []string{"westend-dev", "westend-local"}

// DefaultFlavor is the node flavor of a spec that names none. gossamer, the node that runs
// here, only for a chain it can run: one of GossamerChains, or a chain spec from a file, URL or
// ConfigMap (onf cannot tell whose it is), in a network without parachains. Any other builtin
// name (polkadot, kusama, westend, rococo-local, dev, ...) and every network with parachains is
// polkadot-sdk's, so such a spec never silently looks for gossamer.
func DefaultFlavor(s *v1alpha1.SubstrateNetworkSpec) v1alpha1.Flavor {
	if len(s.Parachains) > 0 || (s.Chain.Builtin != "" && !slices.Contains(GossamerChains, s.Chain.Builtin)) {
		return v1alpha1.FlavorSubstrate
	}
	return v1alpha1.FlavorGossamer
}

// Relay chain validators' session keys (Polkadot, Kusama, Westend, Rococo runtimes).
var relayValidatorKeys = []v1alpha1.SessionKeyType{
	"babe:sr25519", "gran:ed25519", "imon:sr25519", "para:sr25519", "asgn:sr25519", "audi:sr25519", "beef:ecdsa",
}

// Collators of Cumulus parachains sign blocks with aura.
var collatorKeys = []v1alpha1.SessionKeyType{"aura:sr25519"}

// Default fills in every optional field that has a default, in place. It is idempotent.
func Default(n *v1alpha1.SubstrateNetwork) {
	if n.APIVersion == "" {
		n.APIVersion = v1alpha1.GroupVersion.String()
	}
	if n.Kind == "" {
		n.Kind = v1alpha1.Kind
	}
	s := &n.Spec
	if s.Node.Flavor == "" {
		s.Node.Flavor = DefaultFlavor(s)
	}
	for i := range s.Parachains {
		p := &s.Parachains[i]
		if p.Node == nil {
			p.Node = &v1alpha1.NodeSoftware{}
		}
		if p.Node.Flavor == "" {
			p.Node.Flavor = v1alpha1.FlavorSubstrate
		}
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		if g.Replicas == nil {
			one := int32(1)
			g.Replicas = &one
		}
		if g.RPC == nil {
			g.RPC = &v1alpha1.RPC{}
		}
		if g.RPC.Methods == "" {
			g.RPC.Methods = v1alpha1.RPCUnsafe
			if g.Role == v1alpha1.RoleRPC {
				g.RPC.Methods = v1alpha1.RPCSafe
			}
		}
		if g.Role == v1alpha1.RoleArchive && g.Pruning == "" {
			g.Pruning = "archive"
		}
		defaultUpgrade(g.Upgrade)
		defaultHA(g.HA)
		if g.Keys != nil && len(g.Keys.Types) == 0 {
			switch g.Role {
			case v1alpha1.RoleValidator:
				g.Keys.Types = append([]v1alpha1.SessionKeyType(nil), relayValidatorKeys...)
			case v1alpha1.RoleCollator:
				g.Keys.Types = append([]v1alpha1.SessionKeyType(nil), collatorKeys...)
			}
		}
	}
}

// Software is the node software a group runs: the group's own settings over its parachain's
// (parachain nodes) over the network's.
func Software(s *v1alpha1.SubstrateNetworkSpec, g *v1alpha1.NodeGroup) v1alpha1.NodeSoftware {
	sw := s.Node
	if g.Parachain != "" {
		if p := FindParachain(s, g.Parachain); p != nil && p.Node != nil {
			sw = overlay(sw, *p.Node)
		}
	}
	if g.Node != nil {
		sw = overlay(sw, *g.Node)
	}
	return sw
}

func overlay(base, top v1alpha1.NodeSoftware) v1alpha1.NodeSoftware {
	if top.Flavor != "" {
		base.Flavor = top.Flavor
	}
	if top.Binary != "" {
		base.Binary = top.Binary
	}
	if top.Image != "" {
		base.Image = top.Image
	}
	return base
}

// FindParachain returns the parachain with that name, or nil.
func FindParachain(s *v1alpha1.SubstrateNetworkSpec, name string) *v1alpha1.Parachain {
	for i := range s.Parachains {
		if s.Parachains[i].Name == name {
			return &s.Parachains[i]
		}
	}
	return nil
}

// FindGroup returns the group with that name, or nil.
func FindGroup(s *v1alpha1.SubstrateNetworkSpec, name string) *v1alpha1.NodeGroup {
	for i := range s.Groups {
		if s.Groups[i].Name == name {
			return &s.Groups[i]
		}
	}
	return nil
}

// Replicas is a group's replica count (1 when unset).
func Replicas(g *v1alpha1.NodeGroup) int {
	if g.Replicas == nil {
		return 1
	}
	return int(*g.Replicas)
}
