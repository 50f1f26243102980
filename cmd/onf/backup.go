package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/local"
)

func init() {
	var dest, file string
	var where clusterFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Back up, verify and restore nodes' chain databases",
		Long: `backup keeps copies of a local network's chain data: create copies a full, archive or
rpc node's database (the node pauses for the copy; validators never do) as a tar+zstd archive
with a manifest (chain, genesis hash, best and finalized blocks, node version, size, sha256);
list, verify, restore and prune work on a destination: a directory, file:///path or
s3://bucket?region=...&endpoint=... (credentials from the AWS SDK's usual files or settings,
never the URL). Default destination: backups/ under the onf home. Node keys, the keystore
and secret URI files are never in a backup; a restore keeps the node's own.
See docs/backup.md.`,
		Example: `  onf backup create dev rpc-0
  onf backup list dev
  onf backup verify dev-20261205t101500.000z
  onf backup restore dev rpc-0 dev-20261205t101500.000z
  onf backup prune dev --keep 7 --max-age 720h
  onf backup create dev rpc-0 --dest 's3://chain-backups?region=eu-west-1'`,
	}
	cmd.PersistentFlags().StringVar(&dest, "dest", "", "destination: a directory, file:// or s3:// URL (default <home>/backups)")
	cmd.PersistentFlags().StringVar(&file, "spec", "", "network spec, to name the network")
	// open opens --dest, else the default: <home>/backups for local networks, and for a
	// network in a cluster its spec.backup.destination when this machine reaches it (s3://).
	open := func(c *cobra.Command, netArgs []string) (*backup.Store, error) {
		d := dest
		if d == "" && where.selected() {
			cl, name, err := clusterNetwork(c, &where, netArgs, file)
			if err != nil {
				return nil, err
			}
			if d, err = clusterDest(c, cl, name); err != nil {
				return nil, err
			}
		}
		if d == "" {
			home := homeFlag
			if home == "" {
				home = local.Home()
			}
			d = filepath.Join(home, "backups")
		}
		return backup.Open(c.Context(), d)
	}
	// onNetwork runs fn on the local network named by netArgs (or --spec) and the destination.
	onNetwork := func(c *cobra.Command, netArgs []string, fn func(*local.Runtime, string, *backup.Store) error) error {
		// Ctrl-C or SIGTERM aborts the upload or unpacking and still starts the node again.
		ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		c.SetContext(ctx)
		rt, name, err := localNetwork(netArgs, file)
		if err != nil {
			return err
		}
		st, err := open(c, netArgs)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(rt, name, st)
	}

	create := &cobra.Command{
		Use:   "create [NETWORK] NODE",
		Short: "Copy a node's chain database into a new backup",
		Long: `create stops the node, streams its data directory into the destination and starts it
again, so the copy is consistent (no process writes the database while it is read). Only
full, archive and rpc nodes are backed up. The manifest is written after the archive: an
interrupted backup never shows in list and cannot be restored.

In a cluster, NODE is spec.backup.source's node (GROUP-0): create runs the network's backup
CronJob once (a Job from its jobTemplate, owned by the CronJob, as kubectl create job
--from=cronjob/NET-backup does), waits until it ends and prints the backup it made.`,
		Example: `  onf backup create dev rpc-0
  onf backup create rpc-0 --dest /mnt/backups
  onf backup create -n chains relay backup-0 --timeout 2h`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			if where.selected() {
				cl, name, err := clusterNetwork(c, &where, args[:len(args)-1], file)
				if err != nil {
					return err
				}
				raw, err := cl.BackupNow(c.Context(), name, args[len(args)-1], timeout)
				if err != nil {
					return err
				}
				var m backup.Manifest
				if err := json.Unmarshal([]byte(raw), &m); err != nil {
					return fmt.Errorf("the backup Job's report %q: %w", raw, err)
				}
				printManifest(c.OutOrStdout(), &m)
				return nil
			}
			return onNetwork(c, args[:len(args)-1], func(rt *local.Runtime, name string, st *backup.Store) error {
				m, err := rt.Backup(c.Context(), name, args[len(args)-1], st)
				if m != nil {
					printManifest(c.OutOrStdout(), m)
				}
				return err
			})
		},
	}

	var output string
	list := &cobra.Command{
		Use:     "list [NETWORK]",
		Short:   "List the complete backups in the destination",
		Example: "  onf backup list\n  onf backup list dev -o json\n  onf backup list -n chains relay",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if where.selected() && len(args) == 0 {
				_, name, err := clusterNetwork(c, &where, args, file)
				if err != nil {
					return err
				}
				args = []string{name}
			}
			st, err := open(c, args)
			if err != nil {
				return err
			}
			defer st.Close()
			network := ""
			if len(args) == 1 {
				network = args[0]
			}
			all, err := st.List(c.Context(), network)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNODE\tCHAIN\tFINALIZED\tBEST\tSIZE\tCREATED")
			for _, m := range all {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", m.ID, m.Node, m.Chain, m.Finalized.Number, m.Best.Number, mib(m.ArchiveSize), m.Created.Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")

	verify := &cobra.Command{
		Use:   "verify ID",
		Short: "Read a whole backup and check it against its manifest",
		Long: `verify downloads the archive, checks its size and sha256 against the manifest and
unpacks it in memory to the end (nothing is written). It fails on a corrupt or truncated
archive.`,
		Example: "  onf backup verify dev-20261205t101500.000z\n  onf backup verify -n chains relay-20261205t030000.000z",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := backup.CheckID(args[0]); err != nil {
				return err
			}
			st, err := open(c, []string{backup.NetworkOf(args[0])})
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := st.Verify(c.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "backup %s is intact: %d files, %s, sha256 %s\n", m.ID, m.Files, mib(m.Size), m.SHA256)
			return nil
		},
	}

	restore := &cobra.Command{
		Use:   "restore [NETWORK] NODE ID",
		Short: "Replace a node's chain database with a backup",
		Long: `restore stops the node, unpacks the backup beside its data directory while checking
it against the manifest, and swaps it in only when it is complete and intact; then the node
starts from the backup's blocks and imports the rest from its peers. A corrupt or truncated
archive is refused and the node's data is left as it was. The node keeps its own keys.

In a cluster, NODE is a full, archive or rpc node of a network with spec.backup, and ID a
backup list shows (at --dest, else spec.backup.destination when it is s3://). restore records
the request for the node's pod (ConfigMap NET-restore-requests), deletes the node's data
claim and pod (the keystore and node keys are kept), and the StatefulSet makes both again:
the new pod's restore step fills the new, empty volume from the backup before the node
starts. restore waits until the pod is Ready (--timeout) and removes the request; a corrupt
archive fails the restore step, whose message restore prints, and the node stays down.`,
		Example: `  onf backup restore dev rpc-0 dev-20261205t101500.000z
  onf backup restore -n chains relay rpc-1 relay-20261205t030000.000z --dest /mnt/chain-backups/relay`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(c *cobra.Command, args []string) error {
			node, id := args[len(args)-2], args[len(args)-1]
			if err := backup.CheckID(id); err != nil {
				return err
			}
			if where.selected() {
				return restoreOnCluster(c, &where, args[:len(args)-2], file, node, id, timeout, open)
			}
			return onNetwork(c, args[:len(args)-2], func(rt *local.Runtime, name string, st *backup.Store) error {
				m, err := rt.Restore(c.Context(), name, node, id, st)
				if m != nil {
					printRestored(c.OutOrStdout(), m, name, node)
				}
				return err
			})
		},
	}

	var keep int
	var maxAge time.Duration
	prune := &cobra.Command{
		Use:   "prune [NETWORK]",
		Short: "Delete a network's backups beyond a retention",
		Long: `prune keeps a network's newest --keep backups and, of those, the ones younger than
--max-age, and deletes the rest. The newest backup is always kept. Without flags it uses
spec.backup.retention of the network's applied spec (in a cluster, of the SubstrateNetwork).`,
		Example: "  onf backup prune dev --keep 7\n  onf backup prune dev --max-age 720h\n  onf backup prune -n chains relay",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name, specRetention, err := retentionOf(c, &where, args, file)
			if err != nil {
				return err
			}
			r := backup.Retention{Keep: keep, MaxAge: maxAge}
			if !c.Flags().Changed("keep") && !c.Flags().Changed("max-age") {
				if r, err = specRetention(); err != nil {
					return err
				}
			}
			if r.Keep < 0 || r.MaxAge < 0 || r == (backup.Retention{}) {
				return fmt.Errorf("give --keep N (N >= 1) or --max-age, or set spec.backup.retention")
			}
			st, err := open(c, []string{name})
			if err != nil {
				return err
			}
			defer st.Close()
			gone, err := st.Prune(c.Context(), name, r, time.Now())
			for _, m := range gone {
				fmt.Fprintf(c.OutOrStdout(), "deleted %s\n", m.ID)
			}
			return err
		},
	}
	prune.Flags().IntVar(&keep, "keep", 0, "how many of the newest backups to keep")
	prune.Flags().DurationVar(&maxAge, "max-age", 0, "delete backups older than this (the newest is always kept)")

	create.Flags().DurationVar(&timeout, "timeout", time.Hour, "in a cluster: give up waiting for the backup Job after this long")
	restore.Flags().DurationVar(&timeout, "timeout", time.Hour, "in a cluster: give up waiting for the restored node's pod to be Ready after this long")
	for _, c := range []*cobra.Command{create, list, verify, restore, prune} {
		addClusterFlags(c, &where)
	}
	cmd.AddCommand(create, list, verify, restore, prune, backupJobCmd())
	rootCmd.AddCommand(cmd)
}

