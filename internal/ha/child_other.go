//go:build !linux

package ha

import "syscall"

// childAttr puts the node in its own process group. Only Linux can have the kernel kill the
// node when the agent dies; elsewhere the agent kills it on the way out.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
