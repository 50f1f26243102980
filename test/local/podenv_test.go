package local_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// pod.env is honoured by `onf up`: its literal values reach the node process itself (read
// from the running gossamer's /proc environ), the one pod option a process can honour.
func TestPodEnvReachesLocalNode(t *testing.T) {
	c := newCLI(t)
	spec := filepath.Join(t.TempDir(), "envs.yaml")
	err := os.WriteFile(spec, []byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: envs}
spec:
  chain: {builtin: westend-dev}
  groups:
    - name: validator
      role: validator
      keys: {dev: ["//Alice"]}
      pod:
        env: [{name: ONF_TEST_MARK, value: "a value, with spaces"}]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Run("down", "envs", "--purge") })
	c.Must("up", "-f", spec, "--binary", c.gossamer, "--until-block", "0", "--timeout", "2m")
	pid := node(t, c.Status("envs"), "validator-0").PID
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(environ, []byte("\x00ONF_TEST_MARK=a value, with spaces\x00")) {
		t.Errorf("node pid %d's environment lacks ONF_TEST_MARK:\n%q", pid, environ)
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil || filepath.Base(exe) != filepath.Base(c.gossamer) {
		t.Errorf("pid %d runs %q (%v), want the gossamer node itself", pid, exe, err)
	}
}
