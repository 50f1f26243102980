package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/local"
)

func init() {
	var (
		file   string
		output string
		watch  time.Duration
	)
	status := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show every node of a local network: role, version, peers, blocks, restarts, endpoints",
		Long: `status reads the supervisor's view of the network and asks every node over RPC for its
version, peers, best and finalized block and sync state.`,
		Example: `  onf status dev
  onf status -f examples/dev-network.yaml -o json
  onf status dev --watch 2s`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args, file)
			if err != nil {
				return err
			}
			for {
				if err := printStatus(c, rt, name, output); err != nil || watch == 0 {
					return err
				}
				select {
				case <-c.Context().Done():
					return nil
				case <-time.After(watch):
					fmt.Fprintln(c.OutOrStdout())
				}
			}
		},
	}
	addSpecFlag(status, &file, false)
	status.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	status.Flags().DurationVarP(&watch, "watch", "w", 0, "print again at this interval until interrupted")
	rootCmd.AddCommand(status)
}

func printStatus(c *cobra.Command, rt *local.Runtime, name, output string) error {
	st, err := rt.Status(c.Context(), name)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	switch output {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case "table":
	default:
		return fmt.Errorf("--output: want table or json, got %q", output)
	}
	state := "running"
	if st.Supervisor == 0 {
		state = "stopped"
	}
	fmt.Fprintf(out, "network %s (%s)\n", st.Network, state)
	if st.Error != "" {
		fmt.Fprintf(out, "error: %s\n", st.Error)
	}
	if st.Gateway != "" {
		fmt.Fprintf(out, "gateway: %s\n", st.Gateway)
	}
	w := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tROLE\tSTATE\tRESTARTS\tVERSION\tPEERS\tBEST\tFINALIZED\tSYNCING\tRPC\tMETRICS")
	var conflicts []string
	for _, n := range st.Nodes {
		node := "stopped"
		switch {
		case n.Conflict != "":
			node = "conflict"
			conflicts = append(conflicts, n.Name+": "+n.Conflict)
		case n.Running && n.RPCError != "":
			node = "starting"
		case n.Running:
			node = "up"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%t\t%s\t%s\n", n.Name, n.Role, node, n.Restarts,
			dash(n.Version), n.Peers, n.Best, n.Finalized, n.Syncing, n.WS, n.Metrics)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, c := range conflicts {
		fmt.Fprintf(out, "conflict: %s\n", c)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
