package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReactorServeRefusesABadChainNet: a provider's allow-list of private ranges is checked
// before the reactor starts.
func TestReactorServeRefusesABadChainNet(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runDinfra(t, "", "reactor", "serve", "--token-file", token, "--state-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--chain-url-allow-net", "10.0.0.0/99")
	if err == nil || !strings.Contains(err.Error(), `--chain-url-allow-net "10.0.0.0/99"`) {
		t.Fatalf("err = %v", err)
	}
}
