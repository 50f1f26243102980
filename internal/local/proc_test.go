package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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
	// Start returns once exec is past its point of no return, but the kernel sets the new
	// command line a moment later (an empty one was read on a loaded CI machine): ask again.
	deadline := time.Now().Add(5 * time.Second)
	for !runsIn(cmd.Process.Pid, dir) {
		if time.Now().After(deadline) {
			t.Fatalf("a process with %s in its command line does not run in it", dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if runsIn(os.Getpid(), dir) {
		t.Error("the test binary runs in the state directory")
	}
}
