package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/network"
)

// A gossamer data directory remembers its last run's key and authority flags; an HA
// candidate's saved config must follow the role it starts in.
func TestGossamerRoleRewritesSavedConfig(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "config", "config.toml")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	saved := "[account]\nkey = \"alice\"\nunlock = \"\"\n[core]\nrole = 4\nbabe-authority = true\ngrandpa-authority = true\n"
	if err := os.WriteFile(file, []byte(saved), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := gossamerRole(base, false, "ian"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	for _, want := range []string{"key = \"ian\"\n", "babe-authority = false\n", "grandpa-authority = false\n", "unlock = \"\"\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("standby config lacks %q:\n%s", want, data)
		}
	}
	if err := gossamerRole(base, true, "ian"); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(file)
	for _, want := range []string{"babe-authority = true\n", "grandpa-authority = true\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("authority config lacks %q:\n%s", want, data)
		}
	}
	if err := gossamerRole(t.TempDir(), true, "ian"); err != nil {
		t.Errorf("a node not initialised yet: %v", err)
	}
}

// Locally the leases live in etcd: an HA group without ha.etcd is refused with its path.
func TestHAWithoutEtcdRefused(t *testing.T) {
	n, err := network.Parse([]byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev}
spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {}}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = checkHA(n)
	if err == nil || !strings.Contains(err.Error(), "spec.groups[0].ha.etcd: required locally") {
		t.Fatalf("err = %v", err)
	}
	n.Spec.Groups[0].HA = nil
	if err := checkHA(n); err != nil {
		t.Fatal(err)
	}
}
