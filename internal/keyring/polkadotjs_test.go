package keyring

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/test/polkadotjs"
)

// polkadot-js, an independent implementation, derives the same public keys as the keyring
// for fresh random mnemonics and hex seeds under hard, soft, numeric, long (hashed) and
// password paths, in every scheme (soft paths in sr25519 only: the others refuse them).
func TestAgainstPolkadotJS(t *testing.T) {
	dir := polkadotjs.Dir(t)
	type query struct {
		Scheme Scheme `json:"scheme"`
		URI    string `json:"uri"`
	}
	var queries []query
	for range 2 {
		m, err := GenerateMnemonic(12)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := FromURI(Ed25519, m) // its seed doubles as a random hex seed
		seed := "0x" + hex.EncodeToString(p.ed.Seed())
		for _, root := range []string{m, seed} {
			for _, path := range []string{"", "//0", "//Alice//stash", "//" + strings.Repeat("x", 40), "//7///pw"} {
				for _, s := range []Scheme{Sr25519, Ed25519, Ecdsa} {
					queries = append(queries, query{s, root + path})
				}
			}
			queries = append(queries, query{Sr25519, root + "//hard/soft/1"})
		}
	}
	in, _ := json.Marshal(queries)
	cmd := exec.Command("node", filepath.Join("testdata", "polkadotjs-keys.mjs"))
	cmd.Env = append(os.Environ(), "POLKADOTJS_DIR="+dir)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("polkadot-js: %v", err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(queries) {
		t.Fatalf("polkadot-js answered %d keys (%v), want %d", len(want), err, len(queries))
	}
	for i, q := range queries {
		p, err := FromURI(q.Scheme, q.URI)
		if err != nil {
			t.Errorf("%s query %d: %v", q.Scheme, i, err) // never the secret URI
			continue
		}
		if p.Public().Hex() != want[i] {
			t.Errorf("%s query %d: public %s, polkadot-js %s", q.Scheme, i, p.Public().Hex(), want[i])
		}
	}
}
