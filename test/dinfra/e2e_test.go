// Package dinfra_test is the end-to-end test of the DINFRA flow: a real chain (in-process
// CometBFT), a provider's watcher and local reactor, and a real gossamer network.
package dinfra_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/ledger/wire"
	onflocal "github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/local/localtest"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/test/dinfra/dinfratest"
)

func TestMain(m *testing.M) {
	localtest.MaybeSupervise()
	os.Exit(m.Run())
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

// gossamerEnv is a chain and a provider (Bob) whose reactor runs substrate-network
// deployments as local gossamer networks, with the dev network descriptor in its store.
type gossamerEnv struct {
	cc       *client.Client
	provider *dinfratest.Provider
	rt       *onflocal.Runtime
	gossamer string // the node binary the reactor runs
	docCID   string // examples/descriptors/dev-network.json
}

// startGossamerProvider starts a chain with the default block time and a provider over the
// local driver (its watcher is left to the test), and returns a context that ends after
// timeout or with the test. It skips in -short mode and without a gossamer binary.
func startGossamerProvider(t *testing.T, timeout time.Duration) (context.Context, *gossamerEnv) {
	t.Helper()
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN", "gossamer")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	reg, store := dinfratest.Descriptors(t)
	doc, err := os.ReadFile(filepath.Join("..", "..", "examples", "descriptors", "dev-network.json"))
	if err != nil {
		t.Fatal(err)
	}
	docCID, err := store.Put(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	cc := dinfratest.StartChain(t, reg, chain.DefaultBlockTime)
	rt := localtest.Runtime(t)
	p := dinfratest.StartProvider(t, cc, reg, store, reactor.Config{Driver: local.New(rt, local.Binaries{v1alpha1.FlavorGossamer: gossamer}, 4, 2*time.Minute)})
	return ctx, &gossamerEnv{cc: cc, provider: p, rt: rt, gossamer: gossamer, docCID: docCID.String()}
}

// waitDeployed waits until the subscription is active with endpoints on chain, its network
// is the only one running and its RPC answers, and returns that RPC URL.
func waitDeployed(ctx context.Context, t *testing.T, env *gossamerEnv, subID uint64) string {
	t.Helper()
	var endpoints []string
	testenv.Eventually(t, 3*time.Minute, "subscription active with endpoints", func() (bool, string) {
		s, err := env.cc.Subscription(ctx, subID)
		if err != nil {
			return false, err.Error()
		}
		endpoints = s.Endpoints
		return s.State == wire.StateActive && len(s.Endpoints) > 0, s.State
	})
	var rpcURL string
	for _, e := range endpoints {
		if strings.HasPrefix(e, "http://") {
			rpcURL = e
			break
		}
	}
	testenv.Eventually(t, time.Minute, "the network's RPC answers at "+rpcURL, func() (bool, string) { return rpcAnswers(rpcURL), rpcURL })
	if networks, _ := env.rt.Networks(); len(networks) != 1 {
		t.Fatalf("networks %v, want one", networks)
	}
	return rpcURL
}

func TestSubscribeDeploysGossamerNetworkAndCancelTearsItDown(t *testing.T) {
	ctx, env := startGossamerProvider(t, 4*time.Minute)
	cc, p := env.cc, env.provider
	_, stopWatcher := p.StartWatcher(t)

	// The consumer (Alice) subscribes with the dev network descriptor.
	subID, _ := dinfratest.Subscribe(t, cc, descriptor.TypeSubstrateNetwork, env.docCID)

	// Kill the watcher right after the award, before it could have reported; a new one
	// picks up from the persisted height and finishes the job.
	stopWatcher()
	_, stopWatcher = p.StartWatcher(t)

	rpcURL := waitDeployed(ctx, t, env, subID)

	// A restart of the watcher while the network runs never tears it down. A session
	// reconciles before it applies blocks: once the new watcher has applied the current
	// height, it has compared the chain with the reactor.
	stopWatcher()
	current, _ := p.StartWatcher(t)
	now, err := cc.LatestHeight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "restarted watcher caught up", func() (bool, string) { return current.Height() >= now, fmt.Sprint(current.Height()) })
	if !rpcAnswers(rpcURL) {
		t.Fatal("the network stopped answering after a watcher restart")
	}

	// Cancel: the chain ends the subscription, the watcher tears the network down.
	requireRunning(ctx, t, env, subID)
	dinfratest.CancelSubscription(t, cc, subID)
	waitTornDown(ctx, t, env, subID, rpcURL)
}
