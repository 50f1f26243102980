package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/ledger/wire"
)

func defaultChainHome() string {
	if h := os.Getenv("DINFRA_HOME"); h != "" {
		return filepath.Join(h, "chain")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".dinfra/chain"
	}
	return filepath.Join(home, ".dinfra", "chain")
}

func newChainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chain",
		Short: "Run the DINFRA chain (CometBFT with the marketplace ledger)",
		Example: `  dinfra chain init --home ~/.dinfra/node
  dinfra chain start --home ~/.dinfra/node
  dinfra chain testnet --validators 4 --output ./testnet`,
	}
	cmd.AddCommand(newChainInitCmd(), newChainStartCmd(), newChainTestnetCmd())
	return cmd
}

// genesisFlags shape the ledger genesis of init and testnet.
type genesisFlags struct {
	chainID       string
	blockTime     time.Duration
	deployTimeout int64
	strategy      string
	typeDeposit   uint64
}

func (f *genesisFlags) register(cmd *cobra.Command, blockTime time.Duration) {
	cmd.Flags().StringVar(&f.chainID, "chain-id", chain.DefaultChainID, "chain id (signed into every transaction)")
	cmd.Flags().DurationVar(&f.blockTime, "block-time", blockTime, "time between blocks (CometBFT timeout_commit)")
	cmd.Flags().Int64Var(&f.deployTimeout, "deploy-timeout", wire.DefaultParams().DeployTimeout, "blocks a provider has to report an award deployed before it is refunded")
	cmd.Flags().StringVar(&f.strategy, "default-strategy", wire.StrategyRoundRobin, "award strategy when a subscription names none: round_robin, random or capacity")
	cmd.Flags().Uint64Var(&f.typeDeposit, "type-deposit", uint64(wire.DefaultParams().TypeDeposit), "deposit held for each registered descriptor type")
}

// genesis is the dev genesis with the descriptor registry's types and the flags' params;
// chain.Init and chain.Testnet check it by the ledger's rules before writing anything.
func (f *genesisFlags) genesis() (wire.Genesis, error) {
	reg, err := descriptor.NewRegistry()
	if err != nil {
		return wire.Genesis{}, err
	}
	g := wire.DevGenesis(chain.BuiltinTypes(reg))
	g.Params.DeployTimeout = f.deployTimeout
	g.Params.DefaultStrategy = f.strategy
	g.Params.TypeDeposit = wire.Amount(f.typeDeposit)
	return g, nil
}

func newChainInitCmd() *cobra.Command {
	var (
		gf             genesisFlags
		home, p2p, rpc string
		force          bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a single-validator chain home (config, genesis with endowed dev accounts, keys)",
		Long: `Write a CometBFT home for a one-validator DINFRA chain: config/config.toml, a genesis whose
ledger state endows the development accounts (//Alice .. //Ferdie, sr25519 and ed25519) and
registers the built-in descriptor types, and the validator and node keys (0600).`,
		Example: `  dinfra chain init --home /tmp/dinfra
  dinfra chain start --home /tmp/dinfra`,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := gf.genesis()
			if err != nil {
				return err
			}
			if err := chain.Init(chain.InitOptions{Home: home, ChainID: gf.chainID, Genesis: g, BlockTime: gf.blockTime,
				P2PAddr: p2p, RPCAddr: rpc, Force: force}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialized chain %s in %s\nstart it with: dinfra chain start --home %s\n", gf.chainID, home, home)
			return nil
		},
	}
	gf.register(cmd, chain.DefaultBlockTime)
	cmd.Flags().StringVar(&home, "home", defaultChainHome(), "chain home directory")
	cmd.Flags().StringVar(&p2p, "p2p-addr", fmt.Sprintf("tcp://127.0.0.1:%d", chain.DefaultP2PPort), "p2p listen address")
	cmd.Flags().StringVar(&rpc, "rpc-addr", fmt.Sprintf("tcp://127.0.0.1:%d", chain.DefaultRPCPort), "RPC listen address")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing home's config and genesis (keys are kept)")
	return cmd
}

func newChainStartCmd() *cobra.Command {
	var home, logLevel string
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run a chain node in process until interrupted",
		Long: `Run the CometBFT node of a home with the DINFRA ledger in process. It resumes at the last
committed height after a crash. Stop it with Ctrl-C or SIGTERM.`,
		Example: `  dinfra chain start --home /tmp/dinfra
  dinfra chain start --home testnet/node0 --log-level info`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			n, err := chain.Start(home, chain.StartOptions{LogLevel: logLevel, LogOutput: cmd.ErrOrStderr(), Logger: log})
			if err != nil {
				return err
			}
			log.Info("chain node running", "home", home, "rpc", n.RPCAddress(), "node_id", n.NodeID())
			<-ctx.Done()
			log.Info("stopping chain node")
			return n.Stop()
		},
	}
	cmd.Flags().StringVar(&home, "home", defaultChainHome(), "chain home directory")
	cmd.Flags().StringVar(&logLevel, "log-level", "", "CometBFT log level (error, info, debug or module:level,...); default from config.toml")
	return cmd
}

func newChainTestnetCmd() *cobra.Command {
	var (
		gf         genesisFlags
		out, host  string
		validators int
		basePort   int
	)
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the homes of a multi-validator network sharing one genesis",
		Long: `Write N node homes (OUTPUT/node0 .. node{N-1}) of one chain, every node a validator with
equal power and the others as persistent peers. Node i listens for p2p on BASE+10*i and serves
RPC on BASE+10*i+1. Start each node as a separate process.`,
		Example: `  dinfra chain testnet --validators 4 --output /tmp/testnet
  for i in 0 1 2 3; do dinfra chain start --home /tmp/testnet/node$i & done`,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := gf.genesis()
			if err != nil {
				return err
			}
			nodes, err := chain.Testnet(chain.TestnetOptions{Dir: out, Validators: validators, ChainID: gf.chainID,
				Genesis: g, BlockTime: gf.blockTime, Host: host, BasePort: basePort})
			if err != nil {
				return err
			}
			for i, n := range nodes {
				fmt.Fprintf(cmd.OutOrStdout(), "node%d  id %s  p2p %s  rpc %s\n  dinfra chain start --home %s\n", i, n.NodeID, n.P2PAddr, n.RPCAddr, n.Home)
			}
			return nil
		},
	}
	gf.register(cmd, 500*time.Millisecond)
	cmd.Flags().IntVar(&validators, "validators", 4, "number of validators")
	cmd.Flags().StringVar(&out, "output", "", "directory to write the node homes into (required)")
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address every node listens on and is dialed at")
	cmd.Flags().IntVar(&basePort, "base-port", chain.DefaultP2PPort, "p2p port of node0; node i uses BASE+10*i (p2p) and BASE+10*i+1 (RPC)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func init() { rootCmd.AddCommand(newChainCmd()) }
