package ha

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/rpc"
)

// auraHeader is a real header of a Cumulus parachain: Asset Hub Westend block #13089907
// (0xc7bc73, https://assethub-westend.subscan.io/block/13089907), as recorded with its
// digest in brave/brave-core's
// components/brave_wallet/browser/polkadot/polkadot_substrate_rpc_unittest.cc. Its logs: the Aura pre-runtime
// digest (engine "aura", slot 0x117f1bac as u64 LE), a Consensus item "RPSR" (the relay
// parent's storage root) and the Aura seal.
const auraHeader = `{
  "parentHash": "0xf7b0a3c2684dd0c5233b41b584faf3dded56105dea0f6d232a3432f973962b44",
  "number": "0xc7bc73",
  "stateRoot": "0x6d55a8ef28545bd8569d1c0b8f1c5bd60e30690cbb153323e69a8281a3a96d6c",
  "extrinsicsRoot": "0x0bd881aa73ac25f97052d9e34310b814a9ee500e7e04ef43940464e192234acb",
  "digest": {"logs": [
    "0x066175726120ac1b7f1100000000",
    "0x045250535290c612cd85d07c699b58d278616cbc9ddfe571eaab038455ee857274d0f313dc35a66bba06",
    "0x05617572610101ea4d72dd31de7db13b8a042c6d7519f059663e5a5ea6da72b6a5b7f35a8a894406e57d7577d4e64338991bb44363eab1a8f64a2c2d5109eaad1296974d4e088a"
  ]}
}`

func header(t *testing.T, js string) *rpc.Header {
	t.Helper()
	var h rpc.Header
	if err := json.Unmarshal([]byte(js), &h); err != nil {
		t.Fatal(err)
	}
	return &h
}

// A collator's block is read from its Aura pre-digest: the slot, and its author is authority
// slot % len(authorities) of Aura.Authorities at the parent.
func TestAuthorAura(t *testing.T) {
	a, ok, err := Author(header(t, auraHeader))
	if err != nil || !ok {
		t.Fatalf("Author: ok %v err %v", ok, err)
	}
	if a.Engine != Aura || a.Slot != 0x117f1bac {
		t.Fatalf("got %+v, want engine aura, slot %d", a, 0x117f1bac)
	}
	// Aura.Authorities as the runtime stores it (SCALE: compact length, then 32-byte sr25519
	// keys), built here for three dev collators.
	raw := "0x0c"
	var keys [][32]byte
	for _, name := range []string{"Alice", "Bob", "Charlie"} {
		p, err := keyring.Dev(keyring.Sr25519, name)
		if err != nil {
			t.Fatal(err)
		}
		key := p.Public().Bytes
		keys = append(keys, key)
		raw += hex.EncodeToString(key[:])
	}
	auths, err := decodeAuthorities(Aura, raw)
	if err != nil || len(auths) != 3 || auths[2] != keys[2] {
		t.Fatalf("authorities %x, err %v", auths, err)
	}
	if i := a.Index(len(auths)); i != int(0x117f1bac%3) {
		t.Errorf("author index %d, want slot %% 3 = %d", i, 0x117f1bac%3)
	}
	if a.Index(0) != -1 {
		t.Error("no authorities must give no author")
	}
}

// BABE pre-digests keep naming their author by index, whatever the number of authorities.
func TestAuthorBabe(t *testing.T) {
	// PreRuntime (6), "BABE", 13 bytes: variant 2 (secondary plain), authority 1 (u32 LE),
	// slot 0x10 (u64 LE).
	js := `{"number":"0x5","digest":{"logs":["0x0642414245` + `34` + `02` + `01000000` + `1000000000000000"]}}`
	a, ok, err := Author(header(t, js))
	if err != nil || !ok || a.Engine != Babe || a.Slot != 0x10 || a.Index(4) != 1 {
		t.Fatalf("got %+v ok %v err %v", a, ok, err)
	}
	bad := `{"number":"0x5","digest":{"logs":["0x06617572611001000000"]}}` // aura, 4 bytes
	if _, _, err := Author(header(t, bad)); err == nil {
		t.Error("a 4-byte Aura pre-digest must be refused")
	}
}
