// Package watcher is the provider side of the chain: it follows committed blocks, deploys
// what the chain awards to its provider through a Chain Reactor, tears down what ends, and
// reports deployed or failed status back to the chain. It reconciles instead of scripting:
// the chain's live set for the provider is the desired state, the reactor's list is the
// actual state, and plan (pure) turns the difference into actions.
package watcher

import "context"

// Order is a subscription awarded to this provider, as the watcher needs it.
type Order struct {
	ID                uint64
	Consumer          string // SS58 address
	ConsumerPublicKey string // 0x hex
	ConsumerSSHKey    string // OpenSSH public key, if the consumer registered one
	DescriptorCID     string
	DescriptorType    string
	Units             uint64
	PricePerBlock     string
	// Reported is true once the chain has a deployed status for it (state active); false
	// while the award waits for the provider's report (state pending).
	Reported bool
	// AwardedAt is the height of the block that awarded it.
	AwardedAt int64
}

// EventKind is what happened to an order in a block.
type EventKind int

const (
	// Awarded: the chain awarded a new order to the provider.
	Awarded EventKind = iota + 1
	// Ended: the order ended (expired, cancelled, failed, deploy timeout): tear it down.
	Ended
)

// Event is one change to one of the provider's orders in a committed block.
type Event struct {
	Kind  EventKind
	Order Order
}

// Chain is what the watcher needs from the DINFRA chain; the chain's Go client implements it
// (an adapter maps its subscription events and queries to these types).
type Chain interface {
	// ChainID names the chain (sent to the reactor with each order).
	ChainID() string
	// LatestHeight is the last committed height.
	LatestHeight(ctx context.Context) (int64, error)
	// Events are the events of block height concerning provider, in block order.
	Events(ctx context.Context, height int64, provider string) ([]Event, error)
	// NewHeights delivers the height of every newly committed block until ctx ends or the
	// connection drops (the channel is then closed).
	NewHeights(ctx context.Context) (<-chan int64, error)
	// LiveOrders are the provider's live orders (pending or active) and the height at which
	// the answer was read.
	LiveOrders(ctx context.Context, provider string) ([]Order, int64, error)
	// ReportDeployed and ReportFailed submit the provider's signed status transaction.
	ReportDeployed(ctx context.Context, id uint64, endpoints []string) error
	ReportFailed(ctx context.Context, id uint64, reason string) error
}
