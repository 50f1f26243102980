package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/nodekey"
)

// A group with its own node key Secret (p2p.nodeKeySecret) renders with the keys found in
// --node-keys, never generated ones: a missing key file fails by field path and writes no key
// at all, and the given keys' peer IDs are the ones the network dials.
func TestRenderOwnNodeKeys(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "own.yaml")
	doc := `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: own}
spec:
  chain: {builtin: rococo-local}
  node: {flavor: substrate, binary: polkadot, image: docker.io/parity/polkadot:stable2503}
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - {name: boot, role: bootnode, replicas: 2, p2p: {nodeKeySecret: boot-keys}}
`
	if err := os.WriteFile(spec, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys")
	run := func() (string, error) {
		c := newRenderCmd()
		var out bytes.Buffer
		c.SetOut(&out)
		c.SetErr(&bytes.Buffer{})
		c.SetArgs([]string{"-f", spec, "-n", "chains", "--node-keys", keys})
		err := c.Execute()
		return out.String(), err
	}
	if _, err := run(); err == nil || !strings.Contains(err.Error(), "spec.groups[1].p2p.nodeKeySecret: node boot-0's key") {
		t.Fatalf("render without the group's key files: %v", err)
	}
	if _, err := os.Stat(keys); !os.IsNotExist(err) {
		t.Fatalf("a refused render wrote keys: %v", err)
	}

	var peers []string
	for i := range 2 {
		seed := sha256.Sum256(fmt.Appendf(nil, "own boot key %d", i))
		k, err := nodekey.FromSeed(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, k.PeerID())
		if err := os.MkdirAll(keys, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keys, fmt.Sprintf("boot-%d", i)), []byte(hex.EncodeToString(seed[:])), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if !strings.Contains(out, "/p2p/"+p) {
			t.Errorf("render output does not dial the given peer ID %s", p)
		}
	}
}
