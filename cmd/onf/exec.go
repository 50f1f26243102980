package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	var where clusterFlags
	exe := &cobra.Command{
		Use:   "exec [NETWORK] NODE -- COMMAND [ARGS...]",
		Short: "Run a command with a node's endpoints in its environment",
		Long: `exec runs COMMAND with ONF_NODE, ONF_RPC_URL, ONF_WS_URL and ONF_METRICS_URL set to the
node's endpoints, for tools that talk to one node directly. For a local node COMMAND runs on
this machine. In a cluster it runs in the node's container (the pods/exec subresource), where
the endpoints are the container's own loopback ports; the variables are set through env(1),
so the image needs an env binary (the gossamer image's busybox has one). Standard input,
output and error are passed through; a failing COMMAND fails exec, naming its exit code.`,
		Example: `  onf exec rpc-0 -- sh -c 'curl -s -H content-type:application/json -d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"system_name\"}" $ONF_RPC_URL'
  onf exec -n chains relay validator-0 -- ls -l /data
  onf exec --context kind-dev -n chains relay rpc-0 -- sh -c 'wget -qO- $ONF_METRICS_URL | head'`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			dash := c.ArgsLenAtDash()
			if dash < 1 || dash > 2 || dash >= len(args) {
				return fmt.Errorf("want [NETWORK] NODE -- COMMAND")
			}
			b, name, err := target(c.Context(), &where, args[:dash-1], "")
			if err != nil {
				return err
			}
			return b.Exec(c.Context(), name, args[dash-1], args[dash:], c.InOrStdin(), c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	addClusterFlags(exe, &where)
	rootCmd.AddCommand(exe)
}
