package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/dinfra/stack/api/v1alpha1"
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
	for _, c := range chainSources(n) {
		if c.URL != "" {
			if err := fetchChainSpec(ctx, c.URL, t.urlChainFile(c.URL)); err != nil {
				return nil, err
			}
		}
	}
	return network.Build(n, t)
}

func chainSources(n *v1alpha1.SubstrateNetwork) []v1alpha1.Chain {
	cs := []v1alpha1.Chain{n.Spec.Chain}
	for _, p := range n.Spec.Parachains {
		cs = append(cs, p.Chain)
	}
	return cs
}

// fetchChainSpec downloads a chain spec once; later plans reuse the file.
func fetchChainSpec(ctx context.Context, url, file string) error {
	if _, err := os.Stat(file); err == nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("chain spec %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch chain spec: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch chain spec %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("fetch chain spec %s: %w", url, err)
	}
	return writeFile(file, data, 0o644)
}
