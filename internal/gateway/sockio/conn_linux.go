package sockio

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// Wrap returns c with Read and Write made of raw system calls, waiting in Go's network poller
// (and so honouring deadlines) while the socket is empty or full. Connections other than
// plain TCP are returned as they are.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	s, err := NewSocket(tc)
	if err != nil {
		return c
	}
	return &conn{TCPConn: tc, s: s}
}

type conn struct {
	*net.TCPConn
	s *Socket
}

func (c *conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := c.s.in.call(c.s.raw.Read, b, true)
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.s.out.call(c.s.raw.Write, b, true)
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

// opError reports a failure the way net.Conn does; a deadline's error stays a timeout.
func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// writeNonblocking writes what a non-blocking socket takes now: all of b, or less and EAGAIN
// when it is full.
func writeNonblocking(fd uintptr, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return n, errno
		}
		n += int(m)
	}
	return n, nil
}

// readNonblocking makes one read of a non-blocking socket (EAGAIN: it is empty).
func readNonblocking(fd uintptr, b []byte) (int, error) {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return 0, errno
		}
		return int(n), nil
	}
}
