package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/descriptor"
	onflocal "github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/reactor"
)

// Driver runs substrate-network deployments as local networks.
type Driver struct {
	rt       *onflocal.Runtime
	bins     Binaries
	capacity int64
	timeout  time.Duration
	fetch    chainspec.Options
}

// New returns a driver over rt offering capacity units (one network per unit at least),
// waiting up to readyTimeout for a network's nodes to answer RPC. Chain specs at consumer
// URLs are fetched with DefaultChainFetch unless WithChainFetch says otherwise.
func New(rt *onflocal.Runtime, bins Binaries, capacity int64, readyTimeout time.Duration) *Driver {
	return &Driver{rt: rt, bins: bins, capacity: capacity, timeout: readyTimeout, fetch: DefaultChainFetch()}
}

// DefaultChainFetch fetches consumer chain URLs within 30 s, at most 64 MiB, without
// redirects and never from loopback, private, link-local or other non-public addresses.
func DefaultChainFetch() chainspec.Options {
	return chainspec.Options{DenyPrivate: true, Timeout: 30 * time.Second}
}

// WithChainFetch sets how consumer chain URLs are fetched (DenyPrivate is always kept: a
// provider's own mirror in a private range goes in AllowPrefixes). Call it before use.
func (d *Driver) WithChainFetch(o chainspec.Options) *Driver {
	o.DenyPrivate = true
	d.fetch = o
	return d
}

var (
	_ reactor.Driver  = (*Driver)(nil)
	_ reactor.Checker = (*Driver)(nil)
)

func (*Driver) Name() string      { return "local" }
func (*Driver) Types() []string   { return []string{descriptor.TypeSubstrateNetwork} }
func (d *Driver) Capacity() int64 { return d.capacity }

// Check refuses, before booking, a network with groups of a flavor the provider has no
// binary for.
func (d *Driver) Check(dep reactor.Deployment) error {
	_, err := runnable(dep, d.bins)
	return err
}

// Deploy brings the deployment's network up (converging on a network already running under
// its name) and returns each node's RPC endpoints once every node answers.
func (d *Driver) Deploy(ctx context.Context, dep reactor.Deployment) ([]api.Endpoint, error) {
	n, err := runnable(dep, d.bins)
	if err != nil {
		return nil, err
	}
	if err := fetchChains(ctx, n, d.chainDir(dep.ID), d.fetch); err != nil {
		return nil, err
	}
	if err := d.rt.Up(ctx, n, onflocal.UpOptions{Timeout: d.timeout}); err != nil {
		return nil, fmt.Errorf("bring up network %s: %w", n.Name, err)
	}
	st, err := d.rt.Status(ctx, n.Name)
	if err != nil {
		return nil, fmt.Errorf("status of network %s: %w", n.Name, err)
	}
	var eps []api.Endpoint
	for _, node := range st.Nodes {
		eps = append(eps, api.Endpoint{Name: node.Name + "-rpc", Url: node.RPC}, api.Endpoint{Name: node.Name + "-ws", Url: node.WS})
	}
	return eps, nil
}

// chainDir holds the chain specs fetched for deployment id.
func (d *Driver) chainDir(id string) string {
	return filepath.Join(d.rt.Home, "dinfra-chains", NetworkName(id))
}

// Teardown stops the network and deletes its state; a network that does not exist is
// already torn down.
func (d *Driver) Teardown(ctx context.Context, id string) error {
	if err := os.RemoveAll(d.chainDir(id)); err != nil {
		return fmt.Errorf("remove chain specs of %s: %w", id, err)
	}
	name := NetworkName(id)
	dir, err := d.rt.Dir(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(string(dir)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := d.rt.Down(ctx, name, true); err != nil {
		return fmt.Errorf("tear down network %s: %w", name, err)
	}
	return nil
}
