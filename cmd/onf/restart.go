package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func init() {
	var (
		file    string
		timeout time.Duration
		where   clusterFlags
	)
	cmd := &cobra.Command{
		Use:   "restart [NETWORK] NODE",
		Short: "Stop a node of a running network and start it again",
		Long: `restart stops one node and starts it again with the same data, keys and peer ID; the
other nodes keep running. Locally the supervisor stops it (SIGTERM, then SIGKILL after its
timeout) and starts it, and restart waits until it answers RPC. In a cluster restart deletes
the node's pod (this pod only: the delete is conditional on its UID), the group's StatefulSet
makes it anew with the same volumes, and restart waits until the new pod is Ready.`,
		Example: `  onf restart dev rpc-0
  onf restart -f examples/dev-network.yaml validator-0
  onf restart --context eu-1 -n chains relay rpc-2`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			b, name, err := target(c.Context(), &where, args[:len(args)-1], file)
			if err != nil {
				return err
			}
			node := args[len(args)-1]
			if err := b.Restart(c.Context(), name, node, timeout); err != nil {
				return err
			}
			what := "answers RPC"
			if where.selected() {
				what = "its new pod is Ready"
			}
			fmt.Fprintf(c.OutOrStdout(), "network %s: %s restarted and %s\n", name, node, what)
			return nil
		},
	}
	addSpecFlag(cmd, &file, false)
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "give up waiting for the node after this long")
	addClusterFlags(cmd, &where)
	rootCmd.AddCommand(cmd)
}
