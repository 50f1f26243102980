// Package polkadotjs runs gateway.mjs, polkadot-js 16.5.6 as an independent client of the
// onf RPC gateway, for the tests that put a gateway in front of real gossamer nodes
// (test/gateway locally, test/cluster in a real cluster).
package polkadotjs

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/testenv"
)

// Summary is what gateway.mjs saw.
type Summary struct {
	Chain    string   `json:"chain"`
	Heads    []uint64 `json:"heads"`
	Transfer struct {
		Block uint64 `json:"block"`
		Hash  string `json:"hash"`
	} `json:"transfer"`
	NoKey  string `json:"noKey"`
	BadKey string `json:"badKey"`
}

// Run connects polkadot-js to the gateway's WebSocket URL with key (passed in the
// environment of the node process only), follows new heads, submits a signed transfer and
// checks that connections without a key or with a bad one are refused. It fails the test
// unless all of that happened.
func Run(t *testing.T, ctx context.Context, wsURL, key string) Summary {
	t.Helper()
	dir := Dir(t)
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "gateway.mjs"))
	cmd.Env = append(os.Environ(), "GATEWAY_WS="+wsURL, "GATEWAY_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("polkadot-js through the gateway: %v\n%s", err, out)
	}
	var s Summary
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	if len(s.Heads) != 2 || s.Transfer.Block == 0 || s.NoKey == "" || s.BadKey == "" {
		t.Fatalf("summary %+v", s)
	}
	t.Logf("polkadot-js: %s", lines[len(lines)-1])
	return s
}

// Dir is this directory, once node and the npm modules are there.
func Dir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Missing(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@polkadot", "api")); err != nil {
		testenv.Missing(t, "run `npm ci --prefix test/polkadotjs`")
	}
	return dir
}
