package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/network"
)

// homeFlag is the root of local network state, shared by every local command.
var homeFlag string

func init() {
	rootCmd.PersistentFlags().StringVar(&homeFlag, "home", "", "state directory of local networks (default $ONF_HOME or ~/.local/state/onf)")
}

func localRuntime() (*local.Runtime, error) {
	home := homeFlag
	if home == "" {
		home = local.Home()
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &local.Runtime{Home: home, Supervisor: []string{self, "supervise"}}, nil
}

// localNetwork is the runtime and the network a command is about.
func localNetwork(args []string, specFile string) (*local.Runtime, string, error) {
	rt, err := localRuntime()
	if err != nil {
		return nil, "", err
	}
	name, err := networkName(rt, args, specFile)
	return rt, name, err
}

// networkName is the network a command is about: the NAME argument, the name in the -f spec,
// or the only local network there is.
func networkName(rt *local.Runtime, args []string, specFile string) (string, error) {
	switch {
	case len(args) > 0:
		return args[0], nil
	case specFile != "":
		n, err := network.Load(specFile)
		if err != nil {
			return "", err
		}
		return n.Name, nil
	}
	names, err := rt.Networks()
	if err != nil {
		return "", err
	}
	if len(names) != 1 {
		return "", fmt.Errorf("name the network (local networks: %v)", names)
	}
	return names[0], nil
}

func addSpecFlag(c *cobra.Command, target *string, required bool) {
	c.Flags().StringVarP(target, "file", "f", "", "network spec (YAML or JSON)")
	if required {
		_ = c.MarkFlagRequired("file")
	}
}
