package gateway

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/netloop"
	"github.com/dinfra/stack/internal/gateway/sockio"
	"github.com/dinfra/stack/internal/gateway/upstream"
	"github.com/dinfra/stack/internal/rpc"
)

// httpClient is a plain-TCP HTTP connection read by an event loop. The loop reads a whole
// request and answers a refusal at once; a forwarded call leaves with the loop's batch, and
// the node's answer is written to the client by the goroutine that reads the node's
// connection, with a non-blocking write. A connection costs no goroutine and, between
// requests, no buffer. One request is served at a time: a connection that sends more before
// its answer is out (pipelining), or sends a request the loop does not take on (see
// fastServer), is handed to net/http, with the bytes already read.
type httpClient struct {
	f    *fastServer
	lp   *eventLoop
	conn *net.TCPConn
	sock *sockio.Socket
	ip   string
	// deadline (unix nanoseconds) is when sweep ends the connection: idle, or slow to send a
	// request; 0 while a request is answered.
	deadline atomic.Int64

	// Owned by the loop while no request is being answered, then by whoever answers it.
	buf   *[]byte // from loopBuffers while a request is being read or answered; (*buf)[:n] is read
	n     int
	c     *caller // the request being answered: its caller and call
	cl    call
	one   [1]call
	node  *upstream.Node
	start time.Time
	close bool // the request asked to close the connection after the answer
	out   []byte

	mu     sync.Mutex
	token  netloop.Token
	busy   bool // a request is being answered (or the connection is ending)
	parked bool // the client sent more while busy: the loop no longer watches it
}

// loopRequestBytes bounds a request (head and body) that a loop reads; a larger one moves the
// connection to net/http.
const loopRequestBytes = 16 << 10

var loopBuffers = sync.Pool{New: func() any { b := make([]byte, loopRequestBytes); return &b }}

// watch hands a new connection to an event loop; false means the caller serves it.
func (f *fastServer) watch(conn net.Conn) bool {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return false
	}
	lp := f.g.loops.pick()
	sock, err := sockio.NewSocket(tc)
	if err != nil {
		return false
	}
	c := &httpClient{f: f, lp: lp, conn: tc, sock: sock, ip: hostOf(tc.RemoteAddr().String())}
	c.deadline.Store(time.Now().Add(f.g.timeouts.idle).UnixNano())
	f.mu.Lock()
	f.clients[c] = struct{}{}
	f.mu.Unlock()
	c.mu.Lock() // the loop may call Readable before Add returns the token
	c.token, err = lp.loop.Add(sock.Raw(), c)
	c.mu.Unlock()
	if err != nil {
		f.forget(c)
		return false
	}
	return true
}

func (f *fastServer) forget(c *httpClient) {
	f.mu.Lock()
	delete(f.clients, c)
	f.mu.Unlock()
}

