// Command dinfra is the DINFRA marketplace: the chain, its clients, descriptors and the
// provider-side chain reactor.
package main

import (
	"errors"
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
		// A remote command's status (dinfra ssh) is the command's status, as with ssh.
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
