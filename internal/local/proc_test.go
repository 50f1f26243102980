package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// runsIn finds a node by the state directory in its command line (what `onf down` kills when
// the supervisor is gone), and nothing else.
func TestRunsIn(t *testing.T) {
	dir := Dir(t.TempDir())
	cmd := exec.Command("sh", "-c", "sleep 30", filepath.Join(string(dir), "nodes", "rpc-0"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if !runsIn(cmd.Process.Pid, dir) {
		t.Errorf("a process with %s in its command line does not run in it", dir)
	}
	if runsIn(os.Getpid(), dir) {
		t.Error("the test binary runs in the state directory")
	}
}
