package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/network"
)

func init() {
	var (
		file    string
		timeout time.Duration
	)
	scale := &cobra.Command{
		Use:   "scale [NAME] GROUP=REPLICAS",
		Short: "Change the number of nodes in a group of a running local network",
		Long: `scale sets a group's replica count in the network's applied spec and waits until the
supervisor has converged: new nodes run and answer RPC, removed nodes are stopped (their
data is kept, so scaling back up restores the same peer IDs).`,
		Example: `  onf scale dev rpc=3
  onf scale -f examples/dev-network.yaml rpc=1`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			group, count, ok := strings.Cut(args[len(args)-1], "=")
			// 32 bits, as in the spec: a larger count must not wrap around to a small one.
			// The spec's own bound (network.MaxReplicas) is checked with the new spec.
			replicas, err := strconv.ParseInt(count, 10, 32)
			if !ok || err != nil || replicas < 0 {
				return fmt.Errorf("want GROUP=REPLICAS with 0 <= REPLICAS <= %d, got %q", network.MaxReplicas, args[len(args)-1])
			}
			rt, name, err := localNetwork(args[:len(args)-1], file)
			if err != nil {
				return err
			}
			if err := rt.Scale(c.Context(), name, group, int(replicas), local.UpOptions{Timeout: timeout}); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "network %s: group %s has %d nodes\n", name, group, replicas)
			return nil
		},
	}
	addSpecFlag(scale, &file, false)
	scale.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "give up waiting after this long")
	rootCmd.AddCommand(scale)
}
