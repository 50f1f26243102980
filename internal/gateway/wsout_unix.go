//go:build unix

package gateway

import (
	"syscall"
	"unsafe"
)

// Reads and writes of non-blocking sockets return at once, so they are made as raw system
// calls: the goroutine keeps its processor, and the runtime neither records a system call nor
// hands the processor to another thread when the kernel deschedules this one meanwhile (which,
// on a busy machine, it often does).

// writeNonblocking writes what a non-blocking socket takes now.
func writeNonblocking(fd uintptr, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return n, errno
		}
		if m == 0 {
			return n, nil
		}
		n += int(m)
	}
	return n, nil
}

// readNonblocking reads what a non-blocking socket holds now (EAGAIN: nothing).
func readNonblocking(fd uintptr, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
