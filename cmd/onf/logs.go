package main

import (
	"github.com/spf13/cobra"
)

func init() {
	var (
		file   string
		follow bool
		where  clusterFlags
	)
	logs := &cobra.Command{
		Use:   "logs [NETWORK] NODE",
		Short: "Print a node's log; -f follows it",
		Long: `logs prints a node's log: the supervisor's log file of a local node, or the node
container's log (the pods/log subresource) in a cluster. -f keeps printing until interrupted.`,
		Example: `  onf logs dev validator-0
  onf logs rpc-0 -f
  onf logs --context kind-dev -n chains relay validator-0 -f`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			b, name, err := target(c.Context(), &where, args[:len(args)-1], file)
			if err != nil {
				return err
			}
			return b.Logs(c.Context(), name, args[len(args)-1], follow, c.OutOrStdout())
		},
	}
	logs.Flags().StringVar(&file, "spec", "", "network spec, to name the network")
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing as the log grows")
	addClusterFlags(logs, &where)
	rootCmd.AddCommand(logs)
}
