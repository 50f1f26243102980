//go:build !linux

package kubetest

import "syscall"

// diesWithTest has no parent-death signal outside Linux: processes are stopped by the test's
// cleanup, and a killed test binary leaves them behind.
func diesWithTest() *syscall.SysProcAttr { return nil }
