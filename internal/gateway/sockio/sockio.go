// Package sockio reads and writes non-blocking TCP sockets with raw system calls: calls the
// runtime does not see as system calls, so the goroutine keeps its processor throughout.
//
// Why: a read or write of a non-blocking socket returns at once, but on a busy machine the
// kernel often deschedules the thread in the middle of one. Through Go's usual wrappers the
// runtime's monitor then finds the processor "in a system call", hands it to another thread
// (waking or starting one), and keeps polling every 20 microseconds because it found work to
// do. Measured on the gateway's WebSocket benchmark on 2 shared CPUs, that monitor alone took
// about 10% of the gateway's CPU; with every socket call on the hot path made raw, it takes
// under 1% and a call costs 18% less CPU. Blocking waits (for data, for room) still go
// through Go's network poller, so deadlines and goroutine parking work as usual.
//
// Only Linux makes raw calls. Elsewhere ReadNow and WriteNow move nothing (there are no event
// loops to call them, and writers fall back to a goroutine) and Wrap returns the connection
// as it is.
package sockio

import (
	"errors"
	"io"
	"syscall"
)

// ReadNow makes one non-blocking read of a socket an event loop found readable. (0, nil)
// means there was nothing after all (the loop asks again); an error means the peer left or
// the socket was shut down (io.EOF).
func ReadNow(raw syscall.RawConn, b []byte) (int, error) {
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

// WriteNow writes what a non-blocking socket takes now and returns how many bytes it took; a
// full socket is not an error.
func WriteNow(raw syscall.RawConn, b []byte) (int, error) {
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
