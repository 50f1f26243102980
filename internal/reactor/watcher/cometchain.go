package watcher

import (
	"context"
	"fmt"

	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// CometChain is the DINFRA chain seen through its Go client; reports are signed by the
// provider's key.
type CometChain struct {
	c       *client.Client
	signer  *client.Signer
	chainID string
}

var _ Chain = (*CometChain)(nil)

// NewCometChain reads the chain id and returns the adapter.
func NewCometChain(ctx context.Context, c *client.Client, signer *client.Signer) (*CometChain, error) {
	id, err := c.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain id: %w", err)
	}
	return &CometChain{c: c, signer: signer, chainID: id}, nil
}

func (cc *CometChain) ChainID() string { return cc.chainID }

func (cc *CometChain) LatestHeight(ctx context.Context) (int64, error) {
	return cc.c.LatestHeight(ctx)
}

func (cc *CometChain) NewHeights(ctx context.Context) (<-chan int64, error) {
	return cc.c.NewHeights(ctx)
}

// Events maps the block's subscription_awarded and subscription_ended events for provider.
func (cc *CometChain) Events(ctx context.Context, height int64, provider string) ([]Event, error) {
	evs, err := cc.c.BlockEvents(ctx, height)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range evs {
		var kind EventKind
		switch e.Type {
		case wire.EventSubscriptionAwarded:
			kind = Awarded
		case wire.EventSubscriptionEnded:
			kind = Ended
		default:
			continue
		}
		s, err := e.Subscription()
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", height, err)
		}
		if s.Provider != provider {
			continue
		}
		out = append(out, Event{Kind: kind, Order: Order{
			ID: s.ID, Consumer: s.Consumer, ConsumerPublicKey: s.ConsumerPublicKey, ConsumerSSHKey: s.ConsumerSSHKey,
			DescriptorCID: s.DescriptorCID, DescriptorType: s.DescriptorType, Units: s.Units,
			PricePerBlock: s.PricePerBlock.String(), AwardedAt: height,
		}})
	}
	return out, nil
}

// LiveOrders are the provider's pending and active subscriptions.
func (cc *CometChain) LiveOrders(ctx context.Context, provider string) ([]Order, int64, error) {
	subs, h, err := cc.c.SubscriptionsByProvider(ctx, provider, true)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Order, 0, len(subs))
	for _, s := range subs {
		out = append(out, Order{
			ID: s.ID, Consumer: s.Consumer, ConsumerPublicKey: s.ConsumerPublicKey, ConsumerSSHKey: s.ConsumerSSHKey,
			DescriptorCID: s.DescriptorCID, DescriptorType: s.DescriptorType, Units: s.Units,
			PricePerBlock: s.PricePerBlock.String(), Reported: s.State == wire.StateActive, AwardedAt: s.CreatedAt,
		})
	}
	return out, h, nil
}

func (cc *CometChain) ReportDeployed(ctx context.Context, id uint64, endpoints []string) error {
	return cc.report(ctx, &wire.MsgReportStatus{SubscriptionID: id, Status: wire.StatusDeployed, Endpoints: endpoints})
}

func (cc *CometChain) ReportFailed(ctx context.Context, id uint64, reason string) error {
	return cc.report(ctx, &wire.MsgReportStatus{SubscriptionID: id, Status: wire.StatusFailed, Reason: reason})
}

func (cc *CometChain) report(ctx context.Context, m *wire.MsgReportStatus) error {
	if _, err := cc.signer.Send(ctx, wire.Msg{ReportStatus: m}); err != nil {
		return fmt.Errorf("report %s for subscription %d: %w", m.Status, m.SubscriptionID, err)
	}
	return nil
}
