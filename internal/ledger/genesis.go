package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
)

// Params are the chain's rules, fixed at genesis.
type Params struct {
	SS58Prefix      uint16 `json:"ss58_prefix"`           // addresses in events and queries
	MaxTxBytes      int    `json:"max_tx_bytes"`          // larger txs are rejected (tx_too_large)
	TypeDeposit     Amount `json:"type_deposit"`          // held per registered descriptor type
	DeployTimeout   int64  `json:"deploy_timeout_blocks"` // blocks a provider has to report an award deployed
	DefaultStrategy string `json:"default_strategy"`      // award strategy when a subscription names none
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

// Validate checks the params, naming the bad field.
func (p Params) Validate() error {
	switch {
	case p.SS58Prefix >= 16384:
		return fmt.Errorf("params.ss58_prefix: %d is not below 16384", p.SS58Prefix)
	case p.MaxTxBytes < 512:
		return fmt.Errorf("params.max_tx_bytes: must be >= 512, got %d", p.MaxTxBytes)
	case p.DeployTimeout < 1:
		return fmt.Errorf("params.deploy_timeout_blocks: must be >= 1, got %d", p.DeployTimeout)
	case !validStrategy(p.DefaultStrategy):
		return fmt.Errorf("params.default_strategy: %q is not round_robin, random or capacity", p.DefaultStrategy)
	}
	return nil
}

func validStrategy(s string) bool {
	return s == StrategyRoundRobin || s == StrategyRandom || s == StrategyCapacity
}

// Genesis is the ledger's part of the CometBFT genesis document (its app_state).
type Genesis struct {
	Params   Params           `json:"params"`
	Accounts []GenesisAccount `json:"accounts"`
	Types    []GenesisType    `json:"types"`
}

// GenesisAccount is an endowed account.
type GenesisAccount struct {
	Address string `json:"address"`
	Balance Amount `json:"balance"`
}

// GenesisType is a built-in descriptor type (no deposit, no owner).
type GenesisType struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	SchemaCID string `json:"schema_cid"`
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

// ParseGenesis reads an app_state strictly (unknown fields are errors).
func ParseGenesis(data []byte) (Genesis, error) {
	var g Genesis
	if len(bytes.TrimSpace(data)) == 0 {
		return g, fmt.Errorf("genesis app_state is empty")
	}
	if err := decodeStrict(data, &g); err != nil {
		return g, fmt.Errorf("genesis app_state: %w", err)
	}
	return g, g.Validate()
}

// Validate checks the genesis, naming the bad field.
func (g Genesis) Validate() error {
	if err := g.Params.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	var total uint64
	for i, a := range g.Accounts {
		pub, _, err := keyring.DecodeSS58(a.Address)
		if err != nil {
			return fmt.Errorf("accounts[%d].address: %v", i, err)
		}
		if seen[string(pub)] {
			return fmt.Errorf("accounts[%d].address: %s is listed twice", i, a.Address)
		}
		seen[string(pub)] = true
		var ok bool
		if total, ok = add(total, uint64(a.Balance)); !ok {
			return fmt.Errorf("accounts[%d].balance: total issuance overflows 2^64", i)
		}
	}
	types := map[string]bool{}
	for i, t := range g.Types {
		if err := validateTypeFields(t.Name, t.Version, t.SchemaCID); err != nil {
			return fmt.Errorf("types[%d].%s: %s", i, err.Field, err.Reason)
		}
		id := t.Name + "/" + t.Version
		if types[id] {
			return fmt.Errorf("types[%d]: %s is listed twice", i, id)
		}
		types[id] = true
	}
	return nil
}

// JSON is the genesis as indented JSON.
func (g Genesis) JSON() []byte {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

var (
	typeNameRe    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	typeVersionRe = regexp.MustCompile(`^v[0-9]+((alpha|beta)[0-9]+)?$`)
)

// validateTypeFields checks a type's name, version and schema CID (field names relative to
// the type).
func validateTypeFields(name, version, schemaCID string) *TxError {
	if !typeNameRe.MatchString(name) {
		return reject(CodeInvalid, "name", "%q must be lower-case letters, digits and dashes, starting with a letter, at most 63 characters", name)
	}
	if !typeVersionRe.MatchString(version) {
		return reject(CodeInvalid, "version", "%q must look like v1, v2beta1 or v1alpha1", version)
	}
	if err := validateCID(schemaCID); err != nil {
		return reject(CodeInvalid, "schema_cid", "%v", err)
	}
	return nil
}

// validateCID accepts what a reactor can serve: a CIDv1 of one raw block hashed with
// sha2-256 (descriptor.ParseCID, the rule every store and reactor applies), in canonical
// form. Anything else (CIDv0, dag-pb, other hashes) could only be awarded to sit pending
// until the deploy timeout, holding the provider's capacity.
func validateCID(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > 128 {
		return fmt.Errorf("longer than 128 characters")
	}
	c, err := descriptor.ParseCID(s)
	if err != nil {
		return err
	}
	if c.String() != s {
		return fmt.Errorf("%q is not in canonical form (want %s)", s, c.String())
	}
	return nil
}
