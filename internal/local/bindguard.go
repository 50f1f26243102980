package local

import (
	"fmt"
	"os"
	"runtime"
)

// AllowUnguardedEnv is the environment variable with which a user accepts running nodes
// without the bind guard on a platform that has none (every platform but Linux). There a
// node binds where its own flags say: gossamer v0.9.0, for one, listens with RPC, WebSocket
// and metrics on every interface, so the runtime refuses to start nodes unless this is "1".
const AllowUnguardedEnv = "ONF_ALLOW_UNGUARDED_BINDS"

// checkBindGuard says whether nodes may start here: always where the bind guard runs,
// elsewhere only when the user opted in.
func checkBindGuard() error {
	if bindGuardAvailable {
		return nil
	}
	return unguardedRefusal(runtime.GOOS, os.Getenv(AllowUnguardedEnv))
}

// unguardedRefusal is the error that keeps nodes from starting on goos without a bind guard,
// or nil when optIn (the value of AllowUnguardedEnv) is "1".
func unguardedRefusal(goos, optIn string) error {
	if optIn == "1" {
		return nil
	}
	return fmt.Errorf("no bind guard on %s (it needs Linux seccomp), so a node could listen on every "+
		"interface (gossamer v0.9.0 does); set %s=1 to run nodes anyway, see docs/security.md",
		goos, AllowUnguardedEnv)
}
