package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func render(t *testing.T, args ...string) string {
	t.Helper()
	c := newRenderCmd()
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetArgs(args)
	if err := c.Execute(); err != nil {
		t.Fatalf("render %v: %v", args, err)
	}
	return out.String()
}

// TestRenderKeepsNodeKeys: node keys are generated into --node-keys once, so a second render
// names the same peer IDs (GitOps diffs stay empty).
func TestRenderKeepsNodeKeys(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	spec := filepath.Join("..", "..", "examples", "polkadot-parachain.yaml")
	first := render(t, "-f", spec, "-n", "chains", "--node-keys", keys)
	second := render(t, "-f", spec, "-n", "chains", "--node-keys", keys)
	if first != second {
		t.Error("two renders with the same --node-keys differ")
	}
	for _, want := range []string{"kind: StatefulSet", "name: rococo-validator", "namespace: chains", "--node-key-file", "/p2p/12D3KooW"} {
		if !strings.Contains(first, want) {
			t.Errorf("render output lacks %q", want)
		}
	}
	fi, err := os.Stat(filepath.Join(keys, "validator-0"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("node key file mode %v, want 0600", fi.Mode().Perm())
	}
	other := render(t, "-f", spec, "-n", "chains", "--node-keys", filepath.Join(t.TempDir(), "other"))
	if other == first {
		t.Error("renders with different key directories gave the same node keys")
	}
}

func TestRenderRejectsClusterless(t *testing.T) {
	c := newRenderCmd()
	c.SetOut(&bytes.Buffer{})
	c.SetArgs([]string{"-f", filepath.Join("..", "..", "examples", "dev-network.yaml"), "--node-keys", t.TempDir()})
	err := c.Execute()
	if err == nil || !strings.Contains(err.Error(), "node.image") {
		t.Errorf("render of a spec without an image: %v, want an error naming node.image", err)
	}
}
