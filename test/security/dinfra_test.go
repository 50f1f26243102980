package security

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/ledger/wire"
	onflocal "github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/boundary"
	"github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/reactortest"
	"github.com/dinfra/stack/internal/reactor/watcher"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/test/dinfra/dinfratest"
)

// dinfraMarket is a real DINFRA chain (CometBFT and the ledger, in process) and a provider
// (Bob) whose local reactor and watcher take what consumers (Alice) order. Its local
// runtime has no supervisor and its node binary does not exist: every attack here must be
// stopped before anything would start.
type dinfraMarket struct {
	cc    *client.Client
	store descriptor.Store
	p     *dinfratest.Provider
	rt    *onflocal.Runtime
}

func dinfraStart(t *testing.T, policy boundary.Policy, fetch chainspec.Options) *dinfraMarket {
	t.Helper()
	reg, store := dinfratest.Descriptors(t)
	cc := dinfratest.StartChain(t, reg, 100*time.Millisecond)
	rt := &onflocal.Runtime{Home: t.TempDir()}
	driver := local.New(rt, local.Binaries{v1alpha1.FlavorGossamer: filepath.Join(t.TempDir(), "no-gossamer")}, 4, 10*time.Second).WithChainFetch(fetch)
	p := dinfratest.StartProvider(t, cc, reg, store, reactor.Config{Driver: driver, Boundary: policy})
	p.Watcher.ReconcileEvery = 500 * time.Millisecond
	return &dinfraMarket{cc: cc, store: store, p: p, rt: rt}
}

// order stores a substrate-network descriptor with spec and subscribes Alice to it.
func (m *dinfraMarket) order(t *testing.T, spec string) uint64 {
	t.Helper()
	c, err := m.store.Put(context.Background(), dinfraDoc(spec))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := dinfratest.Subscribe(t, m.cc, descriptor.TypeSubstrateNetwork, c.String())
	return id
}

func dinfraDoc(spec string) []byte {
	return []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"n"},"spec":` + spec + `}`)
}

// failed waits until subscription id has ended as failed and returns its public detail.
func (m *dinfraMarket) failed(t *testing.T, id uint64, within time.Duration) string {
	t.Helper()
	var detail string
	testenv.Eventually(t, within, fmt.Sprintf("subscription %d failed", id), func() (bool, string) {
		s, err := m.cc.Subscription(context.Background(), id)
		if err == nil && s.State == wire.StateEnded {
			if s.EndReason != wire.ReasonFailed {
				t.Fatalf("subscription %d ended %s (%s), want failed", id, s.EndReason, s.EndDetail)
			}
			detail = s.EndDetail
			return true, ""
		}
		return false, fmt.Sprintf("%+v %v", s, err)
	})
	return detail
}

// settled checks that nothing runs or stays booked and the provider's capacity is free.
func (m *dinfraMarket) settled(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, "nothing running or booked, capacity free", func() (bool, string) {
		names, _ := m.rt.Networks()
		list, err := m.p.Watcher.Reactor.ListDeploymentsWithResponse(context.Background())
		prov, perr := m.cc.Provider(context.Background(), m.p.Address)
		if err != nil {
			return false, fmt.Sprintf("networks %v, reactor: %v", names, err)
		}
		settled := len(names) == 0 && list.JSON200 != nil && len(list.JSON200.Items) == 0 && perr == nil && prov.Reserved == 0
		return settled, fmt.Sprintf("networks %v, reactor %s, provider %+v (%v)", names, list.Body, prov, perr)
	})
}

// dinfraNoLeak fails if a public detail carries any of the secrets.
func dinfraNoLeak(t *testing.T, detail string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(detail, s) {
			t.Fatalf("on chain: %q carries %q", detail, s)
		}
	}
}

// TestDinfraProviderFilesNeverReachTheChain: descriptors pointing the local reactor at the
// provider's files (/etc/shadow as gateway config, chain spec or key file; the provider's
// own gateway config with its API keys; its binaries and node flags) are refused at the
// reactor's door with the field path; nothing of the files reaches the chain and nothing
// starts.
func TestDinfraProviderFilesNeverReachTheChain(t *testing.T) {
	m := dinfraStart(t, boundary.Policy{}, local.DefaultChainFetch())
	m.p.StartWatcher(t)
	gatewayConfig := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(gatewayConfig, []byte("listen: 127.0.0.1:9000\nkeys:\n  - key: provider-api-key-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, spec, path string }{
		{"shadow as gateway config", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"r","role":"rpc"}],"gateway":{"group":"r","config":"/etc/shadow"}}`, "spec.gateway"},
		{"provider's gateway config", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"r","role":"rpc"}],"gateway":{"group":"r","config":"` + gatewayConfig + `"}}`, "spec.gateway"},
		{"shadow as chain spec", `{"chain":{"file":"/etc/shadow"},"groups":[{"name":"v","role":"validator"}]}`, "spec.chain.file"},
		{"shadow as key file", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","keys":{"files":["/etc/shadow"]}}]}`, "spec.groups[0].keys.files"},
		{"provider's shell", `{"chain":{"builtin":"westend-dev"},"node":{"binary":"/bin/sh"},"groups":[{"name":"v","role":"validator"}]}`, "spec.node.binary"},
		{"node flags", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","args":["--rpc-external","--base-path=/etc"]}]}`, "spec.groups[0].args"},
	}
	ids := make([]uint64, len(cases))
	for i, c := range cases {
		ids[i] = m.order(t, c.spec)
	}
	for i, c := range cases {
		detail := m.failed(t, ids[i], 30*time.Second)
		if !strings.HasPrefix(detail, reactor.ReasonInvalidDescriptor+": ") || !strings.Contains(detail, c.path+":") {
			t.Errorf("%s: detail %q, want invalid_descriptor at %s", c.name, detail, c.path)
		}
		dinfraNoLeak(t, detail, "root:", "provider-api-key", "listen:", "/etc/shadow", gatewayConfig)
	}
	m.settled(t)
}

