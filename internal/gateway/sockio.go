package gateway

import (
	"errors"
	"io"
	"syscall"
)

// readNow makes one non-blocking read of a socket an event loop found readable. (0, nil)
// means there was nothing after all (the loop asks again); an error means the peer left or
// the socket was shut down (io.EOF).
func readNow(raw syscall.RawConn, b []byte) (int, error) {
	var n int
	var rerr error
	err := raw.Read(func(fd uintptr) bool {
		n, rerr = readNonblocking(fd, b)
		return true // never wait: the loop does
	})
	switch {
	case err == nil && (errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EINTR)):
		return 0, nil
	case err != nil || rerr != nil:
		return 0, errors.Join(err, rerr)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// writeNow writes what a non-blocking socket takes now and returns how many bytes it took; a
// full socket is not an error.
func writeNow(raw syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		n, werr = writeNonblocking(fd, b)
		return true // never wait for room: the caller's goroutine does
	})
	if err = errors.Join(err, werr); err != nil && !errors.Is(err, syscall.EAGAIN) {
		return n, err
	}
	return n, nil
}
