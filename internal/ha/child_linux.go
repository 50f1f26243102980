package ha

import "syscall"

// childAttr puts the node in its own process group and has the kernel kill it if the agent
// dies first: a node left running without its agent could sign after the lease is gone.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
