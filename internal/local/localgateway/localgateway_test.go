package localgateway

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc/rpctest"
	"github.com/dinfra/stack/internal/testenv"
)

// config writes a gateway config listening on a free loopback port with one API key.
func config(t *testing.T) (file, listen, key string) {
	dir := t.TempDir()
	listen = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	key = "onf_localgw-test-key-0123456789abcdefghijklmnopq"
	keys := filepath.Join(dir, "keys.yaml")
	file = filepath.Join(dir, "gateway.yaml")
	for name, content := range map[string]string{
		keys: fmt.Sprintf("keys:\n  - id: test\n    sha256: %x\n", sha256.Sum256([]byte(key))),
		file: fmt.Sprintf("listen: %s\nauth:\n  apiKeys:\n    file: %s\n", listen, keys),
	} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return file, listen, key
}

// A config problem names spec.gateway.config; a group scaled to zero still has its file checked.
func TestCheck(t *testing.T) {
	err := Gateways{}.Check(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "spec.gateway.config: ") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing config: %v, want a spec.gateway.config error naming the file", err)
	}
	file, _, _ := config(t)
	if err := (Gateways{}).Check(file, nil); err != nil {
		t.Errorf("valid config, no upstreams: %v", err)
	}
}

// The gateway the supervisor gets listens where its config says and forwards an
// authenticated call to the group's node.
func TestServesTheGroup(t *testing.T) {
	node := rpctest.NewFakeNode(t, "gossamer")
	file, listen, key := config(t)
	g, err := Gateways{}.New(file, []local.GatewayUpstream{{Name: "rpc-0", HTTP: node.HTTPURL(), WS: node.WSURL()}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if g.Listen() != listen {
		t.Fatalf("Listen() = %s, want %s from the config", g.Listen(), listen)
	}
	ln, err := net.Listen("tcp", g.Listen())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-served
	}()
	var body string
	testenv.Eventually(t, 10*time.Second, "an authenticated call answered", func() (bool, string) {
		req, _ := http.NewRequest("POST", "http://"+listen+"/", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"system_name","params":[]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK, resp.Status + " " + body
	})
	if !strings.Contains(body, `"result"`) || !strings.Contains(strings.Join(node.Methods(), " "), "system_name") {
		t.Errorf("call not forwarded to the node: %s (node saw %v)", body, node.Methods())
	}
}
