package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/network"
)

func init() {
	var (
		file    string
		timeout time.Duration
		where   clusterFlags
	)
	scale := &cobra.Command{
		Use:   "scale [NAME] GROUP=REPLICAS",
		Short: "Change the number of nodes in a group of a running network",
		Long: `scale sets a group's replica count and waits until the network has converged.
Locally it changes the network's applied spec and waits for the supervisor: new nodes run and
answer RPC, removed nodes are stopped (their data is kept, so scaling back up restores the
same peer IDs). In a cluster it patches spec.groups[i].replicas of the SubstrateNetwork and
waits until the operator has observed it and the group has exactly that many pods, all Ready
(their volumes and node keys are kept the same way). The changed spec is validated first:
a refused count changes nothing.`,
		Example: `  onf scale dev rpc=3
  onf scale -f examples/dev-network.yaml rpc=1
  onf scale -n chains relay rpc=4 --timeout 10m`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			group, count, ok := strings.Cut(args[len(args)-1], "=")
			// 32 bits, as in the spec: a larger count must not wrap around to a small one.
			// The spec's own bound (network.MaxReplicas) is checked with the new spec.
			replicas, err := strconv.ParseInt(count, 10, 32)
			if !ok || err != nil || replicas < 0 {
				return fmt.Errorf("want GROUP=REPLICAS with 0 <= REPLICAS <= %d, got %q", network.MaxReplicas, args[len(args)-1])
			}
			b, name, err := target(c.Context(), &where, args[:len(args)-1], file)
			if err != nil {
				return err
			}
			if err := b.Scale(c.Context(), name, group, int(replicas), timeout); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "network %s: group %s has %d nodes\n", name, group, replicas)
			return nil
		},
	}
	addSpecFlag(scale, &file, false)
	scale.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "give up waiting after this long")
	addClusterFlags(scale, &where)
	rootCmd.AddCommand(scale)
}
