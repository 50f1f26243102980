package chain_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain/chaintest"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
	"github.com/dinfra/stack/internal/testenv"
)

const schemaCID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"

// devGenesis is the dev genesis with one descriptor type, of CID schemaCID.
func devGenesis() wire.Genesis {
	return wire.DevGenesis([]wire.GenesisType{{Name: "substrate-network", Version: "v1alpha1", SchemaCID: schemaCID}})
}

func TestInProcessNode(t *testing.T) {
	testenv.Short(t)
	_, c := chaintest.Start(t, devGenesis(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	alice, _ := keyring.Dev(keyring.Sr25519, "alice")
	bob, _ := keyring.Dev(keyring.Sr25519, "bob")
	// A raw subscription to the provider's award events, over CometBFT's websocket.
	awards, err := c.Subscribe(ctx, fmt.Sprintf("subscription_awarded.provider='%s'", bob.Address(42)))
	if err != nil {
		t.Fatal(err)
	}
	start, _ := c.LatestHeight(ctx)

	bobSigner, aliceSigner := c.Signer(bob), c.Signer(alice)
	t0 := time.Now()
	if _, err := bobSigner.Send(ctx, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{
		Endpoint: "https://bob.example/reactor", Types: []string{"substrate-network/v1alpha1"}, Capacity: 8, PricePerUnit: 3}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("first tx committed in %v", time.Since(t0))
	res, err := aliceSigner.Send(ctx, wire.Msg{Subscribe: &wire.MsgSubscribe{DescriptorCID: schemaCID,
		DescriptorType: "substrate-network/v1alpha1", Units: 2, Deposit: 600, MaxPricePerUnit: 5}})
	if err != nil {
		t.Fatal(err)
	}
	var award *wire.SubscriptionEvent
	for _, e := range res.Events {
		if e.Type == wire.EventSubscriptionAwarded {
			award, _ = e.Subscription()
		}
	}
	if award == nil || award.Provider != bob.Address(42) || award.ConsumerPublicKey != alice.Public().Hex() || award.Units != 2 {
		t.Fatalf("award %+v in %+v", award, res.Events)
	}
	select {
	case e := <-awards:
		s, err := e.Subscription()
		if err != nil || s.ID != award.ID || s.DescriptorCID != schemaCID {
			t.Fatalf("subscribed event %+v %v", e, err)
		}
	case <-ctx.Done():
		t.Fatal("no award event on the websocket")
	}
	// Rejections come back typed, with the field.
	_, err = aliceSigner.Send(ctx, wire.Msg{Subscribe: &wire.MsgSubscribe{DescriptorCID: schemaCID,
		DescriptorType: "substrate-network/v1alpha1", Units: 100, Deposit: 600, MaxPricePerUnit: 5}})
	if wire.CodeOf(err) != wire.CodeNoCapacity {
		t.Fatalf("want no_capacity, got %v", err)
	}

	// The provider deploys; the deposit pays 100 blocks at 6 per block... then cancels.
	if _, err := bobSigner.Send(ctx, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: award.ID,
		Status: wire.StatusDeployed, Endpoints: []string{"wss://bob.example/rpc"}}}); err != nil {
		t.Fatal(err)
	}
	live, h, err := c.SubscriptionsByProvider(ctx, bob.Address(42), true)
	if err != nil || len(live) != 1 || live[0].State != wire.StateActive || h < 1 {
		t.Fatalf("live %+v at %d: %v", live, h, err)
	}
	if _, err := aliceSigner.Send(ctx, wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: award.ID}}); err != nil {
		t.Fatal(err)
	}

	// Follow replays every block from the start, in order: the awarded, deployed and ended
	// events all arrive, the ended one with its reason.
	seen := map[string]bool{}
	fctx, fcancel := context.WithCancel(ctx)
	last := int64(0)
	err = c.Follow(fctx, start, func(height int64, evs []client.Event) error {
		if height != last+1 && last != 0 {
			t.Errorf("gap: %d after %d", height, last)
		}
		last = height
		for _, e := range evs {
			if s, err := e.Subscription(); err == nil && s.ID == award.ID {
				seen[e.Type] = true
				if e.Type == wire.EventSubscriptionEnded && s.Reason != wire.ReasonCancelled {
					t.Errorf("end reason %q", s.Reason)
				}
			}
		}
		if seen[wire.EventSubscriptionEnded] {
			fcancel()
		}
		return nil
	})
	if !seen[wire.EventSubscriptionAwarded] || !seen[wire.EventSubscriptionDeployed] || !seen[wire.EventSubscriptionEnded] {
		t.Fatalf("follow saw %v (err %v)", seen, err)
	}
	acct, err := c.Account(ctx, alice.Address(42))
	if err != nil || acct.Nonce != 2 { // subscribe, cancel (the rejected subscribe used no nonce)
		t.Fatalf("alice %+v %v", acct, err)
	}
	if _, err := c.Provider(ctx, alice.Address(42)); !client.IsNotFound(err) || !strings.Contains(err.Error(), "not a registered provider") {
		t.Fatalf("missing provider: %v", err)
	}
}

// Several listeners share the client's one websocket subscription to new blocks.
func TestNewHeightsShared(t *testing.T) {
	testenv.Short(t)
	_, c := chaintest.Start(t, devGenesis(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := c.NewHeights(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithCancel(ctx)
	b, err := c.NewHeights(bctx)
	if err != nil {
		t.Fatal(err)
	}
	ha, hb := <-a, <-b
	if ha < 1 || hb < 1 {
		t.Fatalf("heights %d %d", ha, hb)
	}
	bcancel()
	for range b { // closed once its context ends
	}
	if h := <-a; h <= ha {
		t.Fatalf("a got %d after %d", h, ha)
	}
}