func printManifest(w io.Writer, m *backup.Manifest) {
	fmt.Fprintf(w, "backup %s of %s/%s\n  chain %s, genesis %s\n  best #%d %s\n  finalized #%d %s\n  node %s\n  %d files, %s (archive %s), sha256 %s\n",
		m.ID, m.Network, m.Node, m.Chain, m.GenesisHash, m.Best.Number, m.Best.Hash, m.Finalized.Number, m.Finalized.Hash,
		m.NodeVersion, m.Files, mib(m.Size), mib(m.ArchiveSize), m.SHA256)
}

func printRestored(w io.Writer, m *backup.Manifest, name, node string) {
	fmt.Fprintf(w, "restored %s into %s/%s: finalized #%d %s\n", m.ID, name, node, m.Finalized.Number, m.Finalized.Hash)
}

// restoreOnCluster is `onf backup restore` on a cluster network: it refuses what must not be
// restored before anything changes (cluster.CheckRestore, and a backup ID that list does not
// show for the network), then has the operator's restore step restore the node's wiped
// volume (cluster.RestoreNode) and prints what the local command prints.
func restoreOnCluster(c *cobra.Command, where *clusterFlags, netArgs []string, specFile, node, id string, timeout time.Duration,
	open func(*cobra.Command, []string) (*backup.Store, error)) error {
	cl, name, err := clusterNetwork(c, where, netArgs, specFile)
	if err != nil {
		return err
	}
	if err := cl.CheckRestore(c.Context(), name, node); err != nil {
		return err
	}
	st, err := open(c, []string{name})
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := st.List(c.Context(), name)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(m backup.Manifest) bool { return m.ID == id })
	if i < 0 {
		return fmt.Errorf("no backup %s of network %s at the destination (onf backup list %s shows the complete ones): nothing was changed", id, name, name)
	}
	if err := cl.RestoreNode(c.Context(), name, node, id, timeout); err != nil {
		return err
	}
	printRestored(c.OutOrStdout(), &all[i], name, node)
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// clusterNetwork is the cluster and the SubstrateNetwork a backup verb with cluster flags is
// about.
func clusterNetwork(c *cobra.Command, where *clusterFlags, args []string, specFile string) (*cluster.Client, string, error) {
	b, name, err := target(c.Context(), where, args, specFile)
	if err != nil {
		return nil, "", err
	}
	return b.(*cluster.Client), name, nil
}

