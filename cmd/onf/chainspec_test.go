package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/chainspec"
)

// The init steps of node pods, run as the pods run them: a file is written only when its
// sha256 (and, for a chain spec, its form) is right.
func TestChainSpecSteps(t *testing.T) {
	spec := []byte(`{"name":"Dev","id":"dev","genesis":{"raw":{"top":{}}}}`)
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			w.Write(wasm)
			return
		}
		w.Write(spec)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	out := filepath.Join(dir, "chain-spec.json")

	if _, err := runOnf("chainspec", "fetch", "--runtime=false", "--url", srv.URL+"/spec.json", "--sha256", chainspec.SHA256(wasm), "--out", out); err == nil || !strings.Contains(err.Error(), "tampered") {
		t.Fatalf("fetch with another sha256 = %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a refused fetch left %s: %v", out, err)
	}
	if msg, err := runOnf("chainspec", "fetch", "--runtime=false", "--url", srv.URL+"/spec.json", "--sha256", chainspec.SHA256(spec), "--out", out); err != nil {
		t.Fatalf("fetch = %v: %s", err, msg)
	}
	if got, _ := os.ReadFile(out); string(got) != string(spec) {
		t.Fatalf("fetched %q", got)
	}
	// A runtime is no chain spec: only --runtime takes it, by its checksum.
	rt := filepath.Join(dir, "runtime.wasm")
	if _, err := runOnf("chainspec", "fetch", "--runtime=false", "--url", srv.URL+"/r.wasm", "--sha256", chainspec.SHA256(wasm), "--out", rt); err == nil || !strings.Contains(err.Error(), "not a chain spec") {
		t.Fatalf("fetch of a runtime as a chain spec = %v", err)
	}
	if _, err := runOnf("chainspec", "fetch", "--runtime", "--url", srv.URL+"/r.wasm", "--sha256", chainspec.SHA256(wasm), "--out", rt); err != nil {
		t.Fatalf("fetch --runtime = %v", err)
	}

	// join: parts as onf render stores them, in order.
	var files []string
	for i, p := range chainspec.Pack(spec, 16) {
		f := filepath.Join(dir, "part", string(rune('a'+i)))
		os.MkdirAll(filepath.Dir(f), 0o700)
		if err := os.WriteFile(f, p, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	joined := filepath.Join(dir, "joined.json")
	swapped := append([]string{files[0], files[2], files[1]}, files[3:]...)
	if _, err := runOnf(append([]string{"chainspec", "join", "--sha256", chainspec.SHA256(spec), "--out", joined}, swapped...)...); err == nil {
		t.Fatal("join of reordered parts succeeded")
	}
	if msg, err := runOnf(append([]string{"chainspec", "join", "--sha256", chainspec.SHA256(spec), "--out", joined}, files...)...); err != nil {
		t.Fatalf("join = %v: %s", err, msg)
	}
	if got, _ := os.ReadFile(joined); string(got) != string(spec) {
		t.Fatalf("joined %q", got)
	}
}
