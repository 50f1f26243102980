package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// Event types. Every state change emits one; attributes marked indexed in the emitting
// code (addresses, ids, CIDs, types, reasons) can be used in CometBFT queries such as
// "subscription_awarded.provider='5F...'".
const (
	EventTransfer             = "transfer"               // from, to, amount
	EventSSHKeySet            = "ssh_key_set"            // account, ssh_key
	EventTypeRegistered       = "type_registered"        // type, name, version, schema_cid, owner, deposit
	EventProviderRegistered   = "provider_registered"    // provider, endpoint, types, capacity, price_per_unit, paused
	EventProviderUpdated      = "provider_updated"       // as provider_registered
	EventProviderPaused       = "provider_paused"        // provider
	EventProviderResumed      = "provider_resumed"       // provider
	EventProviderDeregistered = "provider_deregistered"  // provider
	EventProviderPaid         = "provider_paid"          // provider, amount (accrued earnings credited)
	EventSubscriptionAwarded  = "subscription_awarded"   // common + provider_endpoint, price_per_block, deposit, strategy, deploy_deadline
	EventSubscriptionDeployed = "subscription_deployed"  // common + endpoints, price_per_block, expires_at
	EventSubscriptionToppedUp = "subscription_topped_up" // common + amount, deposit, expires_at
	EventSubscriptionEnded    = "subscription_ended"     // common + reason, detail, refund, charged
)

// SubscriptionEvent is the typed form of a subscription_* event. The common attributes
// are what a provider's watcher needs to act: which subscription, whose, what to deploy.
type SubscriptionEvent struct {
	Type              string
	ID                uint64
	Provider          string
	Consumer          string
	ConsumerPublicKey string // 0x hex of the consumer's account key
	ConsumerScheme    string // sr25519 or ed25519
	ConsumerSSHKey    string // ssh-ed25519 key to install for the consumer, if any
	DescriptorCID     string
	DescriptorType    string
	Units             uint64
	State             string // the subscription's state after the event

	ProviderEndpoint string   // awarded
	PricePerBlock    Amount   // awarded, deployed
	Deposit          Amount   // awarded, topped_up
	Strategy         string   // awarded
	DeployDeadline   int64    // awarded
	Endpoints        []string // deployed
	ExpiresAt        int64    // deployed, topped_up
	Amount           Amount   // topped_up
	Reason           string   // ended: expired, cancelled, failed or deploy_timeout
	Detail           string   // ended: the provider's failure reason
	Refund           Amount   // ended
	Charged          Amount   // ended
}

// IsSubscriptionEvent reports whether an event type is one of the subscription_* events.
func IsSubscriptionEvent(typ string) bool { return strings.HasPrefix(typ, "subscription_") }

// ParseSubscriptionEvent decodes a subscription_* event from its attributes.
func ParseSubscriptionEvent(typ string, attrs map[string]string) (*SubscriptionEvent, error) {
	if !IsSubscriptionEvent(typ) {
		return nil, fmt.Errorf("%s is not a subscription event", typ)
	}
	e := &SubscriptionEvent{
		Type: typ, Provider: attrs["provider"], Consumer: attrs["consumer"],
		ConsumerPublicKey: attrs["consumer_public_key"], ConsumerScheme: attrs["consumer_scheme"],
		ConsumerSSHKey: attrs["consumer_ssh_key"], DescriptorCID: attrs["descriptor_cid"],
		DescriptorType: attrs["descriptor_type"], State: attrs["state"],
		ProviderEndpoint: attrs["provider_endpoint"], Strategy: attrs["strategy"],
		Reason: attrs["reason"], Detail: attrs["detail"],
	}
	var errs []string
	num := func(k string, dst *uint64, required bool) {
		v, ok := attrs[k]
		if !ok {
			if required {
				errs = append(errs, k+" missing")
			}
			return
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q is not a number", k, v))
		}
		*dst = n
	}
	var deadline, expires, price, deposit, amount, refund, charged uint64
	num("id", &e.ID, true)
	num("units", &e.Units, true)
	num("deploy_deadline", &deadline, false)
	num("expires_at", &expires, false)
	num("price_per_block", &price, false)
	num("deposit", &deposit, false)
	num("amount", &amount, false)
	num("refund", &refund, false)
	num("charged", &charged, false)
	e.DeployDeadline, e.ExpiresAt = int64(deadline), int64(expires)
	e.PricePerBlock, e.Deposit, e.Amount, e.Refund, e.Charged = Amount(price), Amount(deposit), Amount(amount), Amount(refund), Amount(charged)
	if v := attrs["endpoints"]; v != "" {
		e.Endpoints = strings.Split(v, ",")
	}
	if e.Provider == "" || e.Consumer == "" {
		errs = append(errs, "provider or consumer missing")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s event: %s", typ, strings.Join(errs, "; "))
	}
	return e, nil
}

// AttributeMap returns an event's attributes as a map.
func (e Event) AttributeMap() map[string]string {
	m := make(map[string]string, len(e.Attributes))
	for _, a := range e.Attributes {
		m[a.Key] = a.Value
	}
	return m
}

// Event is a state change, in the shape of an ABCI event.
type Event struct {
	Type       string      `json:"type"`
	Attributes []Attribute `json:"attributes"`
}

// Attribute is one key/value of an event. Indexed attributes can be searched with
// CometBFT's tx_search and subscription queries.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Index bool   `json:"index,omitempty"`
}
