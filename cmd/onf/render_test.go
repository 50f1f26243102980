package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func render(t *testing.T, args ...string) string {
	out, _ := renderWithErr(t, args...)
	return out
}

// renderWithErr runs onf render and returns its standard output and error.
func renderWithErr(t *testing.T, args ...string) (string, string) {
	t.Helper()
	c := newRenderCmd()
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	if err := c.Execute(); err != nil {
		t.Fatalf("render %v: %v", args, err)
	}
	return out.String(), errOut.String()
}

// TestRenderKeepsNodeKeys: node keys are generated into --node-keys once, so a second render
// names the same peer IDs (GitOps diffs stay empty).
func TestRenderKeepsNodeKeys(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	spec := filepath.Join("..", "..", "examples", "polkadot-parachain.yaml")
	first, created := renderWithErr(t, "-f", spec, "-n", "chains", "--node-keys", keys)
	second, again := renderWithErr(t, "-f", spec, "-n", "chains", "--node-keys", keys)
	if first != second {
		t.Error("two renders with the same --node-keys differ")
	}
	if want := "onf render: created 8 node keys in " + keys + "\n"; created != want || again != "" {
		t.Errorf("standard error %q then %q, want %q then nothing", created, again, want)
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

// Issue 11 item 7: render writes node keys only for a spec that renders completely. A spec
// refused by validation or by the cluster builders leaves no key file and no directory, in
// --node-keys or in the default .onf/node-keys under the current directory.
func TestRenderBadSpecWritesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	noImage := filepath.Join(dir, "no-image.yaml")
	invalid := filepath.Join(dir, "invalid.yaml")
	huge := filepath.Join(dir, "huge.yaml")
	spec := `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev}
spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, replicas: REPLICAS}
`
	for file, replicas := range map[string]string{noImage: "3", invalid: "-1", huge: "1000000"} {
		if err := os.WriteFile(file, []byte(strings.Replace(spec, "REPLICAS", replicas, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys := filepath.Join(dir, "keys")
	for _, args := range [][]string{
		{"-f", noImage}, {"-f", noImage, "--node-keys", keys},
		{"-f", invalid}, {"-f", invalid, "--node-keys", keys},
		{"-f", huge}, {"-f", huge, "--node-keys", keys},
	} {
		c := newRenderCmd()
		c.SetOut(&bytes.Buffer{})
		c.SetErr(&bytes.Buffer{})
		c.SetArgs(args)
		if err := c.Execute(); err == nil {
			t.Errorf("render %v succeeded", args)
		}
	}
	for _, p := range []string{".onf", "keys"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("a refused render left %s behind (%v)", p, err)
		}
	}
}
