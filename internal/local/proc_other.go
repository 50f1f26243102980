//go:build !linux

package local

import (
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// nodeProcAttr puts a node in its own process group. Without Linux's parent-death signal a
// node outlives a supervisor killed with SIGKILL; `onf down` stops it then.
func nodeProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// tcp4Socket opens a non-blocking, close-on-exec IPv4 stream socket. The descriptor flags
// are set under ForkLock, as package net does, so no child started meanwhile inherits it.
func tcp4Socket() (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// commandLine is a process's command line as ps shows it: there is no /proc here.
func commandLine(pid int) ([]byte, error) {
	return exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
}
