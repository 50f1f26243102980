package nodekey

import (
	"encoding/hex"
	"testing"
)

// The all-zero seed's well-known ed25519 public key and libp2p peer ID. The local runtime's
// integration test also checks PeerID against what a real gossamer node reports for its key.
func TestPeerIDVector(t *testing.T) {
	k, err := FromSeed(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(k.Public()), "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"; got != want {
		t.Fatalf("public key %s, want %s", got, want)
	}
	if got, want := k.PeerID(), "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"; got != want {
		t.Fatalf("peer id %s, want %s", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseHex(k.SeedHex())
	if err != nil {
		t.Fatal(err)
	}
	if back.PeerID() != k.PeerID() {
		t.Fatal("peer id changed across hex round trip")
	}
	if len(k.PrivateKeyHex()) != 128 || k.PrivateKeyHex()[:64] != k.SeedHex() {
		t.Fatal("gossamer private key must be seed||public")
	}
	if _, err := ParseHex("zz"); err == nil {
		t.Fatal("want error for non-hex")
	}
}
