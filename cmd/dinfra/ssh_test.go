package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/keyring"
)

// TestKeyFilesOthersCanReadAreRefused: as ssh does, a secret key file that group or others
// may read is refused (not used with a warning), for account secrets (--from, --suri-file)
// and for OpenSSH private keys (dinfra ssh --identity); 0600 is accepted.
func TestKeyFilesOthersCanReadAreRefused(t *testing.T) {
	dir := t.TempDir()
	suri := filepath.Join(dir, "suri")
	if err := os.WriteFile(suri, []byte("//Alice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(suri, 0o644); err != nil {
		t.Fatal(err)
	}
	want := "has mode 0644: others may read it, so it is refused; chmod 600 " + suri
	if _, _, err := runDinfra(t, "", "keys", "inspect", "--scheme", "ed25519", "--suri-file", suri); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("keys inspect: %v", err)
	}
	if _, _, err := runDinfra(t, "", "ssh", "1", "--from", suri, "--node", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ssh --from: %v", err)
	}
	alice, err := keyring.Dev(keyring.Ed25519, "alice")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := alice.SSHPrivateKeyPEM("")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runDinfra(t, "", "ssh", "1", "--from=", "--identity", key, "--node", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "has mode 0640") {
		t.Errorf("ssh --identity 0640: %v", err)
	}
	if err := os.Chmod(suri, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runDinfra(t, "", "keys", "inspect", "--scheme", "ed25519", "--suri-file", suri); err != nil {
		t.Errorf("0600: %v", err)
	}
}
