//go:build unix

package gateway

import "syscall"

// writeNonblocking writes what a non-blocking socket takes now.
func writeNonblocking(fd uintptr, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(int(fd), b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			return n, err
		}
		n += m
	}
	return n, nil
}

// readNonblocking makes one read of a non-blocking socket.
func readNonblocking(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }
