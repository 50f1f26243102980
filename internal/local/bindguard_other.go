//go:build !linux

package local

import (
	"log/slog"
	"os/exec"
)

// bindGuardAvailable is false: seccomp user notification is Linux-only.
const bindGuardAvailable = false

// guardedCommand runs the node as it is: there is no guard to run it under.
func guardedCommand(binary string, args []string) *exec.Cmd {
	return exec.Command(binary, args...)
}

// startGuarded starts a node without a bind guard, only when the user opted in
// (checkBindGuard). Nothing can hand the node a reserved socket here, so every reserved port
// is given back just before the node starts and binds it itself.
func startGuarded(cmd *exec.Cmd, public []int, res *reservation, log *slog.Logger) error {
	if err := checkBindGuard(); err != nil {
		return err
	}
	log.Warn("no bind guard on this platform: the node listens where its flags say", "public", public)
	res.close()
	return cmd.Start()
}
