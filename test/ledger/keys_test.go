package ledger_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/testenv"
)

// TestKeysInspectSSH checks `dinfra keys` against the real OpenSSH: ssh-keygen -y
// reproduces the public key from the private key file dinfra wrote for //Alice (ed25519).
func TestKeysInspectSSH(t *testing.T) {
	keygen := testenv.Binary(t, "SSH_KEYGEN", "ssh-keygen")
	const alice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjcNBfVBY7EtFA+DBLqGgqJviAP6YkiQj1DNAFPprDu"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "alice")
	out := dinfra(t, "keys", "inspect", "//Alice", "--scheme", "ed25519", "--ssh-private-key-out", keyFile, "-o", "json")
	var info struct {
		SS58Address  string `json:"ss58_address"`
		SSHPublicKey string `json:"ssh_public_key"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if info.SSHPublicKey != alice || info.SS58Address != "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu" {
		t.Fatalf("inspect: %+v", info)
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file mode %v %v", st, err)
	}
	pub, err := exec.Command(keygen, "-y", "-f", keyFile).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y: %v: %s", err, pub)
	}
	if !strings.HasPrefix(string(pub), alice) {
		t.Fatalf("ssh-keygen says %q, want %q", pub, alice)
	}

	// A mnemonic from a file gives the same keys as the URI; secrets as arguments are refused.
	phrase := filepath.Join(dir, "phrase")
	if err := os.WriteFile(phrase, []byte("bottom drive obey lake curtain smoke basket hold race lonely fit walk//Alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := dinfra(t, "keys", "inspect", "--scheme", "ed25519", "--suri-file", phrase); !strings.Contains(out, alice) {
		t.Fatalf("suri file: %s", out)
	}
	if out, err := exec.Command(dinfraBin, "keys", "inspect", "bottom drive obey lake curtain smoke basket hold race lonely fit walk").CombinedOutput(); err == nil || !strings.Contains(string(out), "--suri-file") {
		t.Fatalf("secret argument accepted: %s", out)
	}
	// sr25519 has no SSH form.
	if out, err := exec.Command(dinfraBin, "keys", "inspect", "//Alice", "--ssh-private-key-out", filepath.Join(dir, "x")).CombinedOutput(); err == nil || !strings.Contains(string(out), "set-ssh-key") {
		t.Fatalf("sr25519 ssh export: %s", out)
	}
}
