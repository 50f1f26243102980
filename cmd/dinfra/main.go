// Command dinfra is the DINFRA marketplace: the chain, its clients, descriptors and the
// provider-side chain reactor.
package main

import (
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "dinfra",
	Short:         "DINFRA: a decentralized infrastructure marketplace on a CometBFT ledger",
	SilenceUsage:  true,
	SilenceErrors: false,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
