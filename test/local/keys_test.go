package local_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// A session key file that is not there fails `onf up` at once with its field path, before
// anything is stored or started (it used to surface only when the supervisor started the node,
// and `up` waited out its timeout).
func TestUpWithMissingKeyFileFailsAtOnce(t *testing.T) {
	testenv.Short(t)
	c := onfcli.Build(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "validator-0.suri")
	spec := filepath.Join(dir, "net.yaml")
	if err := os.WriteFile(spec, []byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: keyless}
spec:
  chain: {builtin: dev}
  node: {flavor: substrate, binary: /bin/true}
  groups:
    - {name: validator, role: validator, keys: {files: [`+missing+`]}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := c.Run("up", "-f", spec, "--timeout", "5m")
	took := time.Since(start)
	if err == nil {
		t.Fatalf("up accepted a missing key file:\n%s", out)
	}
	if want := "spec.groups[0].keys.files[0]: open " + missing + ": no such file or directory"; !strings.Contains(out, want) {
		t.Errorf("up does not say %q:\n%s", want, out)
	}
	t.Logf("up refused the spec in %s", took)
	if took > 10*time.Second { // about 10 ms; generous for a loaded machine
		t.Errorf("up took %s to refuse the spec", took)
	}
	if _, err := os.Stat(filepath.Join(c.Home, "networks", "keyless")); !os.IsNotExist(err) {
		t.Errorf("a refused spec left state: %v", err)
	}
	if out, err := c.Run("status", "keyless"); err == nil {
		t.Errorf("status of a refused network:\n%s", out)
	}
}
