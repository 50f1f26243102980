package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	var file string
	cmd := &cobra.Command{
		Use:   "restart [NETWORK] NODE",
		Short: "Stop a node of a running local network and start it again",
		Long: `restart stops one node (the supervisor's own stop: SIGTERM, then SIGKILL after its
timeout) and starts it again with the same data, keys and peer ID, then waits until it
answers RPC. The other nodes keep running. Local networks only; in a cluster, delete the
node's pod (kubectl delete pod) and its StatefulSet starts it again.`,
		Example: `  onf restart dev rpc-0
  onf restart -f examples/dev-network.yaml validator-0`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args[:len(args)-1], file)
			if err != nil {
				return err
			}
			node := args[len(args)-1]
			if err := rt.Restart(c.Context(), name, node); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "network %s: %s restarted and answers RPC\n", name, node)
			return nil
		},
	}
	addSpecFlag(cmd, &file, false)
	rootCmd.AddCommand(cmd)
}
