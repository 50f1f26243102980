// Package dinfratest runs the DINFRA flow's real parts for end-to-end tests: an in-process
// chain (CometBFT and the ledger), a provider (Bob) with a reactor over a driver and its
// watcher, and a consumer (Alice) subscribing. test/dinfra and the attack suite
// (test/security) share it.
package dinfratest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/chaintest"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/watcher"
)

// Quiet discards the logs of the parts under test.
var Quiet = slog.New(slog.DiscardHandler)

// Descriptors returns the built-in types' registry and an empty descriptor store.
func Descriptors(t testing.TB) (*descriptor.Registry, *descriptor.DirStore) {
	t.Helper()
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	store, err := descriptor.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return reg, store
}

// StartChain runs a single-validator dev chain in process whose genesis knows the built-in
// descriptor types, and returns a client once it has produced a block.
func StartChain(t testing.TB, reg *descriptor.Registry, blockTime time.Duration) *client.Client {
	t.Helper()
	_, cc := chaintest.Start(t, wire.DevGenesis(chain.BuiltinTypes(reg)), blockTime)
	return cc
}

// ProviderPricePerUnit is what the test provider asks per unit per block; not 1, so that
// billing arithmetic (blocks x price, the deposit's remainder) is visible in the figures.
const ProviderPricePerUnit = 3

const token = "e2e-token"

// Provider is Bob running a reactor and registered on the chain.
type Provider struct {
	CC      *client.Client
	Address string
	// Pair signs Bob's transactions.
	Pair *keyring.Pair
	// Watcher configures the provider's watchers (StartWatcher).
	Watcher watcher.Config
	// StateDir is the reactor's book of deployments (one file per deployment).
	StateDir string
	// URL is the reactor's API, which stays the same across RestartReactor.
	URL string

	cfg     reactor.Config
	handler atomic.Value // http.Handler of the reactor serving now
	srv     *reactor.Server
}

// StartProvider starts a reactor for cfg (its Driver set; Registry, Auth, StateDir and
// Logger are filled in) and registers Bob on the chain as a provider of both built-in types
// with the driver's capacity.
func StartProvider(t testing.TB, cc *client.Client, reg *descriptor.Registry, store descriptor.Store, cfg reactor.Config) *Provider {
	t.Helper()
	ctx := context.Background()
	cfg.Registry, cfg.Auth, cfg.StateDir, cfg.Logger = reg, reactor.Auth{Token: token}, t.TempDir(), Quiet
	p := &Provider{CC: cc, StateDir: cfg.StateDir, cfg: cfg}
	p.startReactor(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(func() { hs.Close(); p.srv.Close() })
	p.URL = hs.URL
	rc, err := reactor.NewClient(reactor.ClientConfig{URL: hs.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pair, err = keyring.Dev(keyring.Sr25519, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Signer(p.Pair).Send(ctx, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{
		Endpoint: hs.URL, Types: []string{descriptor.TypeSubstrateNetwork, descriptor.TypeCloudInit}, Capacity: uint64(cfg.Driver.Capacity()), PricePerUnit: ProviderPricePerUnit}}); err != nil {
		t.Fatal(err)
	}
	view, err := watcher.NewCometChain(ctx, cc, cc.Signer(p.Pair))
	if err != nil {
		t.Fatal(err)
	}
	p.Address = p.Pair.Address(keyring.SubstratePrefix)
	p.Watcher = watcher.Config{Provider: p.Address, Chain: view, Reactor: rc, Store: store, Registry: reg,
		StateFile: filepath.Join(t.TempDir(), "watcher-height"), ReconcileEvery: 2 * time.Second, Logger: Quiet}
	return p
}

func (p *Provider) startReactor(t testing.TB) {
	t.Helper()
	srv, err := reactor.New(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.srv = srv
	p.handler.Store(srv.Handler())
}

// RestartReactor stops the reactor (deployments keep running) and starts a new one over the
// same book and driver, at the same URL: what a provider's restart or a crash looks like.
func (p *Provider) RestartReactor(t testing.TB) {
	t.Helper()
	p.srv.Close()
	p.startReactor(t)
}

// StartWatcher runs a watcher until the returned stop is called (or the test ends).
func (p *Provider) StartWatcher(t testing.TB) (*watcher.Watcher, func()) {
	t.Helper()
	w, err := watcher.New(p.Watcher)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return w, stop
}

// Consumer is Alice, who subscribes in these tests.
func Consumer(t testing.TB) *keyring.Pair {
	t.Helper()
	alice, err := keyring.Dev(keyring.Sr25519, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return alice
}

// Subscribe makes Alice subscribe to one unit of the descriptor with CID c, with a deposit
// that outlasts any test, and returns the subscription id and the height of its block.
func Subscribe(t testing.TB, cc *client.Client, typ string, c string) (uint64, int64) {
	t.Helper()
	return SubscribeWithDeposit(t, cc, typ, c, 1_000_000)
}

// SubscribeWithDeposit is Subscribe with a deposit of the caller's choice.
func SubscribeWithDeposit(t testing.TB, cc *client.Client, typ string, c string, deposit wire.Amount) (uint64, int64) {
	t.Helper()
	res, err := cc.Signer(Consumer(t)).Send(context.Background(), wire.Msg{Subscribe: &wire.MsgSubscribe{
		DescriptorCID: c, DescriptorType: typ, Units: 1, Deposit: deposit, MaxPricePerUnit: 5}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Events {
		if e.Type == wire.EventSubscriptionAwarded {
			s, err := e.Subscription()
			if err != nil {
				t.Fatal(err)
			}
			return s.ID, res.Height
		}
	}
	t.Fatalf("no award in %+v", res.Events)
	return 0, 0
}

// CancelSubscription makes Alice cancel subscription id.
func CancelSubscription(t testing.TB, cc *client.Client, id uint64) {
	t.Helper()
	if _, err := cc.Signer(Consumer(t)).Send(context.Background(), wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: id}}); err != nil {
		t.Fatal(err)
	}
}
