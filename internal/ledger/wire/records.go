package wire

// The chain's records as queries return them. The state machine stores the same fields with
// accounts as public keys (ProviderFields, SubscriptionFields and DescriptorTypeFields are
// shared), so a field changed in those changes the state encoding and the app hash.

// DescriptorTypeFields are a descriptor type's fields apart from its owner.
type DescriptorTypeFields struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	SchemaCID    string `json:"schema_cid"`
	Deposit      Amount `json:"deposit"`
	RegisteredAt int64  `json:"registered_at"`
}

// ID is NAME/VERSION, the form subscriptions and providers refer to.
func (t DescriptorTypeFields) ID() string { return t.Name + "/" + t.Version }

// DescriptorType is a registered descriptor type.
type DescriptorType struct {
	DescriptorTypeFields
	Owner string `json:"owner,omitempty"` // SS58 address; empty for genesis types
}

// ProviderFields are a provider's fields apart from its account. Its earnings accrue
// lazily: Rate (the sum of the per-block prices of its active subscriptions) is credited to
// its balance for the blocks since EarnedAt whenever the provider or one of its
// subscriptions changes.
type ProviderFields struct {
	Endpoint     string   `json:"endpoint"`
	Types        []string `json:"types"`
	Capacity     uint64   `json:"capacity"`
	Reserved     uint64   `json:"reserved"` // units held by pending and active subscriptions
	PricePerUnit Amount   `json:"price_per_unit"`
	Paused       bool     `json:"paused"`
	Rate         Amount   `json:"rate"`
	EarnedAt     int64    `json:"earned_at"`
	RegisteredAt int64    `json:"registered_at"`
}

// Provider is a registered provider.
type Provider struct {
	Address string `json:"address"` // SS58
	ProviderFields
}

// Subscription states.
const (
	StatePending = "pending" // awarded, waiting for the provider to report it deployed
	StateActive  = "active"  // deployed and billed every block
	StateEnded   = "ended"
)

// End reasons.
const (
	ReasonExpired       = "expired"        // the deposit ran out
	ReasonCancelled     = "cancelled"      // the consumer cancelled
	ReasonFailed        = "failed"         // the provider reported the deployment failed
	ReasonDeployTimeout = "deploy_timeout" // the provider did not deploy in time
)

// SubscriptionFields are a subscription's fields apart from who it is for and by. While
// active it pays PricePerBlock for every block after SettledAt out of Deposit; ExpiresAt is
// the block in which it ends unless something changes (the deploy deadline while pending,
// the block where the deposit runs out while active).
type SubscriptionFields struct {
	DescriptorCID   string   `json:"descriptor_cid"`
	DescriptorType  string   `json:"descriptor_type"`
	Units           uint64   `json:"units"`
	PricePerBlock   Amount   `json:"price_per_block"`
	MaxPricePerUnit Amount   `json:"max_price_per_unit"`
	Strategy        string   `json:"strategy"`
	State           string   `json:"state"`
	Deposit         Amount   `json:"deposit"` // escrow left as of SettledAt
	Charged         Amount   `json:"charged"` // paid to the provider as of SettledAt
	SettledAt       int64    `json:"settled_at"`
	CreatedAt       int64    `json:"created_at"`
	DeployedAt      int64    `json:"deployed_at,omitempty"`
	ExpiresAt       int64    `json:"expires_at"`
	EndedAt         int64    `json:"ended_at,omitempty"`
	EndReason       string   `json:"end_reason,omitempty"`
	EndDetail       string   `json:"end_detail,omitempty"`
	Refunded        Amount   `json:"refunded"`
	Endpoints       []string `json:"endpoints,omitempty"`
}

// Live reports whether the subscription holds capacity (pending or active).
func (s *SubscriptionFields) Live() bool { return s.State == StatePending || s.State == StateActive }

// Subscription is a consumer's deployment.
type Subscription struct {
	ID                uint64 `json:"id"`
	Consumer          string `json:"consumer"` // SS58
	ConsumerScheme    string `json:"consumer_scheme"`
	ConsumerPublicKey string `json:"consumer_public_key"` // 0x hex
	ConsumerSSHKey    string `json:"consumer_ssh_key,omitempty"`
	Provider          string `json:"provider"` // SS58
	SubscriptionFields
}
