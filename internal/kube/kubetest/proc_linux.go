package kubetest

import "syscall"

// diesWithTest makes a control plane process die with the test binary, even a killed one.
func diesWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
