package local

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
)

// target is the local machine as a network.Target: loopback addresses, allocated ports, data
// under the state directory. Everything it reads was prepared before planning.
type target struct {
	network string
	dir     Dir
	facts   *Facts
	keys    map[string]nodekey.Key
	// binaryDirs are the directories of each flavor's binary, beside which a release may
	// ship the spec files of its builtin chains.
	binaryDirs map[v1alpha1.Flavor]string
}

var _ network.Target = (*target)(nil)

func (t *target) Ports(n network.NodeRef) flavor.Ports { return t.facts.Ports[n.Name] }
func (t *target) Host(network.NodeRef) string          { return "127.0.0.1" }
func (t *target) BasePath(n network.NodeRef) string    { return t.dir.NodeDir(n.Name) }
func (t *target) SURIFile(n network.NodeRef) string    { return t.dir.SURI(n.Name) }
func (t *target) External() bool                       { return false }

func (t *target) KeystorePath(n network.NodeRef) string { return t.dir.Keystore(n.Name) }

// Self: every node has a command line of its own.
func (t *target) Self(n network.NodeRef, publicHost string) network.Self {
	return network.Self{Name: t.network + "-" + n.Name, Host: t.Host(n), PublicHost: publicHost}
}

func (t *target) PeerID(n network.NodeRef) (string, error) {
	k, ok := t.keys[n.Name]
	if !ok {
		return "", fmt.Errorf("no node key for %s", n.Name)
	}
	return k.PeerID(), nil
}

func (t *target) ChainSpec(c v1alpha1.Chain, f v1alpha1.Flavor) (string, error) {
	switch {
	case c.File != "":
		return filepath.Abs(c.File)
	case c.URL != "":
		return t.dir.FetchedChain(c.URL), nil
	case c.ConfigMap != nil:
		return "", fmt.Errorf("chain.configMap works in clusters only: use file or url locally")
	}
	rel := flavor.MustFor(f).BuiltinChainFile(c.Builtin)
	if rel == "" {
		return c.Builtin, nil // compiled into the binary
	}
	file := filepath.Join(t.binaryDirs[f], rel)
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("%s chain %q: %w (its release's spec files must sit beside the %s binary)", f, c.Builtin, err, f)
	}
	return file, nil
}
