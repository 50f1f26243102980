package sessionkeys

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/keyring"
)

var westendTypes = []KeyType{
	{Field: "grandpa", ID: "gran", Scheme: "ed25519", Size: 32},
	{Field: "babe", ID: "babe", Scheme: "sr25519", Size: 32},
	{Field: "beefy", ID: "beef", Scheme: "ecdsa", Size: 33}, // the compressed secp256k1 key
}

func TestKeystoreGenerate(t *testing.T) {
	ks := Keystore(filepath.Join(t.TempDir(), "keystore", "validator-0"))
	if p, err := ks.Pending(); p != nil || err != nil {
		t.Fatalf("pending of a missing keystore: %v %v", p, err)
	}
	set, err := ks.Generate(westendTypes)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(string(ks)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("keystore mode %v %v, want 0700", fi.Mode(), err)
	}
	for _, k := range set {
		seed, err := ks.Seed(k)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(ks.keyFile(k))
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", k.Type, fi.Mode())
		}
		// The file's seed is the key's: gossamer and polkadot-sdk take a hex seed as the secret.
		pair, err := keyring.FromURI(keyring.Scheme(k.Scheme), seed)
		if err != nil || pair.Public().Hex() != k.Public {
			t.Errorf("%s: seed gives %v (%v), want %s", k.Type, pair, err, k.Public)
		}
	}
	if p, _ := ks.Pending(); p.Encoded() != set.Encoded() || len(set.Encoded()) != 2+2*(32+32+33) {
		t.Errorf("pending %s, generated %s", p.Encoded(), set.Encoded())
	}
	encoded := []byte(nil)
	for _, k := range set {
		encoded = append(encoded, mustHex(t, k.Public)...)
	}
	if found, ok := ks.Find(westendTypes, encoded); !ok || found.Encoded() != set.Encoded() {
		t.Errorf("Find: %v %v", found, ok)
	}
	if err := ks.Confirm(); err != nil {
		t.Fatal(err)
	}
	if p, _ := ks.Pending(); p != nil {
		t.Errorf("pending after confirm: %v", p)
	}
}

// notHolding is a fake node that holds no key: what a node restarted without its keystore,
// or the wrong node, answers.
type notHolding struct{ asked string }

func (n *notHolding) InsertKey(context.Context, string, string, string) error { return nil }
func (n *notHolding) HasSessionKeys(_ context.Context, keys string) (bool, error) {
	n.asked = keys
	return false, nil
}

// Keys the node does not hold are never registered: Set stops before touching the chain
// (the custodian has none here), Rotate too.
func TestNeverRegistersKeysTheNodeDoesNotHold(t *testing.T) {
	ks := Keystore(t.TempDir())
	set, err := ks.Generate(westendTypes)
	if err != nil {
		t.Fatal(err)
	}
	node := &notHolding{}
	c := &Custodian{Keystore: ks, Node: node}
	if err := c.Set(context.Background(), "//Alice", set); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("Set = %v", err)
	}
	if node.asked != set.Encoded() {
		t.Errorf("asked author_hasSessionKeys about %s, want %s", node.asked, set.Encoded())
	}
	if _, err := c.Rotate(context.Background(), "//Alice"); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("Rotate = %v", err)
	}
	if p, _ := ks.Pending(); p.Encoded() != set.Encoded() {
		t.Error("the refused rotation lost its pending keys")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recorder is a fake node that records the keys inserted into it.
type recorder struct{ inserted map[string]string }

func (r *recorder) InsertKey(_ context.Context, typ, seed, public string) error {
	r.inserted[typ+public] = seed
	return nil
}
func (r *recorder) HasSessionKeys(context.Context, string) (bool, error) { return true, nil }

// Restore inserts every key of the keystore, pending or registered, with its own seed.
func TestRestore(t *testing.T) {
	ks := Keystore(t.TempDir())
	first, _ := ks.Generate(westendTypes)
	_ = ks.Confirm()
	second, _ := ks.Generate(westendTypes)
	r := &recorder{inserted: map[string]string{}}
	n, err := Restore(context.Background(), ks, r)
	if err != nil || n != 2*len(westendTypes) {
		t.Fatalf("Restore = %d, %v; want %d keys", n, err, 2*len(westendTypes))
	}
	for _, k := range append(first, second...) {
		seed, _ := ks.Seed(k)
		if r.inserted[k.Type+k.Public] != seed {
			t.Errorf("%s %s not inserted with its seed", k.Type, k.Public)
		}
	}
}