// clusterDest is the network's spec.backup.destination when this machine reaches it: an
// s3:// URL. A directory is on a claim inside the backup pods, so --dest must name a copy.
func clusterDest(c *cobra.Command, cl *cluster.Client, name string) (string, error) {
	b, err := cl.BackupSpec(c.Context(), name)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(b.Destination, "s3://") {
		return "", fmt.Errorf("spec.backup.destination of network %s is %s, a directory on claim %q inside the cluster's backup pods: give --dest where this machine reaches it (the volume's directory, or a bucket it is copied to)", name, b.Destination, b.VolumeClaim)
	}
	return b.Destination, nil
}

// retentionOf is the network prune is about and a reader of its spec.backup.retention: the
// applied spec of a local network, or the SubstrateNetwork's in a cluster.
func retentionOf(c *cobra.Command, where *clusterFlags, args []string, specFile string) (string, func() (backup.Retention, error), error) {
	if where.selected() {
		cl, name, err := clusterNetwork(c, where, args, specFile)
		if err != nil {
			return "", nil, err
		}
		return name, func() (backup.Retention, error) {
			b, err := cl.BackupSpec(c.Context(), name)
			if err != nil {
				return backup.Retention{}, err
			}
			return backup.RetentionOf(b)
		}, nil
	}
	rt, name, err := localNetwork(args, specFile)
	if err != nil {
		return "", nil, err
	}
	return name, func() (backup.Retention, error) { return rt.BackupRetention(name) }, nil
}
