package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/network"
)

// restorePending marks a node's data directory that this apply is filling from its group's
// restoreFrom (the cluster's restore-mark step writes the same name): a directory left with
// it by an interrupted apply is restored again, never run on its init's genesis chain.
const restorePending = ".onf-restore-pending"

// restoreNew bootstraps the new nodes of groups with spec.groups[].restoreFrom, before the
// spec is stored and so before any of them starts: for each node whose data directory is
// missing or empty (or still marked by an interrupted restore) it runs the node's init
// (config, genesis) and then replaces the chain data with the backup or the snapshot, checked
// while it is unpacked (manifest size and sha256, or the given sha256, and the tar stream to
// its end) and moved in only when complete. The directory is then marked initialised, so the
// supervisor starts the node on it as on any prepared node. A node the running supervisor
// already has is its own: the supervisor prepares it. Directories holding data are never
// touched, as in clusters. On an error the directories this call filled are removed again and
// the error names the field: nothing is half-written, and the apply fails before anything
// starts.
func (r *Runtime) restoreNew(ctx context.Context, dir Dir, n *v1alpha1.SubstrateNetwork, p *network.Plan) (err error) {
	supervised := map[string]bool{}
	if r.supervisorPID(n.Name) != 0 {
		if old, err := readPlan(dir); err == nil {
			for _, np := range old.Nodes {
				supervised[np.Name] = true
			}
		}
	}
	var filled []string
	defer func() {
		if err != nil {
			for _, d := range filled {
				err = errors.Join(err, os.RemoveAll(d))
			}
		}
	}()
	for _, np := range p.Nodes {
		i := slices.IndexFunc(n.Spec.Groups, func(g v1alpha1.NodeGroup) bool { return g.Name == np.Group })
		if i < 0 || n.Spec.Groups[i].RestoreFrom == nil || supervised[np.Name] {
			continue
		}
		fresh, err := waitsForRestore(np.BasePath)
		if err != nil {
			return err
		}
		if !fresh {
			continue
		}
		filled = append(filled, np.BasePath)
		if err := restoreNode(ctx, dir, np, n, i); err != nil {
			return err
		}
	}
	return nil
}

// waitsForRestore reports whether a node's data directory is missing, empty or marked by an
// interrupted restore.
func waitsForRestore(base string) (bool, error) {
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	return len(entries) == 0 || exists(filepath.Join(base, restorePending)), err
}

// restoreNode initialises one node's data directory and fills it from group i's restoreFrom.
func restoreNode(ctx context.Context, dir Dir, np network.NodePlan, n *v1alpha1.SubstrateNetwork, i int) error {
	from := n.Spec.Groups[i].RestoreFrom
	field := fmt.Sprintf("spec.groups[%d].restoreFrom", i)
	if err := os.MkdirAll(np.BasePath, 0o700); err != nil {
		return err
	}
	pending := filepath.Join(np.BasePath, restorePending)
	if err := writeFile(pending, nil, 0o600); err != nil {
		return err
	}
	if err := runInit(dir, np, np.Init); err != nil {
		return fmt.Errorf("%s: node %s: %w", field, np.Name, err)
	}
	if from.Backup != "" {
		field += ".backup"
		dest := ""
		if n.Spec.Backup != nil { // network.Validate requires it with a backup ID
			dest = n.Spec.Backup.Destination
		}
		st, err := backup.Open(ctx, dest)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		defer st.Close()
		if _, err := st.RestoreVolume(ctx, from.Backup, np.BasePath); err != nil {
			return fmt.Errorf("%s: node %s: %w", field, np.Name, err)
		}
	} else if _, err := backup.FetchSnapshot(ctx, from.URL, from.SHA256, np.BasePath); err != nil {
		return fmt.Errorf("%s.url: node %s: %w", field, np.Name, err)
	}
	if err := writeFile(initializedMarker(np), nil, 0o600); err != nil {
		return err
	}
	return os.Remove(pending)
}
