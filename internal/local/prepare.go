package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
	"github.com/dinfra/stack/internal/problem"
)

// resolveBinaries makes every group's binary an absolute path that exists, in place, so a
// missing binary is reported before anything starts. A group naming none runs its flavor's
// default binary (flavor.Dialect.DefaultBinary), looked up on PATH.
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
		fallback := flavor.MustFor(sw.Flavor).DefaultBinary(g.Parachain != "")
		if g.Node == nil {
			g.Node = &v1alpha1.NodeSoftware{}
		}
		g.Node.Flavor = sw.Flavor
		g.Node.Binary = sw.Binary
		resolve(fmt.Sprintf("spec.groups[%d].node.binary", i), g.Node, fallback)
	}
	return errors.Join(errs...)
}

// binaryDirs is the directory of each flavor's first binary in a resolved spec, where a
// release ships the spec files of its builtin chains (flavor.Dialect.BuiltinChainFile).
func binaryDirs(n *v1alpha1.SubstrateNetwork) map[v1alpha1.Flavor]string {
	dirs := map[v1alpha1.Flavor]string{}
	for _, g := range n.Spec.Groups {
		if g.Node == nil {
			continue
		}
		if _, ok := dirs[g.Node.Flavor]; !ok {
			dirs[g.Node.Flavor] = filepath.Dir(g.Node.Binary)
		}
	}
	return dirs
}

// plan allocates what the nodes of a resolved spec need (ports, node keys) and plans them, once
// per apply (Prepare stores the plan). Allocations are persisted: a node keeps its ports and
// peer ID for life.
func plan(home string, dir Dir, n *v1alpha1.SubstrateNetwork) (*network.Plan, error) {
	facts := &Facts{}
	if _, err := readJSON(dir.Facts(), facts); err != nil {
		return nil, err
	}
	if facts.Ports == nil {
		facts.Ports = map[string]flavor.Ports{}
	}
	refs := network.Nodes(n)
	// Only new nodes need ports: an apply that adds no node leaves the registry alone.
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
	t := &target{network: n.Name, dir: dir, facts: facts, keys: map[string]nodekey.Key{}, binaryDirs: binaryDirs(n)}
	for _, r := range refs {
		k, err := nodekey.LoadOrCreate(dir.NodeKey(r.Name))
		if err != nil {
			return nil, fmt.Errorf("node key of %s: %w", r.Name, err)
		}
		t.keys[r.Name] = k
	}
	return network.Build(n, t)
}

// checkKeys checks before anything is stored that every node's session key source works here:
// keys.files are read on this machine (each must hold a secret URI); keys.secret names a
// Kubernetes Secret, which only clusters read.
func checkKeys(n *v1alpha1.SubstrateNetwork) error {
	var ps problem.List
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if g.Keys == nil {
			continue
		}
		at := fmt.Sprintf("spec.groups[%d].keys", i)
		if g.Keys.Secret != "" {
			ps.Add(at+".secret", "names a Kubernetes Secret, which only clusters read: use keys.files or keys.dev locally")
		}
		files := g.Keys.Files
		for j, file := range files[:min(len(files), network.Replicas(g))] {
			field := fmt.Sprintf("%s.files[%d]", at, j)
			if data, err := os.ReadFile(file); err != nil {
				ps.Add(field, "%v", err)
			} else if len(bytes.TrimSpace(data)) == 0 {
				ps.Add(field, "%s is empty: it must hold the replica's secret URI", file)
			}
		}
	}
	return network.Invalid(ps)
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
			if data := fetched[file]; data != nil {
				// The same URL twice: the same file, so the same checksum.
				if c.SHA256 != "" && chainspec.SHA256(data) != c.SHA256 {
					errs = append(errs, fmt.Errorf("%s.sha256: %s has sha256 %s", s.field, c.URL, chainspec.SHA256(data)))
				}
				continue
			}
			if exists(file) {
				// Kept from an earlier apply: a checksum set since must match it too.
				if _, err := chainspec.ReadFile(file, chainspec.Options{SHA256: c.SHA256}); err != nil {
					errs = append(errs, fmt.Errorf("%s.sha256: the chain spec fetched earlier from %s: %w", s.field, c.URL, err))
				}
				continue
			}
			data, err := chainspec.Fetch(ctx, c.URL, chainspec.Options{SHA256: c.SHA256})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.url: %w", s.field, err))
				continue
			}
			fetched[file] = data
		}
	}
	return fetched, errors.Join(errs...)
}
