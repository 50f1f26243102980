// Command onf is the Open Node Framework: deploy and operate Substrate node networks on one
// machine (supervised processes) or on Kubernetes (the operator). Each subcommand lives in its
// own file and registers itself on rootCmd.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "onf",
	Short: "Open Node Framework: deploy and operate Substrate node networks",
	Long: `onf deploys and operates Substrate (Polkadot) node networks described by one
SubstrateNetwork spec: locally as supervised processes, or on Kubernetes through the operator.`,
	Example: `  onf validate -f examples/dev-network.yaml
  onf up -f examples/dev-network.yaml
  onf status dev
  onf down dev --purge`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
