package wire

import "fmt"

// Params are the chain's rules, fixed at genesis.
type Params struct {
	SS58Prefix      uint16 `json:"ss58_prefix"`           // addresses in events and queries
	MaxTxBytes      int    `json:"max_tx_bytes"`          // larger txs are rejected (tx_too_large)
	TypeDeposit     Amount `json:"type_deposit"`          // held per registered descriptor type
	DeployTimeout   int64  `json:"deploy_timeout_blocks"` // blocks a provider has to report an award deployed
	DefaultStrategy string `json:"default_strategy"`      // award strategy when a subscription names none
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
	case !ValidStrategy(p.DefaultStrategy):
		return fmt.Errorf("params.default_strategy: %q is not round_robin, random or capacity", p.DefaultStrategy)
	}
	return nil
}

// ValidStrategy says whether s is an award strategy the chain knows.
func ValidStrategy(s string) bool {
	return s == StrategyRoundRobin || s == StrategyRandom || s == StrategyCapacity
}
