//go:build linux

package netloop

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Loop is one epoll set and the goroutine that serves it.
type Loop struct {
	file       *os.File        // the epoll set, registered in Go's network poller
	set        syscall.RawConn // file's descriptor
	afterBatch func()
	done       chan struct{}

	mu       sync.Mutex
	handlers map[Token]Handler
	next     Token
}

// New starts a Loop. afterBatch, if not nil, runs on the loop's goroutine after every batch
// of ready sockets has been served.
func New(afterBatch func()) (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile registers the set with Go's network poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	l := &Loop{file: os.NewFile(uintptr(epfd), "epoll"), afterBatch: afterBatch,
		done: make(chan struct{}), handlers: map[Token]Handler{}}
	if l.set, err = l.file.SyscallConn(); err != nil {
		_ = l.file.Close()
		return nil, err
	}
	go l.run()
	return l, nil
}

// Add watches the socket under rc for reading and calls h while it is readable.
func (l *Loop) Add(rc syscall.RawConn, h Handler) (Token, error) {
	l.mu.Lock()
	l.next++
	t := l.next
	l.handlers[t] = h
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(uint32(t)), Pad: int32(uint32(t >> 32))}
	err := l.ctl(rc, unix.EPOLL_CTL_ADD, &ev)
	if err != nil {
		l.forget(t)
	}
	return t, err
}

// Remove stops watching the socket; the handler is not called again. A socket that is
// closed leaves the epoll set by itself, so Remove of a closed socket only forgets t.
func (l *Loop) Remove(rc syscall.RawConn, t Token) {
	_ = l.ctl(rc, unix.EPOLL_CTL_DEL, nil)
	l.forget(t)
}

func (l *Loop) forget(t Token) {
	l.mu.Lock()
	delete(l.handlers, t)
	l.mu.Unlock()
}

// ctl changes the set while the socket is known to be open (Control holds it), so its
// descriptor number cannot have been reused by another socket.
func (l *Loop) ctl(rc syscall.RawConn, op int, ev *unix.EpollEvent) error {
	var err error
	sockErr := rc.Control(func(sock uintptr) {
		setErr := l.set.Control(func(epfd uintptr) {
			if e := unix.EpollCtl(int(epfd), op, int(sock), ev); e != nil {
				err = os.NewSyscallError("epoll_ctl", e)
			}
		})
		err = errors.Join(err, setErr)
	})
	return errors.Join(sockErr, err)
}

// Close stops the loop and waits for its goroutine; sockets still watched are not closed.
func (l *Loop) Close() error {
	err := l.file.Close()
	<-l.done
	return err
}

// run serves ready sockets until the loop is closed. It asks the set for ready sockets
// without blocking; when there are none it waits in Go's network poller for the set to
// become readable, so an idle loop holds no thread.
func (l *Loop) run() {
	defer close(l.done)
	events := make([]unix.EpollEvent, 256)
	_ = l.set.Read(func(epfd uintptr) bool {
		for {
			n, err := pollNow(epfd, events)
			switch {
			case err == unix.EINTR:
				continue
			case err != 0:
				return true // the set was closed
			case n == 0:
				return false // wait for the set to become readable
			}
			for _, ev := range events[:n] {
				t := Token(uint32(ev.Fd)) | Token(uint32(ev.Pad))<<32
				l.mu.Lock()
				h := l.handlers[t]
				l.mu.Unlock()
				if h != nil {
					h.Readable(t)
				}
			}
			if l.afterBatch != nil {
				l.afterBatch()
			}
		}
	})
}

// pollNow asks the set for ready sockets without waiting. It is a raw system call, for the
// reason package sockio gives: it returns at once, and the runtime's bookkeeping of a system
// call costs more than the call when the kernel deschedules the thread during it.
// epoll_pwait with no signal mask is epoll_wait, and the only one of the two on arm64.
func pollNow(epfd uintptr, events []unix.EpollEvent) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, epfd, uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(n), errno
}
