package wire

// Query paths. All answers are JSON and reflect the last committed block.
const (
	QueryStatus                = "/status"
	QueryParams                = "/params"
	QueryAccount               = "/account/"  // + ADDRESS
	QueryProvider              = "/provider/" // + ADDRESS
	QueryProviders             = "/providers"
	QueryType                  = "/type/" // + NAME/VERSION
	QueryTypes                 = "/types"
	QuerySubscription          = "/subscription/"           // + ID
	QuerySubscriptionsConsumer = "/subscriptions/consumer/" // + ADDRESS
	QuerySubscriptionsProvider = "/subscriptions/provider/" // + ADDRESS
	QuerySubscriptionsActive   = "/subscriptions/active"
	DefaultPageLimit           = 100
	MaxPageLimit               = 1000
)

// Status is the answer to /status.
type Status struct {
	ChainID            string `json:"chain_id"`
	Height             int64  `json:"height"`
	AppHash            string `json:"app_hash"`
	TotalIssuance      Amount `json:"total_issuance"`
	NextSubscriptionID uint64 `json:"next_subscription_id"`
	LiveSubscriptions  uint64 `json:"live_subscriptions"`
}

// AccountView is the answer to /account/ADDRESS. Earnings a provider has accrued but not
// yet been credited are shown apart.
type AccountView struct {
	Address         string `json:"address"`
	PublicKey       string `json:"public_key"`
	Balance         Amount `json:"balance"`
	Nonce           uint64 `json:"nonce"`
	SSHKey          string `json:"ssh_key,omitempty"`
	PendingEarnings Amount `json:"pending_earnings"`
}

// ProviderView is a provider with its figures as of the queried height.
type ProviderView struct {
	Provider
	Free            uint64 `json:"free"`
	PendingEarnings Amount `json:"pending_earnings"`
}

// SubscriptionView is a subscription with its figures as of the queried height: what is
// left of the deposit and what the provider has been paid so far.
type SubscriptionView struct {
	Subscription
	Remaining Amount `json:"remaining"`
	PaidTotal Amount `json:"paid_total"`
	AsOf      int64  `json:"as_of"`
}

// Page selects part of a list: items after the cursor (a subscription id, or an address
// for providers), at most Limit of them. It is the query's data, as JSON. Live restricts
// /subscriptions/provider/ADDRESS to pending and active subscriptions (the provider's
// desired state, read from an index of its own).
type Page struct {
	After string `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
	Live  bool   `json:"live,omitempty"`
}

// SubscriptionList is a page of subscriptions; Next is the cursor of the next page ("" at
// the end).
type SubscriptionList struct {
	Subscriptions []SubscriptionView `json:"subscriptions"`
	Next          string             `json:"next,omitempty"`
}

// ProviderList is a page of providers.
type ProviderList struct {
	Providers []ProviderView `json:"providers"`
	Next      string         `json:"next,omitempty"`
}
