package gateway

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/dinfra/stack/internal/gateway/sockio"
	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// wsOut writes a WebSocket session's frames to its client without ever blocking the sender:
// frames are appended to a buffer and written at once with a non-blocking system call when
// the socket has room (the usual case), so an answer arriving on a shared upstream connection
// costs no goroutine wake-up; what does not fit is left to flushLoop, which owns the socket
// until the buffer is empty. Frames queued while it writes leave together in its next write.
type wsOut struct {
	conn    net.Conn
	sock    *sockio.Socket // nil when the socket cannot be written directly (TLS)
	timeout time.Duration  // a client that takes no bytes for this long is dropped

	mu      sync.Mutex
	buf     []byte // frames not yet written
	spare   []byte
	writing bool // flushLoop owns the socket
	closing bool // a close frame is queued, or the session is over: nothing more is sent
	stopped bool // the session is over: close the socket once the backlog is out
	dead    bool // the socket is shut down (or closed): nothing more is written
	wake    chan struct{}
}

// wsMaxBacklog bounds the bytes waiting for a client; one that lets more pile up is not
// reading and is dropped.
const wsMaxBacklog = 64 << 20

func newWSOut(conn net.Conn, timeout time.Duration) *wsOut {
	o := &wsOut{conn: conn, timeout: timeout, wake: make(chan struct{}, 1)}
	if sc, ok := conn.(syscall.Conn); ok { // not under TLS
		o.sock, _ = sockio.NewSocket(sc)
	}
	return o
}

// send queues one frame and writes what the socket takes now.
func (o *wsOut) send(op byte, payload []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead || o.closing {
		return
	}
	o.buf = wsframe.Append(o.buf, op, payload)
	if op == wsframe.OpClose {
		o.closing = true
	}
	if len(o.buf) > wsMaxBacklog {
		o.killLocked()
		return
	}
	if o.writing {
		return // flushLoop takes it along
	}
	if o.sock != nil && !o.closing {
		n := o.tryWrite(o.buf)
		if o.dead {
			return
		}
		o.buf = o.buf[:copy(o.buf, o.buf[n:])]
		if len(o.buf) == 0 {
			return
		}
	}
	o.writing = true
	o.wakeLocked()
}

func (o *wsOut) wakeLocked() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// tryWrite makes one non-blocking write and returns how many bytes the socket took.
func (o *wsOut) tryWrite(b []byte) int {
	n, err := o.sock.WriteNow(b) // what does not fit is flushLoop's
	if err != nil {
		o.killLocked() // the client is gone
	}
	return n
}

// flushLoop writes what send could not, until the socket is closed.
func (o *wsOut) flushLoop() {
	for range o.wake {
		o.mu.Lock()
		if o.dead {
			o.mu.Unlock()
			return
		}
		for len(o.buf) > 0 && !o.dead {
			b := o.buf
			o.buf, o.spare = o.spare[:0], nil
			closing := o.closing
			o.mu.Unlock()
			timeout := o.timeout
			if closing {
				timeout = min(timeout, time.Second) // a close frame is a courtesy; do not hold the socket for it
			}
			err := writeWithin(o.conn, b, timeout)
			o.mu.Lock()
			if cap(b) <= 256<<10 { // keep a modest buffer, not the largest answer ever sent
				o.spare = b[:0]
			}
			if err != nil {
				o.killLocked() // a client that cannot keep up is dropped; the reader then ends
			}
		}
		o.writing = false
		switch {
		case o.stopped:
			o.closeLocked()
		case o.closing || o.dead:
			o.killLocked()
		default:
			o.mu.Unlock()
			continue
		}
		o.mu.Unlock()
		return
	}
}

// killLocked shuts the socket down: the session's reader (a goroutine or an event loop) sees
// the end and finishes the session, which closes the socket.
func (o *wsOut) killLocked() {
	if !o.dead {
		o.dead = true
		o.buf = nil
		if tc, ok := o.conn.(*net.TCPConn); ok {
			_ = tc.CloseRead()
			_ = tc.CloseWrite()
		} else {
			_ = o.conn.Close() // a reader of a TLS connection sees the close
		}
	}
}

func (o *wsOut) closeLocked() {
	o.dead, o.buf = true, nil
	_ = o.conn.Close() // a second close only returns an error
}

// stop closes the socket once the session is over, without waiting: if flushLoop is writing,
// it closes the socket when its backlog (such as a close frame) is out; otherwise what is
// queued gets one short try.
func (o *wsOut) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closing, o.stopped = true, true
	if o.writing {
		return
	}
	if !o.dead && len(o.buf) > 0 {
		_ = writeWithin(o.conn, o.buf, min(o.timeout, time.Second))
	}
	o.closeLocked()
	o.wakeLocked() // flushLoop sees the socket closed and returns
}
