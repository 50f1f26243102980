package local

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
)

// defaultBinaries are the executables looked up on PATH when a spec names none.
var defaultBinaries = map[v1alpha1.Flavor]string{
	v1alpha1.FlavorGossamer:  "gossamer",
	v1alpha1.FlavorSubstrate: "polkadot",
}

// resolveBinaries makes every group's binary an absolute path that exists, in place, so a
// missing binary is reported before anything starts. Parachain nodes default to
// polkadot-parachain.
func resolveBinaries(n *v1alpha1.SubstrateNetwork) error {
	var errs []error
	resolve := func(field string, sw *v1alpha1.NodeSoftware, fallback string) {
		name := sw.Binary
		if name == "" {
			name = fallback
		}
		p, err := exec.LookPath(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: node binary %q not found: %w", field, name, err))
			return
		}
		if sw.Binary, err = filepath.Abs(p); err != nil {
			errs = append(errs, err)
		}
	}
	s := &n.Spec
	for i := range s.Groups {
		g := &s.Groups[i]
		sw := network.Software(s, g)
		fallback := defaultBinaries[sw.Flavor]
		if g.Parachain != "" {
			fallback = "polkadot-parachain"
		}
		if g.Node == nil {
			g.Node = &v1alpha1.NodeSoftware{}
		}
		g.Node.Flavor = sw.Flavor
		g.Node.Binary = sw.Binary
		resolve(fmt.Sprintf("spec.groups[%d].node.binary", i), g.Node, fallback)
	}
	return errors.Join(errs...)
}

// gossamerChainDir is the chain/ folder beside the first gossamer binary of a resolved spec.
func gossamerChainDir(n *v1alpha1.SubstrateNetwork) string {
	for i := range n.Spec.Groups {
		if g := n.Spec.Groups[i]; g.Node != nil && g.Node.Flavor == v1alpha1.FlavorGossamer {
			return filepath.Join(filepath.Dir(g.Node.Binary), "chain")
		}
	}
	return ""
}

// plan allocates what the nodes of a resolved spec need (ports, node keys, fetched chain specs)
// and plans them. Allocations are persisted: a node keeps its ports and peer ID for life.
func plan(ctx context.Context, home string, dir Dir, n *v1alpha1.SubstrateNetwork) (*network.Plan, error) {
	facts := &Facts{}
	if _, err := readJSON(dir.Facts(), facts); err != nil {
		return nil, err
	}
	if facts.Ports == nil {
		facts.Ports = map[string]flavor.Ports{}
	}
	refs := network.Nodes(n)
	// Only new nodes need ports: status polls plan too, and must not take the registry lock or
	// rewrite files when nothing changed.
	var unallocated []string
	for _, r := range refs {
		if _, ok := facts.Ports[r.Name]; !ok {
			unallocated = append(unallocated, r.Name)
		}
	}
	if len(unallocated) > 0 {
		if err := allocatePorts(home, n.Name, facts, unallocated); err != nil {
			return nil, err
		}
		if err := writeJSON(dir.Facts(), facts, 0o600); err != nil {
			return nil, err
		}
	}
	t := &target{dir: dir, facts: facts, keys: map[string]nodekey.Key{}, gossamerChains: gossamerChainDir(n)}
	for _, r := range refs {
		k, err := nodekey.LoadOrCreate(dir.NodeKey(r.Name))
		if err != nil {
			return nil, fmt.Errorf("node key of %s: %w", r.Name, err)
		}
		t.keys[r.Name] = k
	}
	return network.Build(n, t)
}

// chainSource is a chain of the network and its field path, for errors.
type chainSource struct {
	field string
	chain *v1alpha1.Chain
}

func chainSources(n *v1alpha1.SubstrateNetwork) []chainSource {
	cs := []chainSource{{"spec.chain", &n.Spec.Chain}}
	for i := range n.Spec.Parachains {
		cs = append(cs, chainSource{fmt.Sprintf("spec.parachains[%d].chain", i), &n.Spec.Parachains[i].Chain})
	}
	return cs
}

// checkChains checks every chain spec a spec names before anything is stored: a file must be
// a regular file holding a chain spec (its path is made absolute in place, so the supervisor
// and later applies find it from any directory); a URL is fetched (with a timeout and a size
// cap) unless this network already has it, and returned by the file it is to be kept in.
func checkChains(ctx context.Context, dir Dir, n *v1alpha1.SubstrateNetwork) (map[string][]byte, error) {
	fetched := map[string][]byte{}
	var errs []error
	for _, s := range chainSources(n) {
		c := s.chain
		switch {
		case c.File != "":
			abs, err := filepath.Abs(c.File)
			if err == nil {
				c.File = abs
				_, err = chainspec.ReadFile(abs, chainspec.Options{})
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.file: %w", s.field, err))
			}
		case c.URL != "":
			file := dir.FetchedChain(c.URL)
			if fetched[file] != nil || exists(file) {
				continue
			}
			data, err := chainspec.Fetch(ctx, c.URL, chainspec.Options{})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.url: %w", s.field, err))
				continue
			}
			fetched[file] = data
		}
	}
	return fetched, errors.Join(errs...)
}
