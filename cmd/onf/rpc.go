package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"

	"context"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
)

func init() {
	var file string
	call := &cobra.Command{
		Use:   "rpc [NETWORK] NODE METHOD [PARAMS_JSON]",
		Short: "Call a JSON-RPC method on one node directly",
		Long: `rpc sends one JSON-RPC call to a node's own RPC port (bypassing any gateway) and prints the
result as JSON. PARAMS_JSON is a JSON array of parameters.`,
		Example: `  onf rpc validator-0 system_health
  onf rpc dev rpc-0 chain_getBlockHash '[1]'`,
		Args: cobra.RangeArgs(2, 4),
		RunE: func(c *cobra.Command, args []string) error {
			rt, err := localRuntime()
			if err != nil {
				return err
			}
			net, node, method, params, err := splitRPCArgs(rt, args, file)
			if err != nil {
				return err
			}
			info, err := findNode(c.Context(), rt, net, node)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), 30*time.Second)
			defer cancel()
			client, err := rpc.Dial(ctx, info.RPC)
			if err != nil {
				return err
			}
			defer client.Close()
			var result json.RawMessage
			if err := client.Call(ctx, &result, method, params...); err != nil {
				return err
			}
			enc := json.NewEncoder(c.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(result)
		},
	}
	call.Flags().StringVar(&file, "spec", "", "network spec, to name the network")
	rootCmd.AddCommand(call)

	exe := &cobra.Command{
		Use:   "exec [NETWORK] NODE -- COMMAND [ARGS...]",
		Short: "Run a command with a node's endpoints in its environment",
		Long: `exec runs COMMAND with ONF_NODE, ONF_RPC_URL, ONF_WS_URL and ONF_METRICS_URL set to the
node's endpoints, for tools that talk to one node directly.`,
		Example: `  onf exec rpc-0 -- sh -c 'curl -s -H content-type:application/json -d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"system_name\"}" $ONF_RPC_URL'`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			rt, err := localRuntime()
			if err != nil {
				return err
			}
			dash := c.ArgsLenAtDash()
			if dash < 1 || dash >= len(args) {
				return fmt.Errorf("want [NETWORK] NODE -- COMMAND")
			}
			name, err := networkName(rt, args[:dash-1], "")
			if err != nil {
				return err
			}
			info, err := findNode(c.Context(), rt, name, args[dash-1])
			if err != nil {
				return err
			}
			cmd := exec.CommandContext(c.Context(), args[dash], args[dash+1:]...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.OutOrStdout(), c.ErrOrStderr()
			cmd.Env = append(os.Environ(), "ONF_NODE="+info.Name, "ONF_RPC_URL="+info.RPC,
				"ONF_WS_URL="+info.WS, "ONF_METRICS_URL="+info.Metrics)
			return cmd.Run()
		},
	}
	rootCmd.AddCommand(exe)
}

// splitRPCArgs reads [NETWORK] NODE METHOD [PARAMS_JSON].
func splitRPCArgs(rt *local.Runtime, args []string, file string) (net, node, method string, params []any, err error) {
	if n := len(args); n >= 3 && json.Valid([]byte(args[n-1])) && args[n-1] != "" && (args[n-1][0] == '[') {
		if err = json.Unmarshal([]byte(args[n-1]), &params); err != nil {
			return "", "", "", nil, fmt.Errorf("PARAMS_JSON: %w", err)
		}
		args = args[:n-1]
	}
	if len(args) < 2 || len(args) > 3 {
		return "", "", "", nil, fmt.Errorf("want [NETWORK] NODE METHOD [PARAMS_JSON]")
	}
	node, method = args[len(args)-2], args[len(args)-1]
	net, err = networkName(rt, args[:len(args)-2], file)
	return net, node, method, params, err
}

func findNode(ctx context.Context, rt *local.Runtime, network, node string) (*local.NodeInfo, error) {
	st, err := rt.Status(ctx, network)
	if err != nil {
		return nil, err
	}
	for i := range st.Nodes {
		if st.Nodes[i].Name == node {
			return &st.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("network %s has no node %q", network, node)
}
