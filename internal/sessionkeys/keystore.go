// Package sessionkeys holds validator session key custody: a node's keystore directory kept
// by onf (apart from chain data), generating keys into it, inserting them into the node over
// its loopback RPC, registering them on chain with session.setKeys and checking that the
// node holds the keys the chain expects.
package sessionkeys

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dinfra/stack/internal/keyring"
)

// Key is one public session key; its secret seed stays in the keystore file.
type Key struct {
	Type   string `json:"type"`   // four-letter key type, e.g. babe
	Scheme string `json:"scheme"` // sr25519, ed25519 or ecdsa
	Public string `json:"public"` // 0x-hex
}

// Set is a node's session keys in the order of the runtime's SessionKeys.
type Set []Key

// Encoded is the SCALE encoding of the runtime's SessionKeys: the public keys concatenated.
func (s Set) Encoded() string {
	var b strings.Builder
	b.WriteString("0x")
	for _, k := range s {
		b.WriteString(strings.TrimPrefix(k.Public, "0x"))
	}
	return b.String()
}

// Keystore is a node's session keystore directory (0700): one file per key, named
// <type>-<public hex>, holding the hex seed (0600), and pending.json naming the set that is
// generated but not yet confirmed on chain.
type Keystore string

const pendingFile = "pending.json"

func (k Keystore) keyFile(key Key) string {
	return filepath.Join(string(k), key.Type+"-"+strings.TrimPrefix(key.Public, "0x"))
}

// Generate makes a fresh key per wanted type from the system's random source, writes each
// seed to its own 0600 file and records the set as pending. It returns the public keys.
func (k Keystore) Generate(want []KeyType) (Set, error) {
	if err := os.MkdirAll(string(k), 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(string(k), 0o700); err != nil {
		return nil, err
	}
	var set Set
	for _, t := range want {
		key, seed, err := newKey(t)
		if err != nil {
			return nil, err
		}
		if err := writeFile(k.keyFile(key), []byte(seed)); err != nil {
			return nil, err
		}
		set = append(set, key)
	}
	data, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return set, writeFile(filepath.Join(string(k), pendingFile), data)
}

// newKey makes a fresh key of type t from the system's random source and returns it with
// its secret seed (0x-hex, what author_insertKey takes).
func newKey(t KeyType) (Key, string, error) {
	seed := make([]byte, keyring.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return Key{}, "", err
	}
	pair, err := keyring.FromSeed(keyring.Scheme(t.Scheme), seed)
	if err != nil {
		return Key{}, "", fmt.Errorf("%s key: %w", t.ID, err)
	}
	return Key{Type: t.ID, Scheme: t.Scheme, Public: pair.Public().Hex()}, "0x" + hex.EncodeToString(seed), nil
}

// Pending is the set generated and not yet confirmed on chain, or nil.
func (k Keystore) Pending() (Set, error) {
	data, err := os.ReadFile(filepath.Join(string(k), pendingFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var set Set
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%s: %w", pendingFile, err)
	}
	return set, nil
}

// Confirm forgets the pending set once the chain has it.
func (k Keystore) Confirm() error {
	err := os.Remove(filepath.Join(string(k), pendingFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Seed reads a key's secret seed (0x-hex) for author_insertKey.
func (k Keystore) Seed(key Key) (string, error) {
	data, err := os.ReadFile(k.keyFile(key))
	if err != nil {
		return "", fmt.Errorf("%s key %s is not in the keystore: %w", key.Type, key.Public, err)
	}
	return strings.TrimSpace(string(data)), nil
}

// Find looks up the keys of an encoded set (as the chain stores it) in the keystore.
func (k Keystore) Find(types []KeyType, encoded []byte) (Set, bool) {
	var set Set
	for _, t := range types { // sizes differ: BEEFY's ecdsa key is 33 bytes
		if len(encoded) < t.Size {
			return nil, false
		}
		key := Key{Type: t.ID, Scheme: t.Scheme, Public: "0x" + hex.EncodeToString(encoded[:t.Size])}
		encoded = encoded[t.Size:]
		if _, err := os.Stat(k.keyFile(key)); err != nil {
			return nil, false
		}
		set = append(set, key)
	}
	return set, true
}

// All lists every key in the keystore, registered or pending.
func (k Keystore) All() (Set, error) {
	entries, err := os.ReadDir(string(k))
	if err != nil {
		return nil, err
	}
	var set Set
	for _, e := range entries {
		typ, pub, ok := strings.Cut(e.Name(), "-")
		if !ok || len(typ) != 4 || strings.Contains(pub, ".") {
			continue // pending.json, a half-written .tmp
		}
		set = append(set, Key{Type: typ, Public: "0x" + pub})
	}
	return set, nil
}

// Remove deletes the whole keystore (a migrated-away node).
func (k Keystore) Remove() error { return os.RemoveAll(string(k)) }

// writeFile replaces a file atomically with mode 0600.
func writeFile(file string, data []byte) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
