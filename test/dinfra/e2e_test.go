// Package dinfra_test is the end-to-end test of the DINFRA flow: a real chain (in-process
// CometBFT), a provider's watcher and local reactor, and a real gossamer network.
package dinfra_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/local/localtest"
	"github.com/dinfra/stack/internal/reactor/watcher"
	"github.com/dinfra/stack/internal/testenv"
)

func TestMain(m *testing.M) {
	localtest.MaybeSupervise()
	os.Exit(m.Run())
}

func freePorts(t *testing.T, n int) []int {
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

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, timeout, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rpcAnswers reports whether a node's JSON-RPC endpoint answers system_health.
func rpcAnswers(url string) bool {
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(`{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}`))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200 && bytes.Contains(body, []byte(`"result"`))
}

func TestSubscribeDeploysGossamerNetworkAndCancelTearsItDown(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN", "gossamer")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The provider's descriptor store and type registry.
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	netType, _ := reg.Lookup(descriptor.TypeSubstrateNetwork)
	store, err := descriptor.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "examples", "descriptors", "dev-network.json"))
	if err != nil {
		t.Fatal(err)
	}
	docCID, err := store.Put(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}

	// The chain.
	home := t.TempDir()
	ports := freePorts(t, 2)
	g := ledger.DevGenesis([]ledger.GenesisType{{Name: "substrate-network", Version: "v1alpha1", SchemaCID: netType.SchemaCID.String()}})
	if err := chain.Init(chain.InitOptions{Home: home, Genesis: g,
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
	eventually(t, 20*time.Second, "first block", func() (bool, string) { h, err := cc.LatestHeight(ctx); return err == nil && h >= 1, fmt.Sprint(err) })

	// The provider (Bob): a local reactor and its watcher.
	rt := localtest.Runtime(t)
	srv, err := reactor.New(reactor.Config{
		Driver:   local.New(rt, local.Binaries{v1alpha1.FlavorGossamer: gossamer}, 4, 2*time.Minute),
		Registry: reg, Auth: reactor.Auth{Token: "e2e-token"}, StateDir: t.TempDir(), Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	reactorClient, err := reactor.NewClient(reactor.ClientConfig{URL: hs.URL, Token: "e2e-token"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := keyring.Dev(keyring.Sr25519, "bob")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := keyring.Dev(keyring.Sr25519, "alice")
	if err != nil {
		t.Fatal(err)
	}
	provider := bob.Address(keyring.SubstratePrefix)
	if _, err := cc.Signer(bob).Send(ctx, ledger.Msg{RegisterProvider: &ledger.MsgRegisterProvider{
		Endpoint: hs.URL, Types: []string{descriptor.TypeSubstrateNetwork}, Capacity: 4, PricePerUnit: 1}}); err != nil {
		t.Fatal(err)
	}
	chainView, err := watcher.NewCometChain(ctx, cc, cc.Signer(bob))
	if err != nil {
		t.Fatal(err)
	}
	wcfg := watcher.Config{Provider: provider, Chain: chainView, Reactor: reactorClient, Store: store, Registry: reg,
		StateFile: filepath.Join(t.TempDir(), "watcher-height"), ReconcileEvery: 2 * time.Second, Logger: quiet}
	var current *watcher.Watcher
	startWatcher := func() (stop func()) {
		w, err := watcher.New(wcfg)
		current = w
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = w.Run(wctx) }()
		return func() { wcancel(); <-done }
	}
	stopWatcher := startWatcher()

	// The consumer (Alice) subscribes with the dev network descriptor.
	res, err := cc.Signer(alice).Send(ctx, ledger.Msg{Subscribe: &ledger.MsgSubscribe{
		DescriptorCID: docCID.String(), DescriptorType: descriptor.TypeSubstrateNetwork, Units: 1, Deposit: 1_000_000, MaxPricePerUnit: 5}})
	if err != nil {
		t.Fatal(err)
	}
	var subID uint64
	for _, e := range res.Events {
		if e.Type == ledger.EventSubscriptionAwarded {
			s, err := e.Subscription()
			if err != nil {
				t.Fatal(err)
			}
			subID = s.ID
		}
	}
	if subID == 0 {
		t.Fatalf("no award in %+v", res.Events)
	}

	// Kill the watcher right after the award, before it could have reported; a new one
	// picks up from the persisted height and finishes the job.
	stopWatcher()
	stopWatcher = startWatcher()
	defer func() { stopWatcher() }()

	var endpoints []string
	eventually(t, 3*time.Minute, "subscription active with endpoints", func() (bool, string) {
		s, err := cc.Subscription(ctx, subID)
		if err != nil {
			return false, err.Error()
		}
		endpoints = s.Endpoints
		return s.State == ledger.StateActive && len(s.Endpoints) > 0, s.State
	})
	var rpcURL string
	for _, e := range endpoints {
		if len(e) > 7 && e[:7] == "http://" {
			rpcURL = e
			break
		}
	}
	eventually(t, time.Minute, "the network's RPC answers at "+rpcURL, func() (bool, string) { return rpcAnswers(rpcURL), rpcURL })
	networks, _ := rt.Networks()
	if len(networks) != 1 {
		t.Fatalf("networks %v, want one", networks)
	}

	// A restart of the watcher while the network runs never tears it down.
	stopWatcher()
	stopWatcher = startWatcher()
	// A session reconciles before it applies blocks: once the new watcher has applied the
	// current height, it has compared the chain with the reactor.
	now, err := cc.LatestHeight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "restarted watcher caught up", func() (bool, string) { return current.Height() >= now, fmt.Sprint(current.Height()) })
	if !rpcAnswers(rpcURL) {
		t.Fatal("the network stopped answering after a watcher restart")
	}

	// Cancel: the chain ends the subscription, the watcher tears the network down.
	if _, err := cc.Signer(alice).Send(ctx, ledger.Msg{Cancel: &ledger.MsgCancel{SubscriptionID: subID}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "network torn down", func() (bool, string) {
		names, _ := rt.Networks()
		return len(names) == 0 && !rpcAnswers(rpcURL), fmt.Sprint(names)
	})
}
