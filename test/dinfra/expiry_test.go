package dinfra_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
	"github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/watcher"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/test/dinfra/dinfratest"
)

// expiryRunway is how long a deployment in TestDepositRunningOutTearsNetworkDown is paid
// for, at the default block time.
const expiryRunway = 15 * time.Second

// TestDepositRunningOutTearsNetworkDown: a subscription whose deposit covers a few seconds
// after deployment is ended by the chain, with reason expired, in exactly the block its
// deposit runs out (deployment block + floor(deposit / price)); the watcher then tears the
// gossamer network down, the capacity is freed and the consumer paid the provider exactly
// blocks x price.
func TestDepositRunningOutTearsNetworkDown(t *testing.T) {
	ctx, env := startGossamerProvider(t, 4*time.Minute)
	cc, p := env.cc, env.provider
	p.StartWatcher(t)

	before, err := cc.Provider(ctx, p.Address)
	if err != nil {
		t.Fatal(err)
	}
	// One unit: the price per block is the provider's price per unit. The deposit pays for
	// the runway plus a remainder below one block's price, which must come back.
	price := before.PricePerUnit
	paidBlocks := int64(expiryRunway / chain.DefaultBlockTime)
	deposit := price*wire.Amount(paidBlocks) + price - 1
	alice := dinfratest.Consumer(t).Address(keyring.SubstratePrefix)
	aliceBefore, bobBefore := balance(ctx, t, cc, alice), balance(ctx, t, cc, p.Address)

	start := time.Now()
	subID, subHeight := dinfratest.SubscribeWithDeposit(t, cc, descriptor.TypeSubstrateNetwork, env.docCID, deposit)
	rpcURL := waitDeployed(ctx, t, env, subID)
	deployedAfter := time.Since(start)
	active, err := cc.Subscription(ctx, subID)
	if err != nil {
		t.Fatal(err)
	}
	if active.PricePerBlock != price {
		t.Fatalf("price per block %d, want the provider's %d", active.PricePerBlock, price)
	}
	if free := providerFree(ctx, t, cc, p.Address); free != before.Free-1 {
		t.Fatalf("free capacity while deployed: %d, want %d", free, before.Free-1)
	}
	requireRunning(ctx, t, env, subID)

	// No cancel: wait for the chain to end the subscription on its own.
	var ended *wire.SubscriptionView
	testenv.Eventually(t, 2*time.Minute, "subscription ended", func() (bool, string) {
		s, err := cc.Subscription(ctx, subID)
		if err != nil {
			return false, err.Error()
		}
		ended = s
		return s.State == wire.StateEnded, s.State
	})
	latest, err := cc.LatestHeight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deployed, end := deployedAndEnded(ctx, t, cc, subID, subHeight, latest)
	wantEnd := deployed.Height + int64(deposit/price)
	charged := price * wire.Amount(paidBlocks)
	endEv, err := end.Subscription()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"end reason", endEv.Reason, wire.ReasonExpired},
		{"end height", end.Height, wantEnd},
		{"end is a block event (tx index)", end.TxIndex, -1},
		{"ended_at", ended.EndedAt, wantEnd},
		{"expires_at announced at deployment", mustSubscription(t, deployed).ExpiresAt, wantEnd},
		{"charged", endEv.Charged, charged},
		{"refund", endEv.Refund, deposit - charged},
		{"paid_total", ended.PaidTotal, charged},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}

	waitTornDown(ctx, t, env, subID, rpcURL)
	tornDownAt, err := cc.LatestHeight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	endBlock, err := cc.RPC().Block(ctx, &end.Height)
	if err != nil {
		t.Fatal(err)
	}
	tornDownAfter := time.Since(endBlock.Block.Time)

	after, err := cc.Provider(ctx, p.Address)
	if err != nil {
		t.Fatal(err)
	}
	if after.Free != before.Free || after.Reserved != 0 || after.Rate != 0 {
		t.Errorf("provider after expiry: free %d reserved %d rate %d, want free %d, nothing reserved, rate 0", after.Free, after.Reserved, after.Rate, before.Free)
	}
	if got := balance(ctx, t, cc, alice); got != aliceBefore-charged {
		t.Errorf("consumer balance %d, want %d - %d = %d", got, aliceBefore, charged, aliceBefore-charged)
	}
	if got := balance(ctx, t, cc, p.Address); got != bobBefore+charged {
		t.Errorf("provider balance with pending earnings %d, want %d + %d = %d", got, bobBefore, charged, bobBefore+charged)
	}
	t.Logf("price %d/block, deposit %d: deployed in block %d (%.1fs after subscribing in block %d), ended expired in block %d = %d + %d as computed, %d charged, %d refunded; torn down as of block %d, %.1fs after block %d's time",
		price, deposit, deployed.Height, deployedAfter.Seconds(), subHeight, end.Height, deployed.Height, paidBlocks, endEv.Charged, endEv.Refund, tornDownAt, tornDownAfter.Seconds(), end.Height)
}

