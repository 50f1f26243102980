package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	var (
		file  string
		purge bool
	)
	down := &cobra.Command{
		Use:   "down [NAME]",
		Short: "Stop a local network; with --purge also delete its data",
		Long: `down stops the network's supervisor and every node (SIGTERM, then SIGKILL after 15s) and
returns once no process of the network is left. Data, keys and ports are kept so 'onf up'
brings the same nodes back with the same peer IDs; --purge deletes them too.`,
		Example: `  onf down dev
  onf down -f examples/dev-network.yaml --purge`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args, file)
			if err != nil {
				return err
			}
			if err := rt.Down(c.Context(), name, purge); err != nil {
				return err
			}
			what := "stopped"
			if purge {
				what = "stopped and purged"
			}
			fmt.Fprintf(c.OutOrStdout(), "network %s %s\n", name, what)
			return nil
		},
	}
	addSpecFlag(down, &file, false)
	down.Flags().BoolVar(&purge, "purge", false, "also delete the network's data, keys and logs")
	rootCmd.AddCommand(down)
}
