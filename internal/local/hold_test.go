package local

import (
	"context"
	"os"
	"strings"
	"testing"
)

// A hold is a file: one per node, refused twice, removed on release, and valid on a network
// whose supervisor is not running (which then does not start the node).
func TestHoldIsExclusive(t *testing.T) {
	r := &Runtime{Home: t.TempDir()}
	ctx := context.Background()
	release, err := r.Hold(ctx, "dev", "rpc-0")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := r.Dir("dev")
	if _, err := os.Stat(dir.Hold("rpc-0")); err != nil {
		t.Fatalf("no hold file: %v", err)
	}
	if _, err := r.Hold(ctx, "dev", "rpc-0"); err == nil || !strings.Contains(err.Error(), "already held") {
		t.Errorf("second hold: %v, want refused", err)
	}
	if _, err := r.Hold(ctx, "dev", "../x"); err == nil {
		t.Error("hold of a node name with a path in it accepted")
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir.Hold("rpc-0")); !os.IsNotExist(err) {
		t.Errorf("hold file after release: %v", err)
	}
	// A hold left by a command that died is taken over.
	if err := os.WriteFile(dir.Hold("rpc-0"), []byte("2147483000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if release, err = r.Hold(ctx, "dev", "rpc-0"); err != nil {
		t.Fatalf("hold left by a dead process: %v", err)
	}
	_ = release()
}