// balance is an account's free balance plus the earnings accrued but not yet credited.
func balance(ctx context.Context, t *testing.T, cc *client.Client, addr string) wire.Amount {
	t.Helper()
	a, err := cc.Account(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	return a.Balance + a.PendingEarnings
}

func providerFree(ctx context.Context, t *testing.T, cc *client.Client, addr string) uint64 {
	t.Helper()
	pv, err := cc.Provider(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	return pv.Free
}

func mustSubscription(t *testing.T, e client.Event) *wire.SubscriptionEvent {
	t.Helper()
	s, err := e.Subscription()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deployedAndEnded reads blocks from..to and returns the events that made subscription id
// active and ended it; it fails unless there is exactly one of each (the watcher reports a
// deployment once, even when a reconcile runs while the report waits for its block).
func deployedAndEnded(ctx context.Context, t *testing.T, cc *client.Client, id uint64, from, to int64) (deployed, ended client.Event) {
	t.Helper()
	found := map[string][]client.Event{}
	for h := from; h <= to; h++ {
		evs, err := cc.BlockEvents(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if wire.IsSubscriptionEvent(e.Type) && e.Attributes["id"] == strconv.FormatUint(id, 10) {
				found[e.Type] = append(found[e.Type], e)
			}
		}
	}
	deps, ends := found[wire.EventSubscriptionDeployed], found[wire.EventSubscriptionEnded]
	if len(deps) != 1 || len(ends) != 1 {
		t.Fatalf("blocks %d..%d: %d deployed and %d ended events for subscription %d, want one each", from, to, len(deps), len(ends), id)
	}
	return deps[0], ends[0]
}

// requireRunning checks what waitTornDown expects gone while deployment id runs: the
// reactor's record of it and a gossamer process for every node of its network.
func requireRunning(ctx context.Context, t *testing.T, env *gossamerEnv, id uint64) {
	t.Helper()
	depID := watcher.DeploymentID(id)
	if _, err := os.Stat(reactorRecord(env, depID)); err != nil {
		t.Fatalf("the reactor's record of deployment %s: %v", depID, err)
	}
	name := local.NetworkName(depID)
	st, err := env.rt.Status(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := env.rt.Dir(name)
	if err != nil {
		t.Fatal(err)
	}
	pids := nodeProcesses(t, env.gossamer, string(dir))
	if len(st.Nodes) == 0 || len(pids) != len(st.Nodes) {
		t.Fatalf("network %s: gossamer processes %v for %d nodes", name, pids, len(st.Nodes))
	}
}

// reactorRecord is the file in which the provider's reactor keeps deployment depID.
func reactorRecord(env *gossamerEnv, depID string) string {
	return filepath.Join(env.provider.StateDir, depID+".json")
}

// nodeProcesses lists the live processes running bin with an argument inside dir (a node's
// base path); exited processes not yet reaped have no command line and are not listed.
func nodeProcesses(t *testing.T, bin, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
		if string(args[0]) != bin {
			continue
		}
		for _, a := range args[1:] {
			if bytes.HasPrefix(a, []byte(dir+string(filepath.Separator))) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// waitTornDown waits until the provider has torn deployment id down: the reactor lists
// nothing and has forgotten it, the network's state directory is purged, no gossamer
// process of it is left and its RPC endpoint is silent.
func waitTornDown(ctx context.Context, t *testing.T, env *gossamerEnv, id uint64, rpcURL string) {
	t.Helper()
	depID := watcher.DeploymentID(id)
	stateDir, err := env.rt.Dir(local.NetworkName(depID))
	if err != nil {
		t.Fatal(err)
	}
	dir := string(stateDir)
	record := reactorRecord(env, depID)
	testenv.Eventually(t, time.Minute, "network torn down", func() (bool, string) {
		res, err := env.provider.Watcher.Reactor.ListDeploymentsWithResponse(ctx)
		if err != nil {
			return false, "reactor list: " + err.Error()
		}
		if res.JSON200 == nil {
			return false, "reactor list: " + res.Status()
		}
		if n := len(res.JSON200.Items); n > 0 {
			return false, fmt.Sprintf("reactor lists %d deployments, first %s in phase %s", n, res.JSON200.Items[0].Id, res.JSON200.Items[0].Phase)
		}
		if _, err := os.Stat(record); !errors.Is(err, os.ErrNotExist) {
			return false, "reactor still has " + record
		}
		if names, _ := env.rt.Networks(); len(names) > 0 {
			return false, fmt.Sprintf("networks %v", names)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			return false, "state directory " + dir + " still there"
		}
		if left := nodeProcesses(t, env.gossamer, dir); len(left) > 0 {
			return false, fmt.Sprintf("gossamer processes %v left", left)
		}
		if rpcAnswers(rpcURL) {
			return false, rpcURL + " still answers"
		}
		return true, ""
	})
}
