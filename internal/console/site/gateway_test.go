package site

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/gateway"
	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/gatewaytest"
)

// TestGatewayCounts reads a real gateway's metrics endpoint: calls with a key count as calls
// (here answered upstream_unavailable: no node runs behind it), calls without one or with a
// wrong one, and a method the role denies, as refusals.
func TestGatewayCounts(t *testing.T) {
	dir := t.TempDir()
	const key = "onf_console-test-key-0123456789abcdefghijklmnop"
	keys := filepath.Join(dir, "keys.yaml")
	cfgFile := filepath.Join(dir, "gateway.yaml")
	for name, content := range map[string]string{
		keys:    fmt.Sprintf("keys:\n  - id: test\n    sha256: %s\n", auth.HashKey(key)),
		cfgFile: fmt.Sprintf("upstreams: [{name: none, http: \"http://127.0.0.1:1\"}]\nauth:\n  apiKeys: {file: %q}\n", keys),
	} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	front, metrics := httptest.NewServer(gw.Handler()), httptest.NewServer(gw.MetricsHandler())
	defer front.Close()
	defer metrics.Close()
	listen := strings.TrimPrefix(metrics.URL, "http://")

	if got, err := GatewayCounts(context.Background(), http.DefaultClient, listen); err != nil || *got != (console.GatewayCounts{}) {
		t.Fatalf("before any call: %+v, %v", got, err)
	}
	call := func(cred, method string) {
		gatewaytest.Post(t, front.URL, cred, `{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":[]}`)
	}
	for range 3 {
		call(key, "system_health")
	}
	call("", "system_health")
	call("onf_wrong", "system_health")
	call(key, "author_insertKey") // unsafe: the default role denies it
	got, err := GatewayCounts(context.Background(), http.DefaultClient, listen)
	if err != nil {
		t.Fatal(err)
	}
	if want := (console.GatewayCounts{Calls: 3, Refused: 3}); *got != want {
		t.Errorf("counts %+v, want %+v", *got, want)
	}
	if _, err := GatewayCounts(context.Background(), http.DefaultClient, strings.TrimPrefix(front.URL, "http://")); err == nil {
		t.Error("the gateway's RPC port read as its metrics")
	}
}
