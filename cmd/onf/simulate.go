package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/loadgen"
)

func init() {
	var (
		where   clusterFlags
		cfg     loadgen.Config
		node    string
		output  string
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "simulate NETWORK [--transfers-per-block N] [--blocks M]",
		Short: "Load a dev network with balance transfers and summarise block times and finality",
		Long: `simulate sends N signed balance transfers on each of M new blocks through one node's RPC
(the dev accounts //Alice ... //Ferdie pay each other, signed here with
go-substrate-rpc-client), watches a few more blocks for their inclusion, and prints a
summary: blocks, transfers sent, included and refused, block time median and p95 (from the
blocks' on-chain timestamps) and finality lag (best minus finalized block) median and max.
The dev accounts are funded on dev chains only: simulate is for test networks such as the
simulation template's (onf init --template simulation).`,
		Example: `  onf init --template simulation -o sim.yaml && onf up -f sim.yaml
  onf simulate simulation --transfers-per-block 5 --blocks 10
  onf simulate simulation --node full-0 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output %q: want text or json", output)
			}
			ctx, cancel := context.WithTimeout(c.Context(), timeout)
			defer cancel()
			b, net, err := target(ctx, &where, args, "")
			if err != nil {
				return err
			}
			url, stop, err := b.ForwardRPC(ctx, net, node)
			if err != nil {
				return err
			}
			defer stop()
			cfg.URL, cfg.Progress = url, c.ErrOrStderr()
			sum, err := loadgen.Run(ctx, cfg)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			_, err = fmt.Fprintln(c.OutOrStdout(), sum)
			return err
		},
	}
	c.Flags().IntVar(&cfg.TransfersPerBlock, "transfers-per-block", 5, "transfers sent on each new block")
	c.Flags().IntVar(&cfg.Blocks, "blocks", 10, "blocks to send on")
	c.Flags().IntVar(&cfg.Grace, "grace", 3, "at most this many blocks after the last send count inclusions (the run ends once all are included)")
	c.Flags().StringVar(&node, "node", "rpc-0", "the node whose RPC the transfers go through")
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long (a chain that stopped producing blocks)")
	addClusterFlags(c, &where)
	rootCmd.AddCommand(c)
}
