package ledger

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// TestStateNamesAccountsByPublicKey: the state holds accounts as public keys and SS58 only
// appears at the edges. Two chains that differ only in params.ss58_prefix end up with the
// same state apart from the params record after the same transactions, no state value holds
// an address, and queries render the addresses in each chain's own prefix.
func TestStateNamesAccountsByPublicKey(t *testing.T) {
	alice, bob, charlie := dev(t, "alice"), dev(t, "bob"), dev(t, "charlie")
	run := func(prefix uint16) *harness {
		h := newHarness(t, func(g *wire.Genesis) { g.Params.SS58Prefix = prefix })
		h.ok(bob, registerProvider("https://bob.example/reactor", 10, 5))
		h.ok(alice, wire.Msg{RegisterType: &wire.MsgRegisterType{Name: "cloud-init", Version: "v1", SchemaCID: testCID("ci")}})
		h.ok(alice, wire.Msg{Transfer: &wire.MsgTransfer{To: charlie.Address(42), Amount: 7}})
		h.ok(alice, subscribe(2, 1000, 5, ""))
		h.ok(bob, deployed(1))
		return h
	}
	polkadot, generic := run(0), run(42)

	state := func(h *harness) map[string][]byte {
		out := map[string][]byte{}
		h.l.committed.Iterate(nil, nil, func(k, v []byte) bool {
			if isStateKey(k) && !bytes.Equal(k, metaKey(metaParams)) {
				out[string(k)] = bytes.Clone(v)
			}
			return true
		})
		return out
	}
	a, b := state(polkadot), state(generic)
	if len(a) != len(b) {
		t.Fatalf("%d state entries with prefix 0, %d with prefix 42", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Errorf("state %q differs between prefixes: %s / %s", k, v, b[k])
		}
		for _, p := range []*keyring.Pair{alice, bob, charlie} {
			for _, prefix := range []uint16{0, 42} {
				if bytes.Contains(v, []byte(p.Address(prefix))) {
					t.Errorf("state %q holds the address %s: %s", k, p.Address(prefix), v)
				}
			}
		}
	}

	if p := polkadot.provider(bob); p.Address != bob.Address(0) {
		t.Errorf("provider query answers %s, want %s", p.Address, bob.Address(0))
	}
	s := polkadot.sub(1)
	if s.Consumer != alice.Address(0) || s.Provider != bob.Address(0) || s.ConsumerPublicKey != alice.Public().Hex() || s.ConsumerScheme != "sr25519" {
		t.Errorf("subscription query: consumer %s (%s, %s), provider %s", s.Consumer, s.ConsumerScheme, s.ConsumerPublicKey, s.Provider)
	}
	var typ wire.DescriptorType
	polkadot.query(wire.QueryType+"cloud-init/v1", &typ)
	if typ.Owner != alice.Address(0) {
		t.Errorf("type owner %s, want %s", typ.Owner, alice.Address(0))
	}
}

// A record whose account is not 0x and 32 hex bytes is corrupt state, not a zero key.
func TestAccountIDText(t *testing.T) {
	want := pubOf(dev(t, "alice"))
	text, _ := want.MarshalText()
	var got accountID
	if err := got.UnmarshalText(text); err != nil || got != want {
		t.Fatalf("round trip of %s: %x, %v", text, got, err)
	}
	for _, bad := range []string{"", "0x", strings.TrimPrefix(string(text), "0x"), string(text[:len(text)-2]), string(text) + "00", "0x" + strings.Repeat("zz", 32)} {
		if err := got.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
