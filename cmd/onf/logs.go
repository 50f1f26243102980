package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

func init() {
	var (
		file   string
		follow bool
	)
	logs := &cobra.Command{
		Use:   "logs [NETWORK] NODE",
		Short: "Print a node's log; -f follows it",
		Example: `  onf logs dev validator-0
  onf logs rpc-0 -f`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args[:len(args)-1], file)
			if err != nil {
				return err
			}
			node := args[len(args)-1]
			file, err := rt.LogFile(name, node)
			if err != nil {
				return err
			}
			f, err := os.Open(file)
			if err != nil {
				return fmt.Errorf("node %s of network %s: %w", node, name, err)
			}
			defer f.Close()
			out := c.OutOrStdout()
			for {
				if _, err := io.Copy(out, f); err != nil || !follow {
					return err
				}
				select {
				case <-c.Context().Done():
					return nil
				case <-time.After(250 * time.Millisecond):
				}
			}
		},
	}
	logs.Flags().StringVar(&file, "spec", "", "network spec, to name the network")
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing as the log grows")
	rootCmd.AddCommand(logs)
}
