package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/rpc"
)

func init() {
	var (
		file  string
		where clusterFlags
	)
	call := &cobra.Command{
		Use:   "rpc [NETWORK] NODE METHOD [PARAMS_JSON]",
		Short: "Call a JSON-RPC method on one node directly",
		Long: `rpc sends one JSON-RPC call to a node's own RPC port (bypassing any gateway) and prints the
result as JSON. PARAMS_JSON is a JSON array of parameters. In a cluster the call goes through
a port-forward to the node's pod (the pods/portforward subresource), opened on a free
loopback port for this call only.`,
		Example: `  onf rpc validator-0 system_health
  onf rpc dev rpc-0 chain_getBlockHash '[1]'
  onf rpc -n chains relay rpc-1 system_peers`,
		Args: cobra.RangeArgs(2, 4),
		RunE: func(c *cobra.Command, args []string) error {
			args, params, err := splitParams(args)
			if err != nil {
				return err
			}
			if len(args) < 2 || len(args) > 3 {
				return fmt.Errorf("want [NETWORK] NODE METHOD [PARAMS_JSON]")
			}
			node, method := args[len(args)-2], args[len(args)-1]
			b, net, err := target(c.Context(), &where, args[:len(args)-2], file)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), 30*time.Second)
			defer cancel()
			url, stop, err := b.ForwardRPC(ctx, net, node)
			if err != nil {
				return err
			}
			defer stop()
			client, err := rpc.Dial(ctx, url)
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
	addClusterFlags(call, &where)
	rootCmd.AddCommand(call)
}

// splitParams takes a trailing PARAMS_JSON array off the arguments.
func splitParams(args []string) ([]string, []any, error) {
	n := len(args)
	if n < 3 || args[n-1] == "" || args[n-1][0] != '[' {
		return args, nil, nil
	}
	var params []any
	if err := json.Unmarshal([]byte(args[n-1]), &params); err != nil {
		return nil, nil, fmt.Errorf("PARAMS_JSON: %w", err)
	}
	return args[:n-1], params, nil
}
