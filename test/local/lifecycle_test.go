package local_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// TestStateDirRemovedWhileRunning: with its state directory removed, a network used to keep
// running out of reach of `onf down`, and a second `onf up` started a second supervisor and a
// second //Alice validator on the same chain. Now the supervisor notices, stops its nodes and
// exits; an up meanwhile is refused; an up afterwards starts exactly one network.
func TestStateDirRemovedWhileRunning(t *testing.T) {
	c := newCLI(t)
	spec := filepath.Join(t.TempDir(), "gone.yaml")
	err := os.WriteFile(spec, []byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: gone}
spec:
  chain: {builtin: westend-dev}
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	up := []string{"up", "-f", spec, "--binary", c.gossamer, "--until-block", "0", "--timeout", "2m"}
	t.Cleanup(func() { c.Run("down", "gone", "--purge") })
	c.Must(up...)
	st := c.Status("gone")
	supervisor, validator := st.Supervisor, node(t, st, "validator-0").PID

	if err := os.RemoveAll(filepath.Join(c.Home, "networks", "gone")); err != nil {
		t.Fatal(err)
	}
	out, err := c.Run(up...)
	switch {
	case err != nil && !strings.Contains(out, "still runs but its state"):
		t.Errorf("up while the old supervisor runs: %v\n%s", err, out)
	case err == nil && alive(supervisor):
		t.Fatalf("up started a second supervisor beside pid %d:\n%s", supervisor, out)
	}
	testenv.Eventually(t, time.Minute, "the old supervisor and validator to stop", func() bool {
		return !alive(supervisor) && !alive(validator)
	})

	c.Must(up...)
	supervisors, _ := exec.Command("pgrep", "-f", "supervise --home "+c.Home+" gone").Output()
	if n := len(strings.Fields(string(supervisors))); n != 1 {
		t.Errorf("%d supervisors run network gone, want 1", n)
	}
}

// TestFailedUpDoesNotPoisonNext: after an up failed (the gateway's port was taken), the next
// up failed in 0.2 s with the stale error of the status file while the network came up. Now
// an error counts only for the apply it belongs to.
func TestFailedUpDoesNotPoisonNext(t *testing.T) {
	c := newCLI(t)
	spec, gwURL, key := withGateway(t)
	t.Cleanup(func() { c.Run("down", "dev", "--purge") })
	squatter, err := net.Listen("tcp", strings.TrimPrefix(gwURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	up := []string{"up", "-f", spec, "--binary", c.gossamer, "--until-block", "0", "--timeout", "3m"}
	if out, err := c.Run(up...); err == nil || !strings.Contains(out, "address already in use") {
		t.Fatalf("up with the gateway's port taken: %v\n%s", err, out)
	}
	squatter.Close()
	c.Must(up...)
	if code, body := gatewayCall(t, gwURL, key, "system_health"); code != http.StatusOK {
		t.Errorf("gateway after the second up: %d %s", code, body)
	}
}
