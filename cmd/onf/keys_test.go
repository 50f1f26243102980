package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every keys verb documents itself with an example.
func TestKeysHelp(t *testing.T) {
	keys, _, err := rootCmd.Find([]string{"keys"})
	if err != nil || keys.Name() != "keys" {
		t.Fatalf("no keys command: %v", err)
	}
	for _, c := range keys.Commands() {
		if c.Example == "" || !strings.Contains(c.Example, "onf keys "+c.Name()) {
			t.Errorf("onf keys %s: no example of itself: %q", c.Name(), c.Example)
		}
	}
	if len(keys.Commands()) != 5 {
		t.Errorf("keys verbs: %d, want generate, set, rotate, check, migrate", len(keys.Commands()))
	}
}

// A controller secret URI is read only from a file its owner alone can read.
func TestReadSURIFile(t *testing.T) {
	dir := t.TempDir()
	good, loose, empty := filepath.Join(dir, "good"), filepath.Join(dir, "loose"), filepath.Join(dir, "empty")
	_ = os.WriteFile(good, []byte("//Alice\n"), 0o600)
	_ = os.WriteFile(loose, []byte("//Alice"), 0o644)
	_ = os.WriteFile(empty, nil, 0o600)
	if s, err := readSURIFile(good); err != nil || s != "//Alice" {
		t.Errorf("good file: %q %v", s, err)
	}
	for file, want := range map[string]string{"": "--suri-file: required", loose: "chmod 600", empty: "empty", filepath.Join(dir, "none"): "--suri-file"} {
		s, err := readSURIFile(file)
		if err == nil || !strings.Contains(err.Error(), want) || s != "" {
			t.Errorf("readSURIFile(%q) = %q, %v; want an error with %q", file, s, err, want)
		} else if strings.Contains(err.Error(), "Alice") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

// Every keys verb takes the cluster flags, explains the rule and shows a cluster example.
func TestKeysVerbsTakeClusterFlags(t *testing.T) {
	for _, name := range []string{"generate", "set", "rotate", "check", "migrate"} {
		c, _, err := rootCmd.Find([]string{"keys", name})
		if err != nil || c.Name() != name {
			t.Fatalf("onf keys %s: %v", name, err)
		}
		cluster := c.Flags().Lookup("namespace") != nil && c.Flags().Lookup("context") != nil && c.Flags().Lookup("kubeconfig") != nil
		if !cluster || !strings.Contains(c.Long, "Local or cluster") || !strings.Contains(c.Example, " -n ") {
			t.Errorf("onf keys %s: cluster flags %t, or --help lacks the rule or a cluster example", name, cluster)
		}
	}
}