// Readable reads what the client sent and serves it once a whole request is in.
func (c *httpClient) Readable(netloop.Token) {
	c.mu.Lock()
	if c.busy { // more before the answer: after it, net/http serves the connection
		if !c.parked {
			c.parked = true
			c.lp.loop.Remove(c.sock.Raw(), c.token)
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if c.buf == nil {
		c.buf = loopBuffers.Get().(*[]byte)
	}
	n, err := c.sock.ReadNow((*c.buf)[c.n:])
	switch {
	case err != nil:
		c.end() // the client left, or the connection is being shut down
		return
	case n == 0:
		return // nothing after all; the loop asks again
	}
	if c.n == 0 {
		c.deadline.Store(time.Now().Add(c.f.g.timeouts.header).UnixNano())
	}
	c.n += n
	c.serve()
}

// serve answers the request in the buffer, if it is whole.
func (c *httpClient) serve() {
	f, g := c.f, c.f.g
	buf := (*c.buf)[:c.n]
	i := bytes.Index(buf, []byte("\r\n\r\n"))
	if i < 0 {
		if c.n == len(*c.buf) {
			c.handOff() // a head too long for the lean path
		}
		return // the rest of the head has not arrived yet
	}
	h, ok := parseHead(buf[:i+4])
	var public *config.PublicRoute
	if ok {
		public, ok = f.route(h.path)
	}
	end := int64(i+4) + h.contentLength
	if !ok || h.contentLength > g.cfg.Limits.MaxRequestBytes || end > int64(len(*c.buf)) {
		c.handOff() // not the plain case, or a body the loop does not hold
		return
	}
	if int64(c.n) < end {
		return // the rest of the body has not arrived yet
	}
	if int64(c.n) > end {
		c.handOff() // pipelined: net/http keeps the answers in order
		return
	}
	c.deadline.Store(0)
	c.mu.Lock()
	c.busy, c.close = true, h.close
	c.mu.Unlock()
	if f.closing() {
		c.end() // shutting down
		return
	}
	var status int
	var e *rpc.Error
	if c.c, status, e = g.connect(h.credential(), c.ip, public); c.c == nil {
		c.respond(status, appendError(nil, nullID, e))
		return
	}
	calls, batch, msgErr := parseMessage(buf[i+4:end], g.cfg.Limits.MaxBatch, c.one[:0])
	switch {
	case msgErr != nil:
		c.respond(g.malformed(msgErr))
	case batch:
		go func() { c.respond(g.answerBatch(f.ctx, c.c, calls)) }()
	default:
		c.forward(&calls[0])
	}
}

// forward sends one call to a healthy node; Answer completes it.
func (c *httpClient) forward(cl *call) {
	g := c.f.g
	if outcome, e := g.admitHTTP(c.c, cl); e != nil {
		c.respond(answered(g.reject(c.c, cl, outcome, e)))
		return
	}
	node, ok := g.pool.PickHTTP()
	if !ok {
		c.respond(answered(g.reject(c.c, cl, outcomeUnavailable, errNoUpstream)))
		return
	}
	c.cl, c.node, c.start = *cl, node, time.Now()
	if _, err := node.Send(c.f.ctx, &c.lp.batch, c); err != nil {
		c.Answer(nil, err)
	}
}

// AppendRequest implements upstream.Call: the request being answered, forwarded.
func (c *httpClient) AppendRequest(dst []byte, id uint64) []byte {
	return appendUpstreamRequest(dst, id, c.cl.method, c.cl.params)
}

// Answer implements upstream.Call: the node's answer to the forwarded call.
func (c *httpClient) Answer(msg []byte, err error) {
	c.respond(answered(c.f.g.upstreamReply(c.c, &c.cl, c.node, c.start, msg, err)))
}

// respond writes the answer to the request being served without blocking the caller (a loop,
// or the reader of a node connection): what the socket does not take at once is written by a
// goroutine.
func (c *httpClient) respond(status int, body []byte) {
	c.release() // the request is served: its caller and buffer go
	c.n, c.cl, c.node = 0, call{}, nil
	keep := !c.close && !c.f.closing()
	c.out = appendResponse(c.out[:0], status, body, c.close)
	// The write is made holding mu: a client that sends its next request as soon as it has
	// the answer finds the connection ready for it, not still busy.
	c.mu.Lock()
	n, err := c.sock.WriteNow(c.out)
	switch {
	case err != nil:
		c.mu.Unlock()
		c.end()
	case n < len(c.out):
		c.mu.Unlock()
		go func() {
			err := writeWithin(c.conn, c.out[n:], c.f.g.timeouts.write)
			c.mu.Lock()
			c.finishLocked(keep && err == nil)
		}()
	default:
		c.finishLocked(keep)
	}
}

// finishLocked ends a request once its answer is out: the connection waits for the next one,
// moves to net/http (it sent more meanwhile), or ends. It is called with mu held and
// releases it.
func (c *httpClient) finishLocked(keep bool) {
	if cap(c.out) > 4<<10 { // an idle connection keeps a small answer buffer, not the largest
		c.out = nil
	}
	parked := c.parked
	if keep && !parked {
		c.deadline.Store(time.Now().Add(c.f.g.timeouts.idle).UnixNano())
		c.busy = false
	}
	c.mu.Unlock()
	switch {
	case !keep:
		c.end()
	case parked:
		c.handOff()
	}
}

// handOff moves the connection, with the bytes read and not yet served, to net/http.
func (c *httpClient) handOff() {
	c.leave()
	var pending []byte
	if c.n > 0 {
		pending = bytes.Clone((*c.buf)[:c.n])
	}
	c.release()
	go c.f.handOff(c.conn, pending)
}

// end closes the connection.
func (c *httpClient) end() {
	c.leave()
	c.release()
	_ = c.conn.Close()
	c.f.wg.Done()
}

// leave takes the connection off its loop and out of the sweep.
func (c *httpClient) leave() {
	c.mu.Lock()
	c.busy = true // nothing more is read here
	c.lp.loop.Remove(c.sock.Raw(), c.token)
	c.mu.Unlock()
	c.deadline.Store(0)
	c.f.forget(c)
}

// release gives back the connection slot of the request being served and the read buffer.
func (c *httpClient) release() {
	if c.c != nil {
		c.c.limits.ReleaseConn()
		c.c = nil
	}
	if c.buf != nil {
		loopBuffers.Put(c.buf)
		c.buf = nil
	}
}

// expire ends a connection whose deadline passed, or an idle one at shutdown: shutting its
// reading side down makes the loop see the end.
func (c *httpClient) expire() { _ = c.conn.CloseRead() }

// isBusy reports whether a request is being answered (or the connection is ending).
func (c *httpClient) isBusy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}
