// Package local is the reference reactor for one machine: each substrate-network
// deployment becomes its own network run by the Open Node Framework local runtime
// (internal/local), and its nodes' RPC endpoints are reported.
package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Binaries maps a node flavor to the executable the provider runs for it. Consumers never
// choose what runs on the provider's machine.
type Binaries map[v1alpha1.Flavor]string

// NetworkName is the local network of deployment id.
func NetworkName(id string) string { return "dinfra-" + id }

// network decodes a descriptor into the network the runtime runs: named for the
// deployment, with the provider's binaries, and refusing every field that would reach into
// the provider's file system or command lines.
func network(id string, descriptor []byte, bins Binaries) (*v1alpha1.SubstrateNetwork, error) {
	var n v1alpha1.SubstrateNetwork
	dec := json.NewDecoder(bytes.NewReader(descriptor))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	var errs []error
	refuse := func(path, why string) { errs = append(errs, fmt.Errorf("%s: %s", path, why)) }
	local := func(path string, sw *v1alpha1.NodeSoftware) {
		if sw == nil {
			return
		}
		if sw.Binary != "" {
			refuse(path+".binary", "chosen by the provider, not the descriptor")
		}
	}
	s := &n.Spec
	if s.Chain.File != "" {
		refuse("spec.chain.file", "local files are not available on a shared provider")
	}
	if s.Chain.ConfigMap != nil {
		refuse("spec.chain.configMap", "not available on the local reactor")
	}
	local("spec.node", &s.Node)
	for i := range s.Groups {
		g := &s.Groups[i]
		p := fmt.Sprintf("spec.groups[%d]", i)
		local(p+".node", g.Node)
		if len(g.Args) > 0 {
			refuse(p+".args", "extra node arguments are not accepted by the local reactor")
		}
		if g.Keys != nil && (len(g.Keys.Files) > 0 || g.Keys.Secret != "") {
			refuse(p+".keys", "only dev keys are available on the local reactor")
		}
	}
	for i := range s.Parachains {
		pc := &s.Parachains[i]
		p := fmt.Sprintf("spec.parachains[%d]", i)
		local(p+".node", pc.Node)
		if pc.Chain.File != "" {
			refuse(p+".chain.file", "local files are not available on a shared provider")
		}
		if len(pc.Relay.Args) > 0 {
			refuse(p+".relay.args", "extra node arguments are not accepted by the local reactor")
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	flavor := s.Node.Flavor
	if flavor == "" {
		flavor = v1alpha1.FlavorGossamer
	}
	bin, ok := bins[flavor]
	if !ok {
		return nil, fmt.Errorf("spec.node.flavor: this provider runs no %s nodes", flavor)
	}
	s.Node.Binary = bin
	for i := range s.Groups {
		if g := &s.Groups[i]; g.Node != nil {
			f := g.Node.Flavor
			if f == "" {
				f = flavor
			}
			if g.Node.Binary, ok = bins[f]; !ok {
				return nil, fmt.Errorf("spec.groups[%d].node.flavor: this provider runs no %s nodes", i, f)
			}
		}
	}
	n.Name = NetworkName(id)
	n.Namespace = ""
	n.Status = v1alpha1.SubstrateNetworkStatus{}
	return &n, nil
}
