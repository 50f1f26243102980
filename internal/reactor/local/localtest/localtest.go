// Package localtest runs Open Node Framework local networks from tests: the test binary
// itself plays the supervisor process (the role of `dinfra reactor supervise` outside tests).
package localtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	onflocal "github.com/dinfra/stack/internal/local"
)

// supervisorEnv marks a re-executed test binary as a supervisor.
const supervisorEnv = "DINFRA_LOCALTEST_SUPERVISOR"

// MaybeSupervise must be called first in TestMain: in a process started as a supervisor it
// runs the supervisor for the network named by the last arguments (`--home HOME NAME`) and
// exits.
func MaybeSupervise() {
	if os.Getenv(supervisorEnv) != "1" {
		return
	}
	args := os.Args
	home, name := args[len(args)-2], args[len(args)-1]
	if err := onflocal.Supervise(context.Background(), home, name, slog.Default()); err != nil {
		slog.Error("supervisor", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Runtime returns a local runtime in a temporary home whose supervisors are this test
// binary; every network still there when the test ends is brought down and purged.
func Runtime(t testing.TB) *onflocal.Runtime {
	t.Helper()
	t.Setenv(supervisorEnv, "1")
	rt := &onflocal.Runtime{Home: filepath.Join(t.TempDir(), "onf"), Supervisor: []string{os.Args[0]}}
	t.Cleanup(func() {
		names, _ := rt.Networks()
		for _, n := range names {
			_ = rt.Down(context.Background(), n, true)
		}
	})
	return rt
}
