package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/gateway/auth"
)

func runGatewayCmd(t *testing.T, c *cobra.Command, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetIn(strings.NewReader(stdin))
	c.SetArgs(args)
	c.SilenceUsage, c.SilenceErrors = true, true
	err = c.Execute()
	return out.String(), errb.String(), err
}

func TestGatewayKeyNewAndHash(t *testing.T) {
	entry, shown, err := runGatewayCmd(t, gatewayKeyCmd(), "", "new", "--id", "team-a")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(shown[strings.LastIndex(shown, ": ")+2:])
	if !strings.HasPrefix(key, auth.KeyPrefix) || strings.Contains(entry, key) {
		t.Fatalf("key %q, entry %q: the key must be on stderr only", key, entry)
	}
	keys, err := auth.ParseKeyFile([]byte("keys:\n"+entry), "default", func(string) bool { return true })
	if err != nil || len(keys) != 1 {
		t.Fatalf("the printed entry is not a key file entry: %v\n%s", err, entry)
	}
	again, _, err := runGatewayCmd(t, gatewayKeyCmd(), key+"\n", "hash", "--id", "team-a")
	if err != nil || again != entry {
		t.Fatalf("hash of the same key: %q, %v; want %q", again, err, entry)
	}
	if _, _, err := runGatewayCmd(t, gatewayKeyCmd(), "short\n", "hash", "--id", "x"); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestGatewayCheck(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(keys, []byte("keys: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if os.WriteFile(good, []byte("upstreams: [{ws: 'ws://127.0.0.1:9944'}]\nauth: {apiKeys: {file: "+keys+"}}\n"), 0o600) != nil ||
		os.WriteFile(bad, []byte("upstreams: [{ws: 'ftp://x'}]\nauth: {apiKeys: {file: "+keys+"}}\n"), 0o600) != nil {
		t.Fatal("write configs")
	}
	if out, _, err := runGatewayCmd(t, gatewayCheckCmd(), "", "-c", good); err != nil || !strings.Contains(out, "ok (1 upstreams") {
		t.Fatalf("good config: %q, %v", out, err)
	}
	if _, _, err := runGatewayCmd(t, gatewayCheckCmd(), "", "-c", bad); err == nil || !strings.Contains(err.Error(), "upstreams[0].ws") {
		t.Fatalf("bad config: %v", err)
	}
}
