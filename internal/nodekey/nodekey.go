// Package nodekey holds a node's libp2p identity: an ed25519 key generated once per node and
// persisted, so its peer ID (and every bootnode address naming it) never changes.
package nodekey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"
)

// Key is a node's ed25519 identity, held as its 32-byte seed.
type Key struct{ seed []byte }

// Generate returns a new random identity.
func Generate() (Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return Key{}, fmt.Errorf("generate node key: %w", err)
	}
	return Key{seed: seed}, nil
}

// FromSeed returns the identity of a 32-byte seed.
func FromSeed(seed []byte) (Key, error) {
	if len(seed) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("node key seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	return Key{seed: append([]byte(nil), seed...)}, nil
}

// ParseHex reads a hex seed, the format polkadot-sdk's --node-key-file uses.
func ParseHex(s string) (Key, error) {
	seed, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	if err != nil {
		return Key{}, fmt.Errorf("node key: not hex: %w", err)
	}
	return FromSeed(seed)
}

// SeedHex is the hex seed: the content of a polkadot-sdk --node-key-file.
func (k Key) SeedHex() string { return hex.EncodeToString(k.seed) }

// PrivateKeyHex is the hex of the 64-byte ed25519 private key (seed then public key): the
// content of gossamer's node.key file.
func (k Key) PrivateKeyHex() string { return hex.EncodeToString(ed25519.NewKeyFromSeed(k.seed)) }

// Public is the ed25519 public key.
func (k Key) Public() ed25519.PublicKey {
	return ed25519.NewKeyFromSeed(k.seed).Public().(ed25519.PublicKey)
}

// PeerID is the libp2p peer ID: base58 of the identity multihash of the protobuf-encoded
// public key (ed25519 keys are small enough to be inlined rather than hashed).
func (k Key) PeerID() string {
	pub := k.Public()
	// protobuf PublicKey{Type: Ed25519 (1), Data: pub}
	proto := append([]byte{0x08, 0x01, 0x12, byte(len(pub))}, pub...)
	// multihash: identity code 0x00, length
	mh := append([]byte{0x00, byte(len(proto))}, proto...)
	return base58.Encode(mh)
}