// TestDinfraReplicasBombAndRestart: a 1-unit order for 1,000 nodes (the most the schema
// allows) is refused before it is booked (the reactor's memory does not move); a 10^8-node
// order booked by an older reactor is quarantined when the reactor restarts: reported failed
// once, never deployed, and the reactor after it keeps running.
func TestDinfraReplicasBombAndRestart(t *testing.T) {
	m := dinfraStart(t, boundary.Policy{}, local.DefaultChainFetch())
	// The largest group the schema allows, for one unit; an older reactor booked 10^8.
	const bomb = `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":1000}]}`
	const booked = `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":100000000}]}`
	_, stopWatcher := m.p.StartWatcher(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	detail := m.failed(t, m.order(t, bomb), 30*time.Second)
	if !strings.Contains(detail, "spec.groups[0].replicas: 1000 nodes") || !strings.Contains(detail, "1 unit(s) buy at most 4") {
		t.Fatalf("detail %q", detail)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
		t.Fatalf("the refused bomb grew the heap by %d MiB", grown>>20)
	}
	m.settled(t)

	// An older reactor booked the bomb; it was running when the provider upgraded.
	stopWatcher()
	c, err := m.store.Put(context.Background(), dinfraDoc(booked))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := dinfratest.Subscribe(t, m.cc, descriptor.TypeSubstrateNetwork, c.String())
	if err := reactortest.Book(m.p.StateDir, reactor.Deployment{ID: watcher.DeploymentID(id), Type: descriptor.TypeSubstrateNetwork, CID: c, Descriptor: dinfraDoc(booked), Units: 1,
		Consumer: api.Consumer{Address: dinfratest.Consumer(t).Address(42)}}, api.Pending, 0); err != nil {
		t.Fatal(err)
	}
	m.p.RestartReactor(t)
	m.p.StartWatcher(t)
	detail = m.failed(t, id, 30*time.Second)
	if !strings.HasPrefix(detail, reactor.ReasonQuarantined+": ") || !strings.Contains(detail, "spec.groups[0].replicas") {
		t.Fatalf("detail %q", detail)
	}
	m.settled(t)
	m.p.RestartReactor(t) // and again: nothing is replayed
	if r, err := m.p.Watcher.Reactor.GetHealthWithResponse(context.Background()); err != nil || r.StatusCode() != 200 {
		t.Fatalf("reactor after restarts: %v", err)
	}
	m.settled(t)
}

// TestDinfraChainURLsNeverReachProviderServices: a consumer's chain.url naming the
// provider's own chain RPC or reactor API is refused at the door by default; a provider
// that lists the host still never connects to loopback, and what those services answer
// never reaches the chain; a URL that never answers fails within the fetch timeout and
// frees the capacity instead of holding it Pending.
func TestDinfraChainURLsNeverReachProviderServices(t *testing.T) {
	t.Run("refused by default", func(t *testing.T) {
		m := dinfraStart(t, boundary.Policy{}, local.DefaultChainFetch())
		m.p.StartWatcher(t)
		for _, u := range []string{m.cc.Address() + "/status", m.p.URL + "/v1/deployments"} {
			detail := m.failed(t, m.order(t, `{"chain":{"url":"`+u+`"},"groups":[{"name":"v","role":"validator"}]}`), 30*time.Second)
			if !strings.Contains(detail, "spec.chain.url: this provider fetches no consumer URLs") {
				t.Fatalf("detail %q", detail)
			}
		}
		m.settled(t)
	})
	t.Run("listed host, loopback address", func(t *testing.T) {
		m := dinfraStart(t, boundary.Policy{ChainHosts: []string{"127.0.0.1", "localhost"}}, local.DefaultChainFetch())
		m.p.StartWatcher(t)
		for _, u := range []string{m.cc.Address() + "/status", m.p.URL + "/v1/capabilities", strings.Replace(m.cc.Address(), "127.0.0.1", "localhost", 1) + "/status"} {
			detail := m.failed(t, m.order(t, `{"chain":{"url":"`+u+`"},"groups":[{"name":"v","role":"validator"}]}`), 30*time.Second)
			if !strings.HasPrefix(detail, "chain_spec_unavailable: spec.chain.url: ") {
				t.Fatalf("%s: detail %q", u, detail)
			}
			dinfraNoLeak(t, detail, "node_info", "latest_block", "capacity", "127.0.0.1", "localhost")
		}
		m.settled(t)
	})
	t.Run("never answers", func(t *testing.T) {
		silent, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		go func() {
			for {
				c, err := silent.Accept()
				if err != nil {
					return
				}
				defer c.Close() // accepted, never answered
			}
		}()
		fetch := local.DefaultChainFetch()
		fetch.AllowPrefixes, fetch.Timeout = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, time.Second
		m := dinfraStart(t, boundary.Policy{ChainHosts: []string{"127.0.0.1"}}, fetch)
		m.p.StartWatcher(t)
		start := time.Now()
		detail := m.failed(t, m.order(t, `{"chain":{"url":"http://`+silent.Addr().String()+`/spec.json"},"groups":[{"name":"v","role":"validator"}]}`), 30*time.Second)
		if !strings.HasPrefix(detail, "chain_spec_unavailable: ") {
			t.Fatalf("detail %q", detail)
		}
		t.Logf("a silent chain URL failed the order %s after it was placed (fetch timeout 1s)", time.Since(start).Round(100*time.Millisecond))
		m.settled(t)
	})
}

// TestDinfraEndpointsAreWebURLs: a provider cannot publish javascript:, data: or
// credential-carrying endpoints to consumers; the ledger rejects the report and the
// subscription stays pending.
func TestDinfraEndpointsAreWebURLs(t *testing.T) {
	m := dinfraStart(t, boundary.Policy{}, local.DefaultChainFetch())
	id := m.order(t, `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator"}]}`)
	bob := m.cc.Signer(m.p.Pair)
	for _, ep := range []string{"javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "https://admin:pw@rpc.example", "vbscript:msgbox"} {
		_, err := bob.Send(context.Background(), wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: id, Status: wire.StatusDeployed, Endpoints: []string{ep}}})
		if wire.CodeOf(err) != wire.CodeInvalid || !strings.Contains(err.Error(), "msg.report_status.endpoints[0]") {
			t.Fatalf("%s: %v", ep, err)
		}
	}
	if s, err := m.cc.Subscription(context.Background(), id); err != nil || s.State != wire.StatePending || len(s.Endpoints) != 0 {
		t.Fatalf("subscription after rejected reports: %+v %v", s, err)
	}
	if _, err := bob.Send(context.Background(), wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: id, Status: wire.StatusDeployed, Endpoints: []string{"wss://rpc.example:443"}}}); err != nil {
		t.Fatalf("a wss endpoint: %v", err)
	}
}

// TestDinfraUnservableCIDsAreNeverAwarded: CIDv0 and CIDs no reactor can fetch and verify
// (dag-pb, identity) are rejected by the ledger, so they never hold a provider's capacity.
func TestDinfraUnservableCIDsAreNeverAwarded(t *testing.T) {
	m := dinfraStart(t, boundary.Policy{}, local.DefaultChainFetch())
	alice := m.cc.Signer(dinfratest.Consumer(t))
	for _, c := range []string{"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "bafkqaaa"} {
		_, err := alice.Send(context.Background(), wire.Msg{Subscribe: &wire.MsgSubscribe{
			DescriptorCID: c, DescriptorType: descriptor.TypeSubstrateNetwork, Units: 1, Deposit: 1000, MaxPricePerUnit: 5}})
		if wire.CodeOf(err) != wire.CodeInvalid || !strings.Contains(err.Error(), "msg.subscribe.descriptor_cid") {
			t.Fatalf("%s: %v", c, err)
		}
	}
	m.settled(t)
}
