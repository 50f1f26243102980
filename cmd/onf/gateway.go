package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/gateway"
	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
)

func init() {
	gw := &cobra.Command{
		Use:   "gateway",
		Short: "Authenticated JSON-RPC gateway in front of a group of RPC nodes",
		Long: `gateway proxies HTTP and WebSocket JSON-RPC to a pool of Substrate RPC nodes, with
API keys or JWTs, per-role method policies, and per-key and per-IP limits applied to every
call (also inside WebSocket connections and batches). See docs/gateway.md.`,
		Example: `  onf gateway key new --id team-a >> keys.yaml   # then hand out the printed key
  onf gateway check -c gateway.yaml
  onf gateway run -c gateway.yaml`,
	}
	gw.AddCommand(gatewayRunCmd(), gatewayCheckCmd(), gatewayKeyCmd())
	rootCmd.AddCommand(gw)
}

func gatewayRunCmd() *cobra.Command {
	var file, level, format string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the gateway until interrupted",
		Long: `run serves JSON-RPC on the configured address until SIGINT or SIGTERM. SIGHUP reloads the
API key file at once (it is also polled for changes).`,
		Example: `  onf gateway run -c gateway.yaml
  onf gateway run -c gateway.yaml --log-format json --log-level debug`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			log, err := newGatewayLogger(level, format)
			if err != nil {
				return err
			}
			cfg, err := config.Load(file)
			if err != nil {
				return err
			}
			g, err := gateway.New(cfg, gateway.WithLogger(log))
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go reloadOnHangup(ctx, hup, g, log)
			return g.Run(ctx)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "gateway config file (YAML or JSON)")
	cmd.Flags().StringVar(&level, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&format, "log-format", "text", "text or json")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, g *gateway.Gateway, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := g.ReloadKeys(); err != nil {
				log.Error("API keys not reloaded", "err", err)
			} else {
				log.Info("API keys reloaded on SIGHUP")
			}
		}
	}
}

func newGatewayLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

func gatewayCheckCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "check",
		Short:   "Validate a gateway config and the key files it names",
		Example: `  onf gateway check -c gateway.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := config.Load(file)
			if err != nil {
				return err
			}
			if _, err := gateway.New(cfg, gateway.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: ok (%d upstreams, %d roles)\n", file, len(cfg.Upstreams), len(cfg.Roles))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "gateway config file (YAML or JSON)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func gatewayKeyCmd() *cobra.Command {
	key := &cobra.Command{
		Use:   "key",
		Short: "Create API keys and the hashed entries of the key file",
		Example: `  onf gateway key new --id team-a >> keys.yaml
  printf %s "$KEY" | onf gateway key hash --id team-a >> keys.yaml`,
	}
	var id, role string
	newCmd := &cobra.Command{
		Use:   "new",
		Short: "Generate an API key",
		Long: `new generates a random 256-bit API key. The key file entry (which holds only the key's
SHA-256) goes to stdout, ready to append to the key file; the key itself goes to stderr, to hand
to the client once. It is not stored anywhere.`,
		Example: `  onf gateway key new --id team-a --role default >> keys.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			k, err := auth.NewKey()
			if err != nil {
				return err
			}
			if err := printKeyEntry(c, id, role, k); err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "API key for %s (shown once): %s\n", id, k)
			return nil
		},
	}
	newCmd.Flags().StringVar(&id, "id", "", "key id (appears in metrics and logs)")
	newCmd.Flags().StringVar(&role, "role", "", "role of the key (default: the \"default\" role)")
	_ = newCmd.MarkFlagRequired("id")

	var hid, hrole string
	hashCmd := &cobra.Command{
		Use:     "hash",
		Short:   "Print the key file entry of an existing key read from stdin",
		Example: `  read -rs KEY && printf %s "$KEY" | onf gateway key hash --id team-a >> keys.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(c.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("read the key from stdin: nothing given")
			}
			k := strings.TrimSpace(line)
			if len(k) < 20 || strings.Count(k, ".") == 2 {
				return errors.New("the key must have at least 20 characters and must not look like a JWT")
			}
			return printKeyEntry(c, hid, hrole, k)
		},
	}
	hashCmd.Flags().StringVar(&hid, "id", "", "key id (appears in metrics and logs)")
	hashCmd.Flags().StringVar(&hrole, "role", "", "role of the key")
	_ = hashCmd.MarkFlagRequired("id")
	key.AddCommand(newCmd, hashCmd)
	return key
}

// printKeyEntry prints the key file entry for key as a YAML list item under "keys:".
func printKeyEntry(c *cobra.Command, id, role, key string) error {
	b, err := yaml.Marshal([]auth.KeyEntry{{ID: id, SHA256: auth.HashKey(key), Role: role}})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "# add under \"keys:\" in the API key file\n%s", b)
	return nil
}
