// Package chain runs the DINFRA chain: it writes CometBFT homes (a single dev validator or
// a multi-validator testnet) and runs a CometBFT v0.38 node in process with the ledger as
// its ABCI application, its state in goleveldb under the node's data directory.
package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"
	"github.com/spf13/viper"

	"github.com/dinfra/stack/internal/ledger"
	"github.com/dinfra/stack/internal/ledger/abciapp"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// Defaults of a dev chain.
const (
	DefaultChainID   = "dinfra-dev"
	DefaultBlockTime = 200 * time.Millisecond
	DefaultP2PPort   = 26656
	DefaultRPCPort   = 26657
	appDBName        = "dinfra-ledger"
)

// InitOptions configure a single-validator home.
type InitOptions struct {
	Home      string
	ChainID   string        // default DefaultChainID
	Moniker   string        // default "dinfra"
	Genesis   wire.Genesis  // the ledger's app_state
	BlockTime time.Duration // consensus timeout_commit; default DefaultBlockTime
	P2PAddr   string        // default tcp://127.0.0.1:26656
	RPCAddr   string        // default tcp://127.0.0.1:26657
	// Force overwrites an existing home's config and genesis (keys are kept).
	Force bool
}

// Init writes a home for a chain with one validator: config/config.toml, genesis.json,
// the validator and node keys (0600) and an empty data directory.
func Init(o InitOptions) error {
	if o.Home == "" {
		return errors.New("chain init: home directory is required")
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	genesisFile := filepath.Join(o.Home, "config", "genesis.json")
	if _, err := os.Stat(genesisFile); err == nil && !o.Force {
		return fmt.Errorf("chain init: %s already exists (use --force to overwrite config and genesis)", genesisFile)
	}
	if err := ledger.ValidateGenesis(o.Genesis); err != nil {
		return fmt.Errorf("chain init: genesis: %w", err)
	}
	conf := nodeConfig(o.Home, o.Moniker, o.BlockTime, o.P2PAddr, o.RPCAddr)
	pv, _, err := writeKeys(conf)
	if err != nil {
		return err
	}
	pub, err := pv.GetPubKey()
	if err != nil {
		return err
	}
	doc := genesisDoc(o.ChainID, o.Genesis, []types.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: 10, Name: conf.Moniker}})
	if err := doc.SaveAs(conf.GenesisFile()); err != nil {
		return fmt.Errorf("chain init: write genesis: %w", err)
	}
	cfg.WriteConfigFile(filepath.Join(o.Home, "config", "config.toml"), conf)
	return nil
}

// nodeConfig is the CometBFT configuration of a DINFRA node.
func nodeConfig(home, moniker string, blockTime time.Duration, p2pAddr, rpcAddr string) *cfg.Config {
	conf := cfg.DefaultConfig()
	conf.SetRoot(home)
	cfg.EnsureRoot(home)
	if moniker == "" {
		moniker = "dinfra"
	}
	if blockTime <= 0 {
		blockTime = DefaultBlockTime
	}
	if p2pAddr == "" {
		p2pAddr = fmt.Sprintf("tcp://127.0.0.1:%d", DefaultP2PPort)
	}
	if rpcAddr == "" {
		rpcAddr = fmt.Sprintf("tcp://127.0.0.1:%d", DefaultRPCPort)
	}
	conf.Moniker = moniker
	conf.P2P.ListenAddress = p2pAddr
	conf.RPC.ListenAddress = rpcAddr
	conf.Consensus.TimeoutCommit = blockTime
	conf.Consensus.CreateEmptyBlocks = true // billing and expiry advance with every block
	conf.Mempool.Size = 50000
	conf.Mempool.CacheSize = 100000
	conf.RPC.MaxSubscriptionsPerClient = 20
	conf.RPC.MaxRequestBatchSize = 100 // client.BroadcastBatch sends up to this many txs per request
	conf.P2P.PexReactor = false        // peers are explicit (persistent_peers); no address book to gossip
	conf.Instrumentation.Prometheus = false
	conf.LogLevel = "error"
	return conf
}

