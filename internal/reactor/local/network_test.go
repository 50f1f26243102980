package local

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/problem"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/boundary"
)

func checked(t *testing.T, id, spec string, p boundary.Policy) reactor.Deployment {
	t.Helper()
	doc := []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"mine"},"spec":` + spec + `}`)
	n, err := boundary.Network(doc, 4, p)
	if err != nil {
		t.Fatal(err)
	}
	return reactor.Deployment{ID: id, Type: descriptor.TypeSubstrateNetwork, Descriptor: doc, Units: 4, Network: n}
}

func TestRunnableUsesTheProvidersBinaries(t *testing.T) {
	bins := Binaries{v1alpha1.FlavorGossamer: "/opt/gossamer", v1alpha1.FlavorSubstrate: "/opt/polkadot-parachain"}
	d := checked(t, "12", `{"chain":{"builtin":"westend-dev"},"node":{"flavor":"gossamer"},"groups":[{"name":"v","role":"validator","keys":{"dev":["//Alice"]}},{"name":"c","role":"collator","parachain":"p"}],
"parachains":[{"name":"p","id":1000,"chain":{"builtin":"dev"}}]}`, boundary.Policy{})
	n, err := runnable(d, bins)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "dinfra-12" || n.Namespace != "" {
		t.Fatalf("name %q namespace %q", n.Name, n.Namespace)
	}
	// The collator runs its parachain's flavor (substrate by default), not the network's
	// (named: a network with parachains defaults to substrate).
	if g := n.Spec.Groups; g[0].Node.Binary != "/opt/gossamer" || g[1].Node.Binary != "/opt/polkadot-parachain" || g[1].Node.Flavor != v1alpha1.FlavorSubstrate {
		t.Fatalf("binaries not the provider's for each group's flavor: %+v %+v", g[0].Node, g[1].Node)
	}
	if d.Network.Spec.Groups[0].Node != nil {
		t.Fatal("runnable changed the checked network")
	}
}

func TestRunnableRefusesUnservedFlavors(t *testing.T) {
	bins := Binaries{v1alpha1.FlavorGossamer: "/opt/gossamer"}
	d := checked(t, "1", `{"chain":{"builtin":"westend-dev"},"node":{"flavor":"gossamer"},"groups":[{"name":"v","role":"validator"},{"name":"c","role":"collator","parachain":"p"}],
"parachains":[{"name":"p","id":1000,"chain":{"builtin":"dev"}}]}`, boundary.Policy{})
	_, err := runnable(d, bins)
	ps := problem.Of(err)
	if len(ps) != 1 || ps[0].Field != "spec.groups[1]" || !strings.Contains(ps[0].Reason, "runs substrate nodes; this provider runs gossamer nodes only") {
		t.Fatalf("problems %+v (%v)", ps, err)
	}
	if _, err := runnable(reactor.Deployment{ID: "2"}, bins); err == nil {
		t.Fatal("an unchecked deployment was made runnable")
	}
}

const spec = `{"name":"Test","id":"test","chainType":"Development","genesis":{"raw":{"top":{}}}}`

// TestChainURLsAreFetchedSafely: the provider's own loopback services are refused (and what
// they answer never reaches the public message), a URL that never answers fails within the
// timeout, and a destination the provider allows is fetched into a file the runtime reads.
func TestChainURLsAreFetchedSafely(t *testing.T) {
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"result":{"node_info":{"id":"internal-node-id"}}}`))
	}))
	defer internal.Close()
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer silent.Close()
	defer close(release)
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(spec)) }))
	defer mirror.Close()
	policy := boundary.Policy{ChainHosts: []string{"127.0.0.1"}}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

	dir := t.TempDir()
	d := checked(t, "1", `{"chain":{"url":"`+internal.URL+`/status"},"groups":[{"name":"v","role":"validator"}]}`, policy)
	err := fetchChains(context.Background(), d.Network.DeepCopy(), dir, DefaultChainFetch())
	var pe *reactor.PublicError
	if !errors.As(err, &pe) || pe.Reason != "chain_spec_unavailable" || strings.Contains(reactor.PublicMessage(err), "internal-node-id") || strings.Contains(reactor.PublicMessage(err), "127.0.0.1") {
		t.Fatalf("loopback fetch: %v (public: %q)", err, reactor.PublicMessage(err))
	}

	opts := DefaultChainFetch()
	opts.AllowPrefixes, opts.Timeout = loopback, 300*time.Millisecond
	d = checked(t, "2", `{"chain":{"url":"`+silent.URL+`/spec.json"},"groups":[{"name":"v","role":"validator"}]}`, policy)
	start := time.Now()
	if err := fetchChains(context.Background(), d.Network.DeepCopy(), dir, opts); !errors.As(err, &pe) || time.Since(start) > 5*time.Second {
		t.Fatalf("silent URL: %v after %s", err, time.Since(start))
	}

	d = checked(t, "3", `{"chain":{"url":"`+mirror.URL+`/spec.json"},"groups":[{"name":"v","role":"validator"}]}`, policy)
	n := d.Network.DeepCopy()
	if err := fetchChains(context.Background(), n, dir, (&Driver{}).WithChainFetch(chainspec.Options{AllowPrefixes: loopback}).fetch); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(n.Spec.Chain.File); err != nil || string(got) != spec || n.Spec.Chain.URL != "" {
		t.Fatalf("chain %+v: %q %v", n.Spec.Chain, got, err)
	}
}
