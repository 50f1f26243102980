package gateway

import (
	"errors"
	"net"

	"github.com/dinfra/stack/internal/gateway/netloop"
	"github.com/dinfra/stack/internal/gateway/sockio"
	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// loopClient is a session's client socket as an event loop reads it.
type loopClient struct {
	s    *wsSession
	lp   *eventLoop
	conn net.Conn
	sock *sockio.Socket
	buf  []byte // wsReadBuffer bytes; buf[:n] is read and not yet handled
	n    int
}

// watchWS hands the session's client socket to one of loops, with the bytes already read
// from it; false means the caller reads it.
func watchWS(loops *eventLoops, s *wsSession, conn net.Conn, pending []byte) bool {
	tc, ok := conn.(*net.TCPConn)
	if !ok || len(pending) > wsReadBuffer {
		return false
	}
	lp := loops.pick()
	sock, err := sockio.NewSocket(tc)
	if err != nil {
		return false
	}
	c := &loopClient{s: s, lp: lp, conn: conn, sock: sock, buf: make([]byte, wsReadBuffer)}
	c.n = copy(c.buf, pending)
	s.batch = &lp.batch
	if _, err = lp.loop.Add(sock.Raw(), c); err != nil {
		s.batch = nil
		return false
	}
	return true
}

// Readable reads what the client sent and handles every whole message in it.
func (c *loopClient) Readable(t netloop.Token) {
	n, err := c.sock.ReadNow(c.buf[c.n:])
	switch {
	case err != nil:
		c.stop(t) // the client left, or the session shut its socket down
		return
	case n == 0:
		return // nothing after all; the loop asks again
	}
	c.n += n
	off := 0
	for off < c.n {
		h, size, err := wsframe.ParseHeader(c.buf[off:c.n], true)
		if errors.Is(err, wsframe.ErrShort) {
			break
		}
		if err != nil {
			c.s.readFailed(err)
			c.stop(t)
			return
		}
		if !h.Fin || h.Op == wsframe.OpContinuation || h.Len > c.s.g.cfg.Limits.MaxRequestBytes ||
			int64(size)+h.Len > int64(len(c.buf)) {
			c.handOff(t, off) // fragmented or large: the goroutine reader's business
			return
		}
		end := off + size + int(h.Len)
		if end > c.n {
			break // the rest of the frame has not arrived yet
		}
		msg := c.buf[off+size : end]
		wsframe.Mask(msg, h.Mask)
		off = end
		if !c.s.onMessage(h.Op, msg) {
			c.stop(t)
			return
		}
	}
	c.n = copy(c.buf, c.buf[off:c.n])
}

// stop takes the client off the loop and ends the session (away from the loop: ending waits
// for the session's upstream connection to close).
func (c *loopClient) stop(t netloop.Token) {
	c.lp.loop.Remove(c.sock.Raw(), t)
	go c.s.end()
}

// handOff moves the client to a reader goroutine of its own (the reference server's way of
// reading a session), from the frame at buf[off:].
func (c *loopClient) handOff(t netloop.Token, off int) {
	c.lp.loop.Remove(c.sock.Raw(), t)
	c.s.batch = nil // the goroutine sends its calls at once
	pending := c.buf[off:c.n]
	go func() {
		c.s.readClient(c.s.clientReader(c.conn, pending))
		c.s.end()
	}()
}
