package dinfra_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/watcher"
)

var quiet = slog.New(slog.DiscardHandler)

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

// startChain runs a single-validator dev chain in process whose genesis knows the built-in
// descriptor types, and returns a client once it has produced a block.
func startChain(t testing.TB, reg *descriptor.Registry, blockTime time.Duration) *client.Client {
	t.Helper()
	var types []ledger.GenesisType
	for _, ty := range reg.Types() {
		name, version, _ := cut(ty.Name)
		types = append(types, ledger.GenesisType{Name: name, Version: version, SchemaCID: ty.SchemaCID.String()})
	}
	home := t.TempDir()
	ports := freePorts(t, 2)
	if err := chain.Init(chain.InitOptions{Home: home, Genesis: ledger.DevGenesis(types), BlockTime: blockTime,
		P2PAddr: fmt.Sprintf("tcp://127.0.0.1:%d", ports[0]), RPCAddr: fmt.Sprintf("tcp://127.0.0.1:%d", ports[1])}); err != nil {
		t.Fatal(err)
	}
	node, err := chain.Start(home, chain.StartOptions{LogOutput: io.Discard, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Stop() })
	cc, err := client.New(node.RPCAddress())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if h, err := cc.LatestHeight(context.Background()); err == nil && h >= 1 {
			return cc
		}
		if time.Now().After(deadline) {
			t.Fatal("the chain produced no block")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cut(typeName string) (name, version string, ok bool) {
	for i := len(typeName) - 1; i >= 0; i-- {
		if typeName[i] == '/' {
			return typeName[:i], typeName[i+1:], true
		}
	}
	return typeName, "", false
}

// providerPricePerUnit is what the test provider asks per unit per block; not 1, so that
// billing arithmetic (blocks x price, the deposit's remainder) is visible in the figures.
const providerPricePerUnit = 3

// provider is Bob running a reactor over driver and registered on the chain.
type provider struct {
	cc      *client.Client
	address string
	cfg     watcher.Config
	// stateDir is the reactor's book of deployments (one file per deployment).
	stateDir string
}

func startProvider(t testing.TB, cc *client.Client, reg *descriptor.Registry, store descriptor.Store, driver reactor.Driver) *provider {
	t.Helper()
	ctx := context.Background()
	stateDir := t.TempDir()
	srv, err := reactor.New(reactor.Config{Driver: driver, Registry: reg, Auth: reactor.Auth{Token: "e2e-token"}, StateDir: stateDir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	rc, err := reactor.NewClient(reactor.ClientConfig{URL: hs.URL, Token: "e2e-token"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := keyring.Dev(keyring.Sr25519, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Signer(bob).Send(ctx, ledger.Msg{RegisterProvider: &ledger.MsgRegisterProvider{
		Endpoint: hs.URL, Types: []string{descriptor.TypeSubstrateNetwork, descriptor.TypeCloudInit}, Capacity: uint64(driver.Capacity()), PricePerUnit: providerPricePerUnit}}); err != nil {
		t.Fatal(err)
	}
	view, err := watcher.NewCometChain(ctx, cc, cc.Signer(bob))
	if err != nil {
		t.Fatal(err)
	}
	address := bob.Address(keyring.SubstratePrefix)
	return &provider{cc: cc, address: address, stateDir: stateDir, cfg: watcher.Config{Provider: address, Chain: view, Reactor: rc, Store: store, Registry: reg,
		StateFile: filepath.Join(t.TempDir(), "watcher-height"), ReconcileEvery: 2 * time.Second, Logger: quiet}}
}

// startWatcher runs a watcher until the returned stop is called.
func (p *provider) startWatcher(t testing.TB) (*watcher.Watcher, func()) {
	t.Helper()
	w, err := watcher.New(p.cfg)
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

// consumer is Alice, who subscribes in these tests.
func consumer(t testing.TB) *keyring.Pair {
	t.Helper()
	alice, err := keyring.Dev(keyring.Sr25519, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return alice
}

// subscribe makes Alice subscribe to doc with a deposit that outlasts any test and returns
// the subscription id and the height of the block that included it.
func subscribe(t testing.TB, cc *client.Client, typ string, c string) (uint64, int64) {
	t.Helper()
	return subscribeWithDeposit(t, cc, typ, c, 1_000_000)
}

// subscribeWithDeposit is subscribe with a deposit of the caller's choice, for one unit.
func subscribeWithDeposit(t testing.TB, cc *client.Client, typ string, c string, deposit ledger.Amount) (uint64, int64) {
	t.Helper()
	res, err := cc.Signer(consumer(t)).Send(context.Background(), ledger.Msg{Subscribe: &ledger.MsgSubscribe{
		DescriptorCID: c, DescriptorType: typ, Units: 1, Deposit: deposit, MaxPricePerUnit: 5}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Events {
		if e.Type == ledger.EventSubscriptionAwarded {
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

func cancelSubscription(t testing.TB, cc *client.Client, id uint64) {
	t.Helper()
	if _, err := cc.Signer(consumer(t)).Send(context.Background(), ledger.Msg{Cancel: &ledger.MsgCancel{SubscriptionID: id}}); err != nil {
		t.Fatal(err)
	}
}
