package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/backup"
)

// restorePending marks a data volume that waits for its restore (see kube's withRestore).
const restorePending = ".onf-restore-pending"

// backupJobCmd holds the steps the operator's backup Jobs and restore init steps run in
// cluster pods, on the node's data volume: the same archive, manifest and checks as the
// local `onf backup` verbs.
func backupJobCmd() *cobra.Command {
	job := &cobra.Command{
		Use:   "job",
		Short: "The backup and restore steps the operator runs in cluster pods",
		Long: `job holds the steps of spec.backup's CronJob (facts, create) and of a group's
spec.groups[].restoreFrom init steps (mark, restore). The operator renders them; run them by
hand only to debug a pod. See docs/backup.md.`,
	}
	var rpcURL, out string
	facts := &cobra.Command{
		Use:     "facts --rpc URL --out FILE",
		Short:   "Record what the source node holds (chain, genesis, blocks, version) before the copy",
		Example: `  onf backup job facts --rpc http://dev-backup-0.dev-backup.chains.svc.cluster.local:9944 --out /work/facts.json`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var m backup.Manifest
			err := retry(c.Context(), 2*time.Minute, func() error { return backup.ChainFacts(c.Context(), rpcURL, &m) })
			if err != nil {
				return fmt.Errorf("node at %s must answer RPC to record what it holds: %w", rpcURL, err)
			}
			data, err := json.Marshal(m)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: best #%d %s, finalized #%d %s\n", rpcURL, m.Best.Number, m.Best.Hash, m.Finalized.Number, m.Finalized.Hash)
			return os.WriteFile(out, data, 0o600)
		},
	}
	facts.Flags().StringVar(&rpcURL, "rpc", "", "the source node's RPC URL")
	facts.Flags().StringVar(&out, "out", "", "file to write the facts to")

	var netName, node, factsFile, data, stopped, dest, report string
	var keep int
	var maxAge, waitFor time.Duration
	create := &cobra.Command{
		Use:   "create --network NAME --node NODE --facts FILE --data DIR --wait-stopped FILE --dest DEST",
		Short: "Copy a stopped node's data volume into a new backup, then apply the retention",
		Long: `create waits until the source node's pod is gone (the operator stops its group
while this step runs and, once the pod is gone, annotates this pod, which the file given to
--wait-stopped shows through a downward API volume), so nothing writes the database while it
is read; then it streams the data directory to the destination, writes the manifest last,
and deletes the backups the retention drops. It needs no access to the API.`,
		Example: `  onf backup job create --network dev --node backup-0 --facts /work/facts.json --data /data \
    --wait-stopped /var/run/onf/hold/source-stopped --dest /backups --keep 7`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			raw, err := os.ReadFile(factsFile)
			if err != nil {
				return err
			}
			var m backup.Manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("%s: %w", factsFile, err)
			}
			fmt.Fprintf(c.OutOrStdout(), "waiting for the source node %s to stop\n", node)
			err = retry(ctx, waitFor, func() error {
				if b, err := os.ReadFile(stopped); err != nil || strings.TrimSpace(string(b)) != "true" {
					return fmt.Errorf("the source node %s has not stopped (%s is not true: the operator stops its group while a backup Job runs): %v", node, stopped, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
			st, err := backup.Open(ctx, dest)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now().UTC()
			m.ID, m.Network, m.Node, m.Created = backup.NewID(netName, now), netName, node, now
			made, err := st.Create(ctx, data, m)
			if err != nil {
				return err
			}
			printManifest(c.OutOrStdout(), made)
			if keep != 0 || maxAge != 0 {
				gone, err := st.Prune(ctx, netName, backup.Retention{Keep: keep, MaxAge: maxAge}, time.Now())
				for _, g := range gone {
					fmt.Fprintf(c.OutOrStdout(), "deleted %s\n", g.ID)
				}
				if err != nil {
					return err
				}
			}
			if report == "" {
				return nil
			}
			// The pod's termination message: `onf backup create` on a cluster reads the
			// manifest there (a few hundred bytes; the kubelet keeps up to 4 KiB).
			raw, err = json.Marshal(made)
			if err != nil {
				return err
			}
			return os.WriteFile(report, raw, 0o600)
		},
	}
	create.Flags().StringVar(&report, "report", "", "file to write the new backup's manifest to (the pod's termination message)")
	create.Flags().StringVar(&netName, "network", "", "the network's name (names the backup)")
	create.Flags().StringVar(&node, "node", "", "the node's name in the manifest (GROUP-0)")
	create.Flags().StringVar(&factsFile, "facts", "", "the file the facts step wrote")
	create.Flags().StringVar(&data, "data", "/data", "the node's data directory (its volume, mounted read-only)")
	create.Flags().StringVar(&stopped, "wait-stopped", "", "file that reads true once the source node's pod is gone (a downward API file of this pod's annotation)")
	create.Flags().DurationVar(&waitFor, "wait", 10*time.Minute, "how long to wait for the source pod to stop")
	create.Flags().StringVar(&dest, "dest", "", "destination: a directory or an s3:// URL")
	create.Flags().IntVar(&keep, "keep", 0, "retention: how many of the newest backups to keep")
	create.Flags().DurationVar(&maxAge, "max-age", 0, "retention: delete backups older than this")

	mark := &cobra.Command{
		Use:     "mark --data DIR",
		Short:   "Mark an empty (new or wiped) data volume as waiting for a restore",
		Example: "  onf backup job mark --data /data",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			empty, err := emptyVolume(data)
			if err != nil || !empty {
				if err == nil {
					fmt.Fprintf(c.OutOrStdout(), "%s holds data: no restore\n", data)
				}
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s is empty: it waits for a restore\n", data)
			return os.WriteFile(filepath.Join(data, restorePending), nil, 0o600)
		},
	}
	mark.Flags().StringVar(&data, "data", "/data", "the node's data volume")

	var id, snapURL, sum, requests, podName string
	restore := &cobra.Command{
		Use:   "restore --data DIR [--requests DIR --pod NAME] [--id ID --dest DEST | --url URL --sha256 SUM]",
		Short: "Restore a backup or a snapshot into a data volume marked by mark",
		Long: `restore unpacks a backup (checked against its manifest) or a snapshot archive from an
http(s) URL (checked against --sha256) into the volume, only if mark found it empty, and
clears the mark when done. A corrupt or truncated archive fails with the reason and leaves
the volume as it was, still marked: the node does not start on half data.

What it restores: the backup ID in the file --requests/--pod if there is one (a request of
onf backup restore on a cluster, at --dest), else --id or --url; with none, the marked
volume is left to the node's own init (genesis) and the mark cleared.`,
		Example: `  onf backup job restore --data /data --id dev-20261205t101500.000z --dest /backups
  onf backup job restore --data /data --url https://snapshots.example/dev.tar.zst --sha256 6f1e...
  onf backup job restore --data /data --dest /backups --requests /var/run/onf/restore-requests --pod dev-rpc-1`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			marker := filepath.Join(data, restorePending)
			if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(c.OutOrStdout(), "%s was not empty at start: nothing to restore\n", data)
				return nil
			}
			if id != "" && snapURL != "" {
				return fmt.Errorf("give --id (with --dest) or --url (with --sha256), not both")
			}
			if requests != "" {
				req, err := os.ReadFile(filepath.Join(requests, podName))
				switch {
				case err == nil:
					id, snapURL = strings.TrimSpace(string(req)), ""
					fmt.Fprintf(c.OutOrStdout(), "restore requested for pod %s: backup %s\n", podName, id)
				case !errors.Is(err, os.ErrNotExist):
					return err
				}
			}
			switch {
			case id != "":
				st, err := backup.Open(ctx, dest)
				if err != nil {
					return err
				}
				defer st.Close()
				m, err := st.RestoreVolume(ctx, id, data)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "restored %s: finalized #%d %s, best #%d %s\n", m.ID, m.Finalized.Number, m.Finalized.Hash, m.Best.Number, m.Best.Hash)
			case snapURL != "":
				stats, err := backup.FetchSnapshot(ctx, snapURL, sum, data)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "restored snapshot %s: %d files, %s\n", snapURL, stats.Files, mib(stats.Size))
			default:
				fmt.Fprintf(c.OutOrStdout(), "no restore requested for pod %s: the node starts from its own init\n", podName)
			}
			return os.Remove(marker)
		},
	}
	restore.Flags().StringVar(&data, "data", "/data", "the node's data volume")
	restore.Flags().StringVar(&id, "id", "", "backup ID at --dest")
	restore.Flags().StringVar(&dest, "dest", "", "destination holding the backup: a directory or an s3:// URL")
	restore.Flags().StringVar(&snapURL, "url", "", "http(s) URL of a snapshot archive")
	restore.Flags().StringVar(&sum, "sha256", "", "the snapshot archive's sha256")
	restore.Flags().StringVar(&requests, "requests", "", "directory of restore requests, a file per pod name holding a backup ID (a ConfigMap volume)")
	restore.Flags().StringVar(&podName, "pod", "", "this pod's name: its request in --requests")

	job.AddCommand(facts, create, mark, restore)
	return job
}

// emptyVolume reports whether a data volume holds nothing but a file system's lost+found.
func emptyVolume(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Name() != "lost+found" && e.Name() != restorePending {
			return false, nil
		}
	}
	return true, nil
}

// retry calls fn every 2 seconds until it succeeds or limit has passed.
func retry(ctx context.Context, limit time.Duration, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(2 * time.Second):
		}
	}
}
