package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
	onflocal "github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/reactor"
	reactorlocal "github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/watcher"
)

type devFlags struct {
	home     string
	gossamer string
	listen   string
	rpc      string
	p2p      string
	capacity uint64
	price    uint64
	provider string
	store    storeFlags
	gf       genesisFlags
}

func newDevCmd() *cobra.Command {
	var f devFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole DINFRA flow on this machine: chain, provider, watcher and local reactor",
		Long: `Starts an embedded single-validator chain (RPC on --rpc, the default of dinfra tx/query),
registers a dev account (--provider, default //Bob) as a provider whose Chain Reactor is the
local reactor (one gossamer network per deployment), and runs its watcher. Subscriptions made
with dinfra tx subscribe are deployed; cancelling them, or their deposit running out, tears the
network down. Descriptors are read from the same store dinfra descriptor put writes to.

State lives in --home and survives restarts: running networks keep running while dinfra dev
is stopped and the watcher catches up when it is started again.`,
		Example: `  dinfra dev --gossamer-bin "$GOSSAMER_BIN" &
  CID=$(dinfra descriptor put -t substrate-network/v1alpha1 examples/descriptors/dev-network.json)
  dinfra tx subscribe --descriptor-cid "$CID" --units 1 --deposit 1000000 --max-price-per-unit 5 --from //Alice
  dinfra query subscriptions --consumer 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
  dinfra tx cancel 1 --from //Alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd.Context(), cmd.OutOrStdout(), f) },
	}
	fl := cmd.Flags()
	home, _ := os.UserHomeDir()
	fl.StringVar(&f.home, "home", filepath.Join(home, ".dinfra", "dev"), "state directory (chain, reactor, watcher)")
	fl.StringVar(&f.gossamer, "gossamer-bin", "gossamer", "gossamer binary the local reactor runs")
	fl.StringVar(&f.listen, "reactor-listen", "127.0.0.1:8181", "address of the local reactor's Chain Reactor API")
	fl.StringVar(&f.rpc, "rpc", "127.0.0.1:26657", "chain RPC address")
	fl.StringVar(&f.p2p, "p2p", "127.0.0.1:26656", "chain P2P address")
	fl.Uint64Var(&f.capacity, "capacity", 4, "units the provider offers")
	fl.Uint64Var(&f.price, "price-per-unit", 1, "the provider's price per unit per block")
	fl.StringVar(&f.provider, "provider", "bob", "dev account registered as the provider")
	f.store.register(fl)
	f.gf.register(cmd, chain.DefaultBlockTime)
	return cmd
}

func runDev(ctx context.Context, out io.Writer, f devFlags) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The chain.
	chainHome := filepath.Join(f.home, "chain")
	if _, err := os.Stat(filepath.Join(chainHome, "config", "genesis.json")); errors.Is(err, os.ErrNotExist) {
		g, err := f.gf.genesis()
		if err != nil {
			return err
		}
		if err := chain.Init(chain.InitOptions{Home: chainHome, ChainID: f.gf.chainID, Genesis: g, BlockTime: f.gf.blockTime,
			RPCAddr: "tcp://" + f.rpc, P2PAddr: "tcp://" + f.p2p}); err != nil {
			return err
		}
	}
	node, err := chain.Start(chainHome, chain.StartOptions{LogLevel: "error", LogOutput: os.Stderr, Logger: log.With("part", "chain")})
	if err != nil {
		return err
	}
	defer node.Stop() //nolint:errcheck
	cc, err := client.New(node.RPCAddress())
	if err != nil {
		return err
	}
	defer cc.Close()
	if err := waitFirstBlock(ctx, cc); err != nil {
		return err
	}

	// The provider's reactor.
	reg, err := descriptor.NewRegistry()
	if err != nil {
		return err
	}
	store, err := f.store.open()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rt := &onflocal.Runtime{Home: filepath.Join(f.home, "reactor", "onf"), Supervisor: []string{self, "reactor", "supervise"}}
	token, err := devToken(filepath.Join(f.home, "reactor", "token"))
	if err != nil {
		return err
	}
	srv, err := reactor.New(reactor.Config{
		Driver:   reactorlocal.New(rt, reactorlocal.Binaries{v1alpha1.FlavorGossamer: f.gossamer}, int64(f.capacity), 2*time.Minute),
		Registry: reg, Auth: reactor.Auth{Token: token}, StateDir: filepath.Join(f.home, "reactor", "deployments"), Logger: log.With("part", "reactor"),
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("reactor listen: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	endpoint := "http://" + ln.Addr().String()

	// The provider's account and watcher.
	pair, err := keyring.Dev(keyring.Sr25519, f.provider)
	if err != nil {
		return err
	}
	provider := pair.Address(keyring.SubstratePrefix)
	signer := cc.Signer(pair)
	if _, err := cc.Provider(ctx, provider); client.IsNotFound(err) {
		if _, err := signer.Send(ctx, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{
			Endpoint: endpoint, Types: []string{descriptor.TypeSubstrateNetwork}, Capacity: f.capacity, PricePerUnit: wire.Amount(f.price)}}); err != nil {
			return fmt.Errorf("register provider: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("provider %s: %w", provider, err)
	}
	reactorClient, err := reactor.NewClient(reactor.ClientConfig{URL: endpoint, Token: token})
	if err != nil {
		return err
	}
	view, err := watcher.NewCometChain(ctx, cc, signer)
	if err != nil {
		return err
	}
	w, err := watcher.New(watcher.Config{Provider: provider, Chain: view, Reactor: reactorClient, Store: store, Registry: reg,
		StateFile: filepath.Join(f.home, "watcher", "height"), Logger: log.With("part", "watcher")})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `DINFRA dev running
  chain RPC       %s (chain id %s)
  provider        %s (//%s), %d units
  chain reactor   %s (token in %s)
  descriptors     %s
Try:
  CID=$(dinfra descriptor put -t substrate-network/v1alpha1 examples/descriptors/dev-network.json)
  dinfra tx subscribe --descriptor-cid "$CID" --units 1 --deposit 1000000 --max-price-per-unit 5 --from //Alice
Stop with Ctrl-C (running networks keep running; they are torn down when their subscription ends).
`, node.RPCAddress(), view.ChainID(), provider, f.provider, f.capacity, endpoint, filepath.Join(f.home, "reactor", "token"), storeDescription(f.store))
	return w.Run(ctx)
}

func waitFirstBlock(ctx context.Context, cc *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if h, err := cc.LatestHeight(ctx); err == nil && h >= 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the chain produced no block within 30s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// devToken returns the reactor token kept in path, creating a random one (0600) first.
func devToken(path string) (string, error) {
	if tok, err := reactor.ReadToken(path); err == nil {
		return tok, nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write reactor token: %w", err)
	}
	return tok, nil
}

func storeDescription(f storeFlags) string {
	if f.cfg.KuboAPI != "" {
		return "IPFS node " + f.cfg.KuboAPI
	}
	return f.cfg.Dir
}

func init() { rootCmd.AddCommand(newDevCmd()) }
