package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/network"
)

func init() {
	var (
		file       string
		binary     string
		untilBlock uint64
		timeout    time.Duration
		foreground bool
	)
	up := &cobra.Command{
		Use:   "up -f SPEC",
		Short: "Start a network on this machine, or converge a running one on its spec",
		Long: `up validates the spec, starts the network's nodes as supervised processes (seeds first:
validators and boot nodes) and returns once every node answers RPC and has imported block
--until-block. A background supervisor keeps the nodes running, restarting crashed ones with
backoff, until 'onf down'. Running up again with a changed spec converges the running network:
new nodes start, removed ones stop, changed ones restart; an unchanged spec changes nothing.

With --foreground the supervisor runs in this terminal instead and Ctrl-C stops the network.`,
		Example: `  onf up -f examples/dev-network.yaml
  onf up -f examples/dev-network.yaml --binary ~/bin/gossamer --until-block 3
  onf up -f examples/dev-network.yaml --foreground`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rt, err := localRuntime()
			if err != nil {
				return err
			}
			n, err := network.Load(file)
			if err != nil {
				return err
			}
			if binary != "" {
				n.Spec.Node.Binary = binary
			}
			ctx := c.Context()
			if foreground {
				return runForeground(ctx, rt, n)
			}
			start := time.Now()
			if err := rt.Up(ctx, n, local.UpOptions{UntilBlock: untilBlock, Timeout: timeout}); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "network %s is up (%s)\n\n", n.Name, time.Since(start).Round(100*time.Millisecond))
			return printStatus(c, localBackend{rt}, n.Name, "table")
		},
	}
	addSpecFlag(up, &file, true)
	up.Flags().StringVar(&binary, "binary", "", "node binary for groups that name none (overrides spec.node.binary)")
	up.Flags().Uint64Var(&untilBlock, "until-block", 1, "return once every node has imported this block (0: once every node answers RPC)")
	up.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long, chain spec downloads included (a network that started keeps running)")
	up.Flags().BoolVar(&foreground, "foreground", false, "supervise in this terminal; Ctrl-C stops the network")
	rootCmd.AddCommand(up)

	supervise := &cobra.Command{
		Use:    "supervise NAME",
		Short:  "Run a local network's supervisor (started by 'onf up')",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, err := localRuntime()
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			return local.Supervise(c.Context(), rt.Home, args[0], log, rt.Gateways)
		},
	}
	rootCmd.AddCommand(supervise)
}

// runForeground applies the spec and supervises in this process until a signal arrives.
func runForeground(ctx context.Context, rt *local.Runtime, n *v1alpha1.SubstrateNetwork) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt.Supervisor = nil // nothing to spawn: this process supervises
	if _, err := rt.Prepare(ctx, n); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return local.Supervise(ctx, rt.Home, n.Name, log, rt.Gateways)
}
