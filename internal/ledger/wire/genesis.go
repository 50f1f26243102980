package wire

import (
	"encoding/json"

	"github.com/dinfra/stack/internal/keyring"
)

// Genesis is the ledger's part of the CometBFT genesis document (its app_state). The state
// machine checks it (ledger.ValidateGenesis) before a chain is written or started.
type Genesis struct {
	Params   Params           `json:"params"`
	Accounts []GenesisAccount `json:"accounts"`
	Types    []GenesisType    `json:"types"`
}

// GenesisAccount is an endowed account.
type GenesisAccount struct {
	Address string `json:"address"` // SS58
	Balance Amount `json:"balance"`
}

// GenesisType is a built-in descriptor type (no deposit, no owner).
type GenesisType struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	SchemaCID string `json:"schema_cid"`
}

// DefaultParams are the dev chain's rules.
func DefaultParams() Params {
	return Params{
		SS58Prefix:      keyring.SubstratePrefix,
		MaxTxBytes:      8 << 10,
		TypeDeposit:     1_000_000_000,
		DeployTimeout:   600,
		DefaultStrategy: StrategyRoundRobin,
	}
}

// DevEndowment is what each development account holds at genesis.
const DevEndowment Amount = 1_000_000_000_000_000

// DevGenesis endows the development accounts (//Alice .. //Ferdie, sr25519 and ed25519)
// and registers the given built-in types.
func DevGenesis(types []GenesisType) Genesis {
	g := Genesis{Params: DefaultParams(), Types: types}
	for _, scheme := range []keyring.Scheme{keyring.Sr25519, keyring.Ed25519} {
		for _, name := range keyring.DevAccounts {
			p, err := keyring.Dev(scheme, name)
			if err != nil {
				panic(err)
			}
			g.Accounts = append(g.Accounts, GenesisAccount{Address: p.Address(g.Params.SS58Prefix), Balance: DevEndowment})
		}
	}
	return g
}

// JSON is the genesis as indented JSON.
func (g Genesis) JSON() []byte {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}
