package watcher

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/reactortest"
	"github.com/dinfra/stack/internal/testenv"
)

const provider = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"

type harness struct {
	chain    *fakeChain
	driver   *reactortest.Driver
	store    *descriptor.DirStore
	reg      *descriptor.Registry
	cfg      Config
	stateDir string
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{chain: newFakeChain(), driver: reactortest.NewDriver(1 << 20), stateDir: t.TempDir()}
	var err error
	if h.reg, err = descriptor.NewRegistry(); err != nil {
		t.Fatal(err)
	}
	if h.store, err = descriptor.NewDirStore(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	srv, err := reactor.New(reactor.Config{Driver: h.driver, Registry: h.reg, Auth: reactor.Auth{Token: "t"}, StateDir: filepath.Join(h.stateDir, "reactor"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	client, err := reactor.NewClient(reactor.ClientConfig{URL: hs.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	h.cfg = Config{Provider: provider, Chain: h.chain, Reactor: client, Store: h.store, Registry: h.reg,
		StateFile: filepath.Join(h.stateDir, "height"), StatusEvery: 10 * time.Millisecond, ReconcileEvery: 50 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	return h
}

// start runs a watcher until the returned stop is called (or the test ends).
func (h *harness) start(t testing.TB) (*Watcher, func()) {
	t.Helper()
	w, err := New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return w, stop
}

func (h *harness) order(t testing.TB, id uint64, name string) Order {
	t.Helper()
	doc := `{"name":"` + name + `","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`
	c, err := h.store.Put(context.Background(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return Order{ID: id, Consumer: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", DescriptorCID: c.String(), DescriptorType: descriptor.TypeCloudInit, Units: 1}
}

func (h *harness) running(id string) bool { _, ok := h.driver.Running()[id]; return ok }

func TestAwardDeploysAndReportsThenEndTearsDown(t *testing.T) {
	h := newHarness(t)
	h.start(t)
	o := h.order(t, 1, "vm")
	h.chain.commit(Event{Kind: Awarded, Order: o})
	testenv.Eventually(t, 10*time.Second, "deployment 1 runs", func() bool { return h.running("1") })
	testenv.Eventually(t, 10*time.Second, "deployed status reported", func() bool { eps, _ := h.chain.report(1); return len(eps) == 1 })
	h.chain.commit(Event{Kind: Ended, Order: o})
	testenv.Eventually(t, 10*time.Second, "deployment 1 torn down", func() bool { return !h.running("1") })
}

// A reconcile that runs while the deployed report waits for its block sees the order still
// pending on chain; it must not send a second report (a second transaction and event).
func TestReportInFlightIsNotSentAgainByReconcile(t *testing.T) {
	h := newHarness(t)
	hold := make(chan struct{})
	h.chain.hold = hold
	h.start(t)
	h.chain.commit(Event{Kind: Awarded, Order: h.order(t, 1, "vm")})
	testenv.Eventually(t, 10*time.Second, "deployed report sent", func() bool { n, _ := h.chain.counts(1); return n == 1 })
	_, before := h.chain.counts(1)
	testenv.Eventually(t, 10*time.Second, "three reconciles while the report is in flight", func() bool { _, r := h.chain.counts(1); return r >= before+3 })
	close(hold)
	testenv.Eventually(t, 10*time.Second, "deployed status reported", func() bool { eps, _ := h.chain.report(1); return len(eps) == 1 })
	_, after := h.chain.counts(1)
	testenv.Eventually(t, 10*time.Second, "two reconciles after the report", func() bool { _, r := h.chain.counts(1); return r >= after+2 })
	if n, _ := h.chain.counts(1); n != 1 {
		t.Fatalf("order 1 reported deployed %d times, want once", n)
	}
}

func TestUndeployableOrderIsReportedFailed(t *testing.T) {
	h := newHarness(t)
	h.start(t)
	missing := h.order(t, 2, "vm")
	missing.DescriptorCID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4" // never stored
	invalid := h.order(t, 3, "Not A Hostname")
	h.chain.commit(Event{Kind: Awarded, Order: missing}, Event{Kind: Awarded, Order: invalid})
	testenv.Eventually(t, 10*time.Second, "both reported failed", func() bool {
		_, f2 := h.chain.report(2)
		_, f3 := h.chain.report(3)
		return f2 != "" && f3 != ""
	})
	if _, reason := h.chain.report(2); !strings.Contains(reason, "not found") {
		t.Errorf("reason for a missing descriptor: %q", reason)
	}
	if _, reason := h.chain.report(3); !strings.Contains(reason, "name:") {
		t.Errorf("reason for an invalid descriptor: %q", reason)
	}
	if deploys, _ := h.driver.Calls(); deploys != 0 {
		t.Fatalf("%d deploy calls for undeployable orders", deploys)
	}
}

// TestRestartCatchesUpWithoutTearingDown stops the watcher, lets the chain move on (a new
// award, an end, 1,000 empty blocks), and starts a new watcher over the same state.
func TestRestartCatchesUpWithoutTearingDown(t *testing.T) {
	h := newHarness(t)
	_, stop := h.start(t)
	keep, gone := h.order(t, 10, "keep"), h.order(t, 11, "gone")
	h.chain.commit(Event{Kind: Awarded, Order: keep}, Event{Kind: Awarded, Order: gone})
	testenv.Eventually(t, 10*time.Second, "both run", func() bool { return h.running("10") && h.running("11") })
	testenv.Eventually(t, 10*time.Second, "both reported", func() bool { a, _ := h.chain.report(10); b, _ := h.chain.report(11); return a != nil && b != nil })
	stop()

	fresh := h.order(t, 12, "fresh")
	h.chain.commit(Event{Kind: Ended, Order: gone})
	h.chain.commit(Event{Kind: Awarded, Order: fresh})
	for range 1000 {
		h.chain.commit()
	}
	_, teardownsBefore := h.driver.Calls()
	w, _ := h.start(t)
	testenv.Eventually(t, 10*time.Second, "caught up", func() bool { return w.Height() == h.chain.height && h.running("12") && !h.running("11") })
	if !h.running("10") {
		t.Fatal("a running deployment was torn down by the restart")
	}
	if _, teardowns := h.driver.Calls(); teardowns-teardownsBefore != 1 {
		t.Fatalf("%d teardowns during catch-up, want 1 (order 11)", teardowns-teardownsBefore)
	}
}

func TestReconcileRemovesOrphansAndRedeploysMissing(t *testing.T) {
	h := newHarness(t)
	// The reactor runs 20, which the chain does not know (an orphan).
	orphan := h.order(t, 20, "orphan")
	w, _ := h.start(t)
	h.chain.commit(Event{Kind: Awarded, Order: orphan})
	testenv.Eventually(t, 10*time.Second, "orphan runs", func() bool { return h.running("20") })
	h.chain.mu.Lock()
	delete(h.chain.live, 20) // the chain forgets it without an event (e.g. state the watcher missed)
	h.chain.mu.Unlock()
	testenv.Eventually(t, 10*time.Second, "orphan torn down by reconcile", func() bool { return !h.running("20") })

	// The chain has 21 live but the reactor lost it: reconcile deploys it.
	lost := h.order(t, 21, "lost")
	lost.Reported = true
	h.chain.mu.Lock()
	h.chain.live[21] = lost
	h.chain.mu.Unlock()
	testenv.Eventually(t, 10*time.Second, "missing deployment redeployed", func() bool { return h.running("21") })
	_ = w
}

func TestChainOutageTearsNothingDown(t *testing.T) {
	h := newHarness(t)
	h.start(t)
	o := h.order(t, 30, "vm")
	h.chain.commit(Event{Kind: Awarded, Order: o})
	testenv.Eventually(t, 10*time.Second, "runs", func() bool { return h.running("30") })
	h.chain.setDown(true)
	// Several reconcile periods and retries pass with the chain unreachable.
	time.Sleep(300 * time.Millisecond) // a fixed outage window, not a wait for a condition
	if !h.running("30") {
		t.Fatal("deployment torn down while the chain was unreachable")
	}
	h.chain.setDown(false)
	h.chain.commit(Event{Kind: Ended, Order: o})
	testenv.Eventually(t, 10*time.Second, "torn down after the chain is back", func() bool { return !h.running("30") })
}

// TestRefusalIsReportedWithItsCode: an order the reactor refuses at the door is reported
// with the reactor's code and public message, cut to what the chain accepts (a longer
// reason would be rejected by the chain on every retry, holding the capacity until the
// deploy timeout).
func TestRefusalIsReportedWithItsCode(t *testing.T) {
	h := newHarness(t)
	h.start(t)
	doc := `{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","spec":{"chain":{"file":"/` + strings.Repeat("x", 300) + `"},
"groups":[{"name":"r","role":"rpc","replicas":1000}],"gateway":{"group":"r","config":"/etc/shadow"}}}`
	c, err := h.store.Put(context.Background(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	h.chain.commit(Event{Kind: Awarded, Order: Order{ID: 4, Consumer: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", DescriptorCID: c.String(), DescriptorType: descriptor.TypeSubstrateNetwork, Units: 1}})
	testenv.Eventually(t, 10*time.Second, "reported failed", func() bool { _, f := h.chain.report(4); return f != "" })
	_, reason := h.chain.report(4)
	if !strings.HasPrefix(reason, "invalid_descriptor: ") || !strings.Contains(reason, "spec.chain.file") || len(reason) > maxReasonBytes {
		t.Fatalf("reason %q (%d bytes)", reason, len(reason))
	}
}
