// Package local is the reference reactor for one machine: each substrate-network
// deployment becomes its own network run by the Open Node Framework local runtime
// (internal/local), and its nodes' RPC endpoints are reported.
package local

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/problem"
	"github.com/dinfra/stack/internal/reactor"
)

// Binaries maps a node flavor to the executable the provider runs for it. Consumers never
// choose what runs on the provider's machine.
type Binaries map[v1alpha1.Flavor]string

// NetworkName is the local network of deployment id.
func NetworkName(id string) string { return "dinfra-" + id }

// runnable is the network the runtime runs for a deployment the consumer boundary accepted
// (reactor.Deployment.Network): named for the deployment, every group on the provider's
// binary for the flavor it resolves to (network.Software: the group's, its parachain's or
// the network's), or a problem naming the group whose flavor this provider does not run.
func runnable(d reactor.Deployment, bins Binaries) (*v1alpha1.SubstrateNetwork, error) {
	if d.Network == nil {
		return nil, fmt.Errorf("deployment %s: not checked by the consumer boundary", d.ID)
	}
	n := d.Network.DeepCopy()
	s := &n.Spec
	var problems problem.List
	for i := range s.Groups {
		g := &s.Groups[i]
		sw := network.Software(s, g)
		bin, ok := bins[sw.Flavor]
		if !ok {
			problems.Add(fmt.Sprintf("spec.groups[%d]", i), "runs %s nodes; this provider runs %s", sw.Flavor, flavors(bins))
			continue
		}
		g.Node = &v1alpha1.NodeSoftware{Flavor: sw.Flavor, Binary: bin}
	}
	if err := descriptor.Invalid(d.Type, problems); err != nil {
		return nil, err
	}
	n.Name, n.Namespace = NetworkName(d.ID), ""
	n.Status = v1alpha1.SubstrateNetworkStatus{}
	return n, nil
}

func flavors(bins Binaries) string {
	out := ""
	for _, f := range flavor.Flavors() {
		if _, ok := bins[f]; ok {
			if out != "" {
				out += " and "
			}
			out += string(f)
		}
	}
	return out + " nodes only"
}

// fetchChains downloads every chain URL of n (the boundary let through only hosts the
// provider lists) with the SSRF-safe fetcher, into dir, and points the chain at the file:
// the runtime never fetches a consumer URL itself. A failure is public without its detail
// (which could describe the provider's internal network).
func fetchChains(ctx context.Context, n *v1alpha1.SubstrateNetwork, dir string, opts chainspec.Options) error {
	chains := []*v1alpha1.Chain{&n.Spec.Chain}
	for i := range n.Spec.Parachains {
		chains = append(chains, &n.Spec.Parachains[i].Chain)
	}
	for i, c := range chains {
		if c.URL == "" {
			continue
		}
		field := "spec.chain.url"
		if i > 0 {
			field = fmt.Sprintf("spec.parachains[%d].chain.url", i-1)
		}
		data, err := chainspec.Fetch(ctx, c.URL, opts)
		if err != nil {
			return &reactor.PublicError{Reason: "chain_spec_unavailable", Err: err,
				Message: field + ": no chain spec could be fetched (refused destination, no answer in time, too large, or not a chain spec)"}
		}
		file := filepath.Join(dir, fmt.Sprintf("%x.json", sha256.Sum256([]byte(c.URL))))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return err
		}
		c.URL, c.File = "", file
	}
	return nil
}
