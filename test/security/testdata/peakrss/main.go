// Command peakrss runs a command and writes its peak resident set size in KiB to the file named
// by $PEAKRSS_OUT, exiting with the command's status.
//
// Linux starts a child's peak RSS at its parent's size (the fork shares or copies the parent's
// memory until exec), so a large test process cannot measure a small child directly: it runs
// the child through this small program instead.
package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	c := exec.Command(os.Args[1], os.Args[2:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := c.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		os.Stderr.WriteString("peakrss: " + err.Error() + "\n")
		os.Exit(127)
	}
	kib := c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	if err := os.WriteFile(os.Getenv("PEAKRSS_OUT"), []byte(strconv.FormatInt(kib, 10)), 0o600); err != nil {
		os.Stderr.WriteString("peakrss: " + err.Error() + "\n")
		os.Exit(127)
	}
	os.Exit(c.ProcessState.ExitCode())
}