func writeKeys(conf *cfg.Config) (*privval.FilePV, *p2p.NodeKey, error) {
	pv := privval.LoadOrGenFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	nodeKey, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, nil, fmt.Errorf("node key: %w", err)
	}
	for _, f := range []string{conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile(), conf.NodeKeyFile()} {
		if err := os.Chmod(f, 0o600); err != nil {
			return nil, nil, err
		}
	}
	return pv, nodeKey, nil
}

func genesisDoc(chainID string, g wire.Genesis, vals []types.GenesisValidator) *types.GenesisDoc {
	return &types.GenesisDoc{
		ChainID:         chainID,
		GenesisTime:     cmttime.Now(),
		InitialHeight:   1,
		ConsensusParams: types.DefaultConsensusParams(),
		Validators:      vals,
		AppState:        json.RawMessage(g.JSON()),
	}
}

// LoadConfig reads a home's config/config.toml the way the cometbft command does.
func LoadConfig(home string) (*cfg.Config, error) {
	file := filepath.Join(home, "config", "config.toml")
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("no chain home at %s (run `dinfra chain init --home %s`): %w", home, home, err)
	}
	v := viper.New()
	v.SetConfigFile(file)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	conf := cfg.DefaultConfig()
	if err := v.Unmarshal(conf); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	conf.SetRoot(home)
	if err := conf.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return conf, nil
}

// Node is a running in-process DINFRA node.
type Node struct {
	node *nm.Node
	app  *abciapp.App
	db   dbm.DB
	conf *cfg.Config
	// CometBFT's own stores. The node closes the block and state stores when it stops but
	// not the indexers'; Stop closes whatever is left so no goleveldb goroutine outlives it.
	cometDBs []dbm.DB
}

// StartOptions tune Start.
type StartOptions struct {
	// LogLevel is CometBFT's log level ("error", "info", "consensus:info,*:error", ...);
	// empty keeps the home's config.
	LogLevel string
	// LogOutput receives CometBFT's logs (default stderr).
	LogOutput io.Writer
	// Logger receives the ledger's own logs (default slog.Default()).
	Logger *slog.Logger
}

// Start runs the node of a home until Stop. It resumes from the last committed block after
// a crash: the ledger and CometBFT's stores are both on disk and CometBFT replays what the
// ledger has not committed.
func Start(home string, o StartOptions) (*Node, error) {
	conf, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	if o.LogLevel != "" {
		conf.LogLevel = o.LogLevel
	}
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	logger, err := cmtflags.ParseLogLevel(conf.LogLevel, cmtlog.NewTMLogger(cmtlog.NewSyncWriter(o.LogOutput)), cfg.DefaultLogLevel)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", conf.LogLevel, err)
	}
	db, err := ledger.OpenLevelDB(appDBName, conf.DBDir())
	if err != nil {
		return nil, fmt.Errorf("open ledger store: %w", err)
	}
	l, err := ledger.Open(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	app := abciapp.New(l, o.Logger)
	pv := privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("node key: %w", err)
	}
	node := &Node{app: app, db: db, conf: conf}
	dbProvider := func(ctx *cfg.DBContext) (dbm.DB, error) {
		d, err := cfg.DefaultDBProvider(ctx)
		if err == nil {
			node.cometDBs = append(node.cometDBs, d)
		}
		return d, err
	}
	n, err := nm.NewNode(conf, pv, nodeKey, proxy.NewLocalClientCreator(app),
		nm.DefaultGenesisDocProviderFunc(conf), dbProvider,
		nm.DefaultMetricsProvider(conf.Instrumentation), logger)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create node: %w", err)
	}
	if err := n.Start(); err != nil {
		db.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	node.node = n
	return node, nil
}

// RPCAddress is the node's CometBFT RPC as an http:// URL (what the client dials).
func (n *Node) RPCAddress() string {
	return "http://" + strings.TrimPrefix(n.conf.RPC.ListenAddress, "tcp://")
}

// Stop shuts the node down and closes the ledger's store.
func (n *Node) Stop() error {
	err := n.node.Stop()
	n.node.Wait()
	for _, d := range n.cometDBs {
		_ = d.Close() // the ones CometBFT closed already answer "closed"
	}
	return errors.Join(err, n.db.Close())
}

// Wait blocks until the node has stopped.
func (n *Node) Wait() { n.node.Wait() }

// NodeID is the node's p2p id.
func (n *Node) NodeID() string { return string(n.node.NodeInfo().ID()) }
