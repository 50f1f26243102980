package gateway

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/dinfra/stack/internal/gateway/netloop"
	"github.com/dinfra/stack/internal/gateway/upstream"
	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// wsLoops read the gateway's WebSocket clients: one event loop per core, each serving many
// client sockets from one goroutine (see netloop). A client's message costs one read system
// call and no goroutine wake-up, and the stateless calls of every client served in one pass
// leave for the node together. Clients whose socket is not a plain TCP one (TLS) and
// messages the loop does not take (fragmented, or larger than its buffer) are read by a
// goroutine of their own, as on systems without event loops.
type wsLoops struct {
	once  sync.Once
	loops []*wsLoop
	next  atomic.Uint64
}

type wsLoop struct {
	loop  *netloop.Loop
	batch upstream.Batch // the shared calls of the clients served in the current pass
}

// pick returns the loop for a new client, or nil where there are none.
func (ls *wsLoops) pick(g *Gateway) *wsLoop {
	ls.once.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			lp := &wsLoop{}
			l, err := netloop.New(lp.batch.Flush)
			if err != nil {
				if !errors.Is(err, netloop.ErrUnsupported) {
					g.log.Warn("websocket event loop unavailable; a goroutine reads each client", "err", err)
				}
				return
			}
			lp.loop = l
			ls.loops = append(ls.loops, lp)
		}
	})
	if len(ls.loops) == 0 {
		return nil
	}
	return ls.loops[ls.next.Add(1)%uint64(len(ls.loops))]
}

// loopClient is a session's client socket as an event loop reads it.
type loopClient struct {
	s    *wsSession
	lp   *wsLoop
	conn net.Conn
	raw  syscall.RawConn
	buf  []byte // wsReadBuffer bytes; buf[:n] is read and not yet handled
	n    int
}

// watchWS hands the session's client socket to an event loop, with the bytes already read
// from it; false means the caller reads it.
func (g *Gateway) watchWS(s *wsSession, conn net.Conn, pending []byte) bool {
	tc, ok := conn.(*net.TCPConn)
	if !ok || len(pending) > wsReadBuffer {
		return false
	}
	lp := g.wsLoops.pick(g)
	if lp == nil {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	c := &loopClient{s: s, lp: lp, conn: conn, raw: raw, buf: make([]byte, wsReadBuffer)}
	c.n = copy(c.buf, pending)
	s.batch = &lp.batch
	if _, err = lp.loop.Add(raw, c); err != nil {
		s.batch = nil
		return false
	}
	return true
}

// Readable reads what the client sent and handles every whole message in it.
func (c *loopClient) Readable(t netloop.Token) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), c.buf[c.n:])
		return true
	})
	switch {
	case err == nil && (errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EINTR)):
		return // nothing after all; the loop asks again
	case err != nil || rerr != nil || n == 0:
		c.stop(t) // the client left, or the session shut its socket down
		return
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
	c.lp.loop.Remove(c.raw, t)
	go c.s.end()
}

// handOff moves the client to a reader goroutine of its own, from the frame at buf[off:].
func (c *loopClient) handOff(t netloop.Token, off int) {
	c.lp.loop.Remove(c.raw, t)
	c.s.batch = nil // the goroutine sends its calls at once
	pending := c.buf[off:c.n]
	go func() {
		c.s.readClient(c.s.clientReader(c.conn, pending))
		c.s.end()
	}()
}
