package ha

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if err := GossamerRole(base, false, "ian"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	for _, want := range []string{"key = \"ian\"\n", "babe-authority = false\n", "grandpa-authority = false\n", "unlock = \"\"\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("standby config lacks %q:\n%s", want, data)
		}
	}
	if err := GossamerRole(base, true, "ian"); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(file)
	for _, want := range []string{"babe-authority = true\n", "grandpa-authority = true\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("authority config lacks %q:\n%s", want, data)
		}
	}
	if err := GossamerRole(t.TempDir(), true, "ian"); err != nil {
		t.Errorf("a node not initialised yet: %v", err)
	}
}
