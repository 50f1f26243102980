package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/rollout"
)

func init() {
	var (
		file   string
		output string
		watch  time.Duration
		where  clusterFlags
	)
	status := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show every node of a network: role, version, peers, blocks, restarts, endpoints",
		Long: `status shows a row per node of the network's spec. For a local network it reads the
supervisor's view and asks every node over RPC for its version, peers, best and finalized
block and sync state. For a SubstrateNetwork in a cluster it reads the pods (running,
restarts, last exit, pod IP endpoints) and the chain facts the operator gathered into the
network's status; the header shows the Ready condition. The table and -o json have the same
columns and fields for both.`,
		Example: `  onf status dev
  onf status -f examples/dev-network.yaml -o json
  onf status dev --watch 2s
  onf status dev -n chains
  onf status --kubeconfig ~/.kube/prod --context eu-1 -n chains relay -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			b, name, err := target(c.Context(), &where, args, file)
			if err != nil {
				return err
			}
			for {
				if err := printStatus(c, b, name, output); err != nil || watch == 0 {
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
	addClusterFlags(status, &where)
	rootCmd.AddCommand(status)
}

func printStatus(c *cobra.Command, b backend, name, output string) error {
	st, err := b.Status(c.Context(), name)
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
	if st.Namespace != "" {
		name = st.Namespace + "/" + st.Network
	}
	fmt.Fprintf(out, "network %s (%s)\n", name, st.State)
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
		if n.Conflict != "" {
			conflicts = append(conflicts, n.Name+": "+n.Conflict)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%t\t%s\t%s\n", n.Name, n.Role, n.State(), n.Restarts,
			dash(n.Version), n.Peers, n.Best, n.Finalized, n.Syncing, dash(n.WS), dash(n.Metrics))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, c := range conflicts {
		fmt.Fprintf(out, "conflict: %s\n", c)
	}
	for _, r := range st.Rollouts {
		fmt.Fprintln(out, rollout.Line(r))
	}
	for _, h := range st.HA {
		fmt.Fprintf(out, "ha %s: authority %s, lease holder %s, expires %s%s\n", h.Identity, dash(h.Authority), dash(h.Holder), dash(h.Expires), dashErr(h.Error))
	}
	return printFiringAlerts(c, b, name)
}

func dashErr(err string) string {
	if err == "" {
		return ""
	}
	return " (lease store: " + err + ")"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
