package ha

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/keyring"
)

// Promotion writes one file per key type in sc-keystore's format: hex(key type id) ++
// hex(public key), the secret URI as a JSON string, 0600. The public keys are //Alice's
// well-known sr25519, ed25519 and ecdsa keys (subkey inspect [--scheme ...] //Alice; the
// ecdsa one is the 33-byte compressed key BEEFY uses). A standby start and a fence empty the
// directory, which stays (it may be a mount point).
func TestKeystoreRole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keystore")
	ks := Keystore{Dir: dir, Types: []KeyType{{"babe", keyring.Sr25519}, {"gran", keyring.Ed25519}, {"beef", keyring.Ecdsa}},
		Secret: func() (string, error) { return "//Alice\n", nil }}
	if err := ks.Prepare(true); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"62616265" + "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",   // babe, sr25519
		"62656566" + "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1", // beef, ecdsa
		"6772616e" + "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee",   // gran, ed25519
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
		info, _ := e.Info()
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if info.Mode().Perm() != 0o600 || string(data) != `"//Alice"` {
			t.Errorf("%s: mode %o content %q, want 0600 and the URI as a JSON string", e.Name(), info.Mode().Perm(), data)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("keystore files %v, want %v", got, want)
	}
	if err := ks.Prepare(false); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after a standby start: %v, %v; want an empty directory", entries, err)
	}
	if err := ks.Prepare(true); err != nil {
		t.Fatal(err)
	}
	if err := ks.Fence(); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after a fence: %v, %v; want an empty directory", entries, err)
	}
	if _, err := KeyFileName(KeyType{"beef", "bls381"}, "//Alice"); err == nil {
		t.Error("a scheme the agent cannot derive must be refused, not written under a wrong name")
	}
	// sp-core derives no ed25519 or ecdsa key under a soft junction: promotion fails and
	// writes nothing, not even the sr25519 key it could derive.
	ks.Secret = func() (string, error) { return "//Alice/soft", nil }
	if err := ks.Prepare(true); err == nil || !strings.Contains(err.Error(), "support only hard derivation") {
		t.Errorf("soft junction: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after a refused promotion: %v, %v; want an empty directory", entries, err)
	}
}
