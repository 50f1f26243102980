package chain_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain/chaintest"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// BenchmarkCommittedTxs measures committed marketplace transactions per second on a single
// in-process validator: pre-signed sr25519 transactions (subscribe, top-up, transfer in
// turn, from 200 consumer accounts) are submitted over CometBFT's RPC (broadcast_tx_sync,
// in JSON-RPC batches of 12 or 13, from 16 concurrent clients) and counted as their blocks commit. The rate is committed
// txs over the time from the first submission to the block holding the last one.
//
//	DINFRA_BENCH_TXS=20000 go test ./internal/chain -run XXX -bench CommittedTxs -benchtime 1x
func BenchmarkCommittedTxs(b *testing.B) {
	total := 20000
	if v, err := strconv.Atoi(os.Getenv("DINFRA_BENCH_TXS")); err == nil && v > 0 {
		total = v
	}
	const consumers, workers, nProviders = 200, 16, 10
	perConsumer := total / consumers
	total = perConsumer * consumers

	// Accounts: 10 providers and 200 consumers, endowed at genesis.
	seed := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	var providers, accounts []*keyring.Pair
	g := devGenesis()
	for i := 0; i < nProviders+consumers; i++ {
		p, err := keyring.FromSeed(keyring.Sr25519, seed(fmt.Sprint("bench", i)))
		if err != nil {
			b.Fatal(err)
		}
		g.Accounts = append(g.Accounts, wire.GenesisAccount{Address: p.Address(42), Balance: 1 << 40})
		if i < nProviders {
			providers = append(providers, p)
		} else {
			accounts = append(accounts, p)
		}
	}
	for i := 0; i < b.N; i++ {
		_, c := chaintest.Start(b, g, 0)
		rate := runLoad(b, c, providers, accounts, perConsumer, workers)
		b.ReportMetric(rate, "committed-tx/s")
	}
}

func runLoad(b *testing.B, c *client.Client, providers, accounts []*keyring.Pair, perConsumer, workers int) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	chainID, _ := c.ChainID(ctx)
	// Setup (not measured): providers register, each consumer opens one subscription.
	var setup []string
	for _, p := range providers {
		h, err := c.Signer(p).SendAsync(ctx, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{Endpoint: "https://p.example",
			Types: []string{"substrate-network/v1alpha1"}, Capacity: 1 << 40, PricePerUnit: 1}})
		if err != nil {
			b.Fatal(err)
		}
		setup = append(setup, h)
	}
	for _, h := range setup {
		if _, err := c.WaitTx(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
	sub := func(units uint64) wire.Msg {
		return wire.Msg{Subscribe: &wire.MsgSubscribe{DescriptorCID: schemaCID, DescriptorType: "substrate-network/v1alpha1",
			Units: units, Deposit: 1_000_000, MaxPricePerUnit: 1}}
	}
	setup = setup[:0]
	for _, a := range accounts {
		h, err := c.Signer(a).SendAsync(ctx, sub(1))
		if err != nil {
			b.Fatal(err)
		}
		setup = append(setup, h)
	}
	ownSub := map[string]uint64{}
	for i, h := range setup {
		res, err := c.WaitTx(ctx, h)
		if err != nil || res.Code != wire.CodeOK {
			b.Fatalf("setup subscribe: %v %+v", err, res)
		}
		for _, e := range res.Events {
			if s, err := e.Subscription(); err == nil {
				ownSub[accounts[i].Address(42)] = s.ID
			}
		}
	}
	// Pre-sign the measured load: subscribe, top-up, transfer in turn.
	txs := make([][][]byte, len(accounts))
	for i, a := range accounts {
		for k := 0; k < perConsumer; k++ {
			var m wire.Msg
			switch k % 3 {
			case 0:
				m = sub(1)
			case 1:
				m = wire.Msg{TopUp: &wire.MsgTopUp{SubscriptionID: ownSub[a.Address(42)], Amount: 10}}
			default:
				m = wire.Msg{Transfer: &wire.MsgTransfer{To: accounts[(i+1)%len(accounts)].Address(42), Amount: 1}}
			}
			tx, err := wire.EncodeTx(a, chainID, uint64(1+k), m)
			if err != nil {
				b.Fatal(err)
			}
			txs[i] = append(txs[i], tx)
		}
	}
	total := len(accounts) * perConsumer
	start, err := c.LatestHeight(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// Count committed txs block by block as the node announces them, from the block metas
	// (cheap: the counter shares the 2 cores with the node); the ledger's nonces tell at the
	// end that every one of them succeeded.
	heights, err := c.NewHeights(ctx)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	var end time.Time
	committed := 0
	go func() {
		defer close(done)
		next := start + 1
		for h := range heights {
			for next <= h {
				last := min(h, next+19) // blockchain returns at most 20 metas
				res, err := c.RPC().BlockchainInfo(ctx, next, last)
				if err != nil {
					b.Error(err)
					return
				}
				for _, m := range res.BlockMetas {
					committed += m.NumTxs
				}
				next = last + 1
			}
			if committed >= total {
				end = time.Now()
				return
			}
		}
	}()
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Each worker owns every workers-th account and sends its txs in nonce order, in
			// JSON-RPC batches of one tx per owned account.
			for k := 0; k < perConsumer; k++ {
				var batch [][]byte
				for i := w; i < len(accounts); i += workers {
					batch = append(batch, txs[i][k])
				}
				_, errs, err := c.BroadcastBatch(ctx, batch)
				for _, e := range errs {
					err = errors.Join(err, e)
				}
				if err != nil {
					b.Errorf("broadcast: %v", err)
					cancel() // stop counting blocks too
					return
				}
			}
		}(w)
	}
	wg.Wait()
	submitted := time.Since(t0)
	<-done
	elapsed := end.Sub(t0)
	for _, a := range accounts {
		acct, err := c.Account(ctx, a.Address(42))
		if err != nil || acct.Nonce != uint64(1+perConsumer) {
			b.Fatalf("%s: nonce %d, want %d (a tx was rejected in its block): %v", a.Address(42), acct.Nonce, 1+perConsumer, err)
		}
	}
	last, _ := c.LatestHeight(ctx)
	rate := float64(committed) / elapsed.Seconds()
	b.Logf("%d txs submitted in %v, committed in %v over %d blocks: %.0f committed tx/s", total, submitted.Round(time.Millisecond), elapsed.Round(time.Millisecond), last-start, rate)
	return rate
}
