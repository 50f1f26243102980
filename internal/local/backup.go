package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/network"
)

// nodePlan is the plan of one node of a local network.
func (r *Runtime) nodePlan(name, node string) (*network.NodePlan, error) {
	dir, err := r.Dir(name)
	if err != nil {
		return nil, err
	}
	p, err := readPlan(dir)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	for i := range p.Nodes {
		if p.Nodes[i].Name == node {
			return &p.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("network %q has no node %q", name, node)
}

// Backup copies a node's chain database into a new backup in store. The node must not
// validate, collate or seed the network: it is stopped for the copy (so the database files
// are consistent: no process writes them) and started again, and only a node the network can
// spare may pause. The manifest records the chain facts the node reported just before it
// stopped.
func (r *Runtime) Backup(ctx context.Context, name, node string, store *backup.Store) (*backup.Manifest, error) {
	np, err := r.nodePlan(name, node)
	if err != nil {
		return nil, err
	}
	if err := spare(np, "back up"); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	m := backup.Manifest{ID: backup.NewID(name, now), Network: name, Node: node, Created: now}
	if err := backup.ChainFacts(ctx, rpcURL(*np), &m); err != nil {
		return nil, fmt.Errorf("node %s must be running to record what it holds: %w", node, err)
	}
	release, err := r.Hold(ctx, name, node)
	if err != nil {
		return nil, err
	}
	out, err := store.Create(ctx, np.BasePath, m)
	return out, errors.Join(err, r.restart(ctx, name, node, release, m.Finalized.Number))
}

// Restore replaces a node's chain database with a backup, keeping the node's keys. The node
// is stopped while its data is swapped (see backup.Store.Restore: a bad archive changes
// nothing) and started again. A backup of another chain (genesis hash) is refused when a
// node of the network can tell.
func (r *Runtime) Restore(ctx context.Context, name, node, id string, store *backup.Store) (*backup.Manifest, error) {
	np, err := r.nodePlan(name, node)
	if err != nil {
		return nil, err
	}
	if err := spare(np, "restore"); err != nil {
		return nil, err
	}
	m, err := store.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	var here backup.Manifest
	if backup.ChainFacts(ctx, rpcURL(*np), &here) == nil && here.GenesisHash != m.GenesisHash {
		return nil, fmt.Errorf("backup %s is of chain %q (genesis %s), node %s runs genesis %s", id, m.Chain, m.GenesisHash, node, here.GenesisHash)
	}
	release, err := r.Hold(ctx, name, node)
	if err != nil {
		return nil, err
	}
	out, err := store.Restore(ctx, id, np.BasePath)
	finalized := here.Finalized.Number // a refused archive leaves the node's own data
	if err == nil {
		finalized = m.Finalized.Number
	}
	return out, errors.Join(err, r.restart(ctx, name, node, release, finalized))
}

// restart releases a held node and, when the network runs, waits until it answers RPC again
// and reports at least the finalized block its data holds. A gossamer node just started may
// answer with genesis as its finalized head for a while (seen on a loaded CI machine after a
// restore): returning then would show the user a node that lost its chain.
func (r *Runtime) restart(ctx context.Context, name, node string, release func() error, finalized uint64) error {
	if err := release(); err != nil {
		return err
	}
	if r.supervisorPID(name) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	last := "does not answer RPC yet"
	for {
		st, err := r.Status(ctx, name)
		if err == nil {
			for _, n := range st.Nodes {
				if n.Name != node || !n.Running || n.RPCError != "" {
					continue
				}
				if n.Finalized >= finalized {
					return nil
				}
				last = fmt.Sprintf("reports finalized #%d, not yet its data's #%d", n.Finalized, finalized)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s was released but %s: %w", node, last, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// spare refuses to back up or restore a node the network cannot spare: a signing or boot
// node pauses block production or peering, and gets its keys and peers, never a backup's data.
func spare(np *network.NodePlan, verb string) error {
	switch np.Role {
	case v1alpha1.RoleFull, v1alpha1.RoleArchive, v1alpha1.RoleRPC:
		return nil
	}
	return fmt.Errorf("node %s is a %s node: %s a full, archive or rpc node, which can pause without stopping block production or peering", np.Name, np.Role, verb)
}

func rpcURL(np network.NodePlan) string { return fmt.Sprintf("http://127.0.0.1:%d", np.Ports.RPC) }

// BackupRetention is spec.backup.retention of the network's applied spec (validated there).
func (r *Runtime) BackupRetention(name string) (backup.Retention, error) {
	dir, err := r.Dir(name)
	if err != nil {
		return backup.Retention{}, err
	}
	n, _, err := readApplied(dir)
	if err != nil {
		return backup.Retention{}, fmt.Errorf("network %q: %w", name, err)
	}
	var out backup.Retention
	if b := n.Spec.Backup; b != nil && b.Retention != nil {
		if k := b.Retention.Keep; k != nil {
			out.Keep = int(*k)
		}
		if b.Retention.MaxAge != "" {
			out.MaxAge, err = time.ParseDuration(b.Retention.MaxAge)
		}
	}
	return out, err
}
