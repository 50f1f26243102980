package chain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"

	"github.com/dinfra/stack/internal/ledger"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// TestnetOptions configure a multi-validator network.
type TestnetOptions struct {
	Dir        string // node homes are written to Dir/node0 .. Dir/node{N-1}
	Validators int
	ChainID    string
	Genesis    wire.Genesis
	BlockTime  time.Duration // default 500ms: several validators need more than one round trip
	Host       string        // address every node listens on and dials (default 127.0.0.1)
	// BasePort: node i listens for p2p on BasePort+10*i and serves RPC on BasePort+10*i+1.
	BasePort int // default 26656
}

// TestnetNode describes one written node home.
type TestnetNode struct {
	Home    string
	NodeID  string
	P2PAddr string
	RPCAddr string // http://HOST:PORT
}

// Testnet writes the homes of an N-validator network sharing one genesis, each node
// listing the others as persistent peers. Start each with `dinfra chain start --home`.
func Testnet(o TestnetOptions) ([]TestnetNode, error) {
	if o.Validators < 1 {
		return nil, fmt.Errorf("testnet: --validators must be >= 1, got %d", o.Validators)
	}
	if o.Dir == "" {
		return nil, errors.New("testnet: output directory is required")
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.BasePort == 0 {
		o.BasePort = DefaultP2PPort
	}
	if o.BlockTime <= 0 {
		o.BlockTime = 500 * time.Millisecond
	}
	if err := ledger.ValidateGenesis(o.Genesis); err != nil {
		return nil, fmt.Errorf("testnet: genesis: %w", err)
	}
	nodes := make([]TestnetNode, o.Validators)
	confs := make([]*cfg.Config, o.Validators)
	var vals []types.GenesisValidator
	for i := range nodes {
		home := filepath.Join(o.Dir, fmt.Sprintf("node%d", i))
		if _, err := os.Stat(filepath.Join(home, "config", "genesis.json")); err == nil {
			return nil, fmt.Errorf("testnet: %s already holds a node", home)
		}
		p2pPort, rpcPort := o.BasePort+10*i, o.BasePort+10*i+1
		conf := nodeConfig(home, fmt.Sprintf("node%d", i), o.BlockTime,
			fmt.Sprintf("tcp://%s:%d", o.Host, p2pPort), fmt.Sprintf("tcp://%s:%d", o.Host, rpcPort))
		conf.P2P.AddrBookStrict = false // peers on one host or a private network
		conf.P2P.AllowDuplicateIP = true
		pv, nodeKey, err := writeKeys(conf)
		if err != nil {
			return nil, err
		}
		pub, err := pv.GetPubKey()
		if err != nil {
			return nil, err
		}
		vals = append(vals, types.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 10, Name: conf.Moniker})
		nodes[i] = TestnetNode{Home: home, NodeID: string(nodeKey.ID()),
			P2PAddr: fmt.Sprintf("%s:%d", o.Host, p2pPort), RPCAddr: fmt.Sprintf("http://%s:%d", o.Host, rpcPort)}
		confs[i] = conf
	}
	doc := genesisDoc(o.ChainID, o.Genesis, vals)
	for i, conf := range confs {
		var peers []string
		for j, n := range nodes {
			if j != i {
				peers = append(peers, p2p.IDAddressString(p2p.ID(n.NodeID), n.P2PAddr))
			}
		}
		conf.P2P.PersistentPeers = strings.Join(peers, ",")
		if err := doc.SaveAs(conf.GenesisFile()); err != nil {
			return nil, fmt.Errorf("testnet: write genesis: %w", err)
		}
		cfg.WriteConfigFile(filepath.Join(nodes[i].Home, "config", "config.toml"), conf)
	}
	return nodes, nil
}
