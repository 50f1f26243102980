package local

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chainspec"
)

// A chain.url is fetched locally with its sha256 checked when set, and a copy kept from an
// earlier apply is checked against a checksum set since; runtimeOverride is refused locally.
func TestChainChecksumLocally(t *testing.T) {
	spec := `{"name":"Local","id":"local","genesis":{"raw":{"top":{}}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(spec)) }))
	t.Cleanup(srv.Close)
	n := westendDev(t, `  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`)
	n.Spec.Chain.Builtin, n.Spec.Chain.URL = "", srv.URL+"/spec.json"
	dir := Dir(t.TempDir())

	n.Spec.Chain.SHA256 = chainspec.SHA256([]byte(spec + "\n"))
	if _, err := checkChains(t.Context(), dir, n); err == nil || !strings.HasPrefix(err.Error(), "spec.chain.url: ") || !strings.Contains(err.Error(), "tampered") {
		t.Fatalf("checkChains with another file's sha256 = %v", err)
	}
	n.Spec.Chain.SHA256 = chainspec.SHA256([]byte(spec))
	fetched, err := checkChains(t.Context(), dir, n)
	if err != nil || string(fetched[dir.FetchedChain(n.Spec.Chain.URL)]) != spec {
		t.Fatalf("checkChains with the right sha256 = %v, %v", fetched, err)
	}

	// Kept from an earlier apply, then the spec names another checksum.
	file := dir.FetchedChain(n.Spec.Chain.URL)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := checkChains(t.Context(), dir, n); err != nil {
		t.Fatalf("checkChains of the kept file = %v", err)
	}
	n.Spec.Chain.SHA256 = strings.Repeat("0", 64)
	if _, err := checkChains(t.Context(), dir, n); err == nil || !strings.HasPrefix(err.Error(), "spec.chain.sha256: ") {
		t.Fatalf("checkChains of the kept file with another sha256 = %v", err)
	}
}

// A polkadot-sdk group's database is honoured locally (the same --database flag as in
// clusters); its runtimeOverride is refused by field path before anything is stored.
func TestDatabaseAndRuntimeOverrideLocally(t *testing.T) {
	r := &Runtime{Home: t.TempDir()}
	n := rpcNetwork(t)
	n.Spec.Node.Flavor = v1alpha1.FlavorSubstrate
	n.Spec.Groups[0].Database = v1alpha1.DatabaseParityDB
	n.Spec.Groups[0].RuntimeOverride = &v1alpha1.RuntimeOverride{URL: "https://example.org/r.wasm", SHA256: strings.Repeat("a", 64)}
	if _, err := r.Prepare(t.Context(), n); err == nil || !strings.HasPrefix(err.Error(), "spec.groups[0].runtimeOverride: ") {
		t.Fatalf("Prepare with a runtime override = %v", err)
	}
	if names, err := r.Networks(); err != nil || len(names) != 0 {
		t.Fatalf("networks after a refused Prepare: %v, %v", names, err)
	}
	n.Spec.Groups[0].RuntimeOverride = nil
	if _, err := r.Prepare(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	dir, _ := r.Dir("dev")
	p, err := readPlan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(p.Nodes[0].Args, " "); !strings.Contains(args, "--database paritydb") {
		t.Errorf("local node args %q lack --database paritydb", args)
	}
}
