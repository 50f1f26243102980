package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
)

// frontEnd serves the gateway's port. A connection's plain JSON-RPC POSTs (the bulk of HTTP
// traffic) are answered by a lean HTTP/1.1 path: on plain TCP an event loop reads them (see
// httpClient); otherwise, and for pipelined requests, a goroutine per connection does, with no
// header map or background read, and pipelined requests share one write. The first request
// the lean path does not take on (a WebSocket upgrade, GET /healthz, chunked bodies, Expect,
// a query string, bad syntax) hands the connection, unread bytes included, to net/http for
// good.
type frontEnd struct {
	g        *Gateway
	tls      *tls.Config // nil: plain TCP
	fallback *http.Server
	handoff  *connListener
	ctx      context.Context // requests outlive a shutdown's cancel, as with net/http
	stop     chan struct{}

	mu          sync.Mutex
	conns       map[net.Conn]bool // true while a request is being served
	loopClients map[*httpClient]struct{}
	closed      bool
	wg          sync.WaitGroup
}

// clientTimeouts bound how long a client's connection may sit idle between requests, how
// long a client may take to send a request's head, and how long a write to a client (or to a
// session's own upstream connection) may wait for the peer to take it.
type clientTimeouts struct{ idle, header, write time.Duration }

var defaultClientTimeouts = clientTimeouts{idle: 120 * time.Second, header: 10 * time.Second, write: 10 * time.Second}

// writeWithin writes b to conn, giving up after timeout. The deadline is cleared afterwards:
// it stays on the socket otherwise, and the socket's later non-blocking writes (sockio's
// WriteNow, which the runtime checks against it) would all fail once it passed.
func writeWithin(conn net.Conn, b []byte, timeout time.Duration) error {
	_ = conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := conn.Write(b)
	_ = conn.SetWriteDeadline(time.Time{})
	return err
}

const (
	maxHeadBytes = 8 << 10
	// maxDiscard is the most of an oversized body read and dropped to keep the connection.
	maxDiscard = 256 << 10
)

func newFrontEnd(g *Gateway, tlsConf *tls.Config, addr net.Addr) *frontEnd {
	return &frontEnd{g: g, tls: tlsConf, conns: map[net.Conn]bool{}, loopClients: map[*httpClient]struct{}{},
		stop:    make(chan struct{}),
		handoff: &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})},
		fallback: &http.Server{Handler: g.Handler(), ReadHeaderTimeout: g.timeouts.header, IdleTimeout: g.timeouts.idle,
			ErrorLog: g.errorLog()}}
}

// serve accepts connections until ln is closed.
func (f *frontEnd) serve(ctx context.Context, ln net.Listener) error {
	f.ctx = context.WithoutCancel(ctx)
	go func() { _ = f.fallback.Serve(f.handoff) }()
	go f.sweep()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond) // out of file descriptors: back off
				continue
			}
			return err
		}
		if !f.track(c) {
			_ = c.Close()
			continue
		}
		f.wg.Add(1)
		if !f.watch(c) {
			go f.serveConn(c, nil)
		}
	}
}

// sweep ends the event loops' connections whose deadline has passed (idle, or slow to send a
// request), checking once a second (more often with short timeouts), until shutdown.
func (f *frontEnd) sweep() {
	tick := time.NewTicker(min(time.Second, f.g.timeouts.header/4))
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case now := <-tick.C:
			f.mu.Lock()
			for c := range f.loopClients {
				if d := c.deadline.Load(); d != 0 && d < now.UnixNano() {
					c.expire()
				}
			}
			f.mu.Unlock()
		}
	}
}

func (f *frontEnd) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = false
	return true
}

// untrack forgets a connection that is closed, or served by net/http from now on.
func (f *frontEnd) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	f.wg.Done()
}

// setBusy marks a connection as serving a request; false means the server is shutting down.
func (f *frontEnd) setBusy(c net.Conn, busy bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns[c] = busy
	return !f.closed
}

// shutdown stops taking requests, closes idle connections at once and waits (until ctx ends)
// for the busy ones to finish their request; connections handed to net/http shut down there.
func (f *frontEnd) shutdown(ctx context.Context) {
	f.mu.Lock()
	f.closed = true
	for c, busy := range f.conns {
		if !busy { // wake the connection's reader, which then sees closed
			_ = c.SetReadDeadline(time.Now())
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.CloseRead() // an event loop's reader
			}
		}
	}
	f.mu.Unlock()
	close(f.stop)
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		f.mu.Lock()
		for c := range f.conns {
			_ = c.Close()
		}
		f.mu.Unlock()
	}
	f.handoff.close()
	_ = f.fallback.Shutdown(ctx)
}

// serveConn serves a connection from a goroutine of its own; pending holds bytes an event
// loop already read from it.
func (f *frontEnd) serveConn(raw net.Conn, pending []byte) {
	handedOff := false
	defer func() {
		if !handedOff {
			_ = raw.Close()
		}
		f.untrack(raw)
	}()
	c := raw
	if f.tls != nil {
		tc := tls.Server(c, f.tls)
		_ = raw.SetDeadline(time.Now().Add(f.g.timeouts.header))
		if err := tc.HandshakeContext(f.ctx); err != nil {
			return
		}
		_ = raw.SetDeadline(time.Time{})
		c = tc
	}
	var src io.Reader = c
	if len(pending) > 0 {
		src = io.MultiReader(bytes.NewReader(pending), c)
	}
	br := bufio.NewReaderSize(src, maxHeadBytes)
	bw := bufio.NewWriterSize(c, 4<<10)
	ip := hostOf(c.RemoteAddr().String())
	var body []byte
	for {
		head, n, err := f.readHead(c, br)
		if err != nil {
			return
		}
		var h reqHead
		var public *config.PublicRoute
		ok := n > 0
		if ok {
			h, ok = parseHead(head)
		}
		if ok {
			public, ok = f.route(h.path)
		}
		if !ok {
			if bw.Flush() == nil {
				handedOff = f.handoff.give(&bufferedConn{Conn: c, r: br})
			}
			return
		}
		_, _ = br.Discard(n)
		if !f.setBusy(raw, true) {
			return
		}
		var keep bool
		body, keep = f.serveRequest(c, h, public, ip, br, bw, body)
		if !keep || !f.setBusy(raw, false) {
			if bw.Flush() == nil && !keep {
				lingerClose(c)
			}
			return
		}
		if br.Buffered() == 0 && bw.Flush() != nil { // pipelined requests share one write
			return
		}
	}
}

// lingerClose closes the sending side first and reads for a moment, so a client still
// sending a body we did not read gets our answer rather than a reset.
func lingerClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 4*maxDiscard))
	}
}

// readHead waits for a whole request head in br and returns it (not consumed) and its length.
func (f *frontEnd) readHead(c net.Conn, br *bufio.Reader) ([]byte, int, error) {
	if br.Buffered() == 0 {
		_ = c.SetReadDeadline(time.Now().Add(f.g.timeouts.idle))
		if _, err := br.Peek(1); err != nil {
			return nil, 0, err
		}
	}
	for deadline := false; ; deadline = true {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return buf[:i+4], i + 4, nil
		}
		if br.Buffered() == br.Size() { // too long for the fast path: net/http decides
			return buf, 0, nil
		}
		if !deadline {
			_ = c.SetReadDeadline(time.Now().Add(f.g.timeouts.header))
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return nil, 0, err
		}
	}
}

// route maps a request path to the main route (nil) or a public one; false if neither.
func (f *frontEnd) route(path []byte) (*config.PublicRoute, bool) {
	if string(path) == "/" {
		return nil, true
	}
	for i := range f.g.cfg.Public {
		if p := &f.g.cfg.Public[i]; string(path) == p.Path {
			return p, true
		}
	}
	return nil, false
}

// serveRequest answers one POST whose head has been read, and reports whether the connection
// may serve another. body is a buffer to reuse, returned for the next request.
func (f *frontEnd) serveRequest(conn net.Conn, h reqHead, public *config.PublicRoute, ip string,
	br *bufio.Reader, bw *bufio.Writer, body []byte) ([]byte, bool) {
	g := f.g
	c, status, e := g.connect(h.credential(), ip, public)
	if c == nil {
		keep := !h.close && discard(br, h.contentLength)
		return body, writeResponse(bw, status, appendError(nil, nullID, e), !keep) && keep
	}
	defer c.limits.ReleaseConn()
	if max := g.cfg.Limits.MaxRequestBytes; h.contentLength > max {
		g.metrics.reject("too_large")
		keep := !h.close && discard(br, h.contentLength)
		return body, writeResponse(bw, http.StatusRequestEntityTooLarge, appendError(nil, nullID, errTooLarge(max)), !keep) && keep
	}
	body = slicesGrow(body[:0], int(h.contentLength))
	if int64(br.Buffered()) < h.contentLength {
		_ = conn.SetReadDeadline(time.Now().Add(f.g.timeouts.idle))
	}
	if _, err := io.ReadFull(br, body); err != nil {
		return body, false
	}
	status, out := g.answerHTTP(f.ctx, c, body)
	return body, writeResponse(bw, status, out, h.close) && !h.close
}

// discard drops a body the gateway will not read, if it is small enough to be worth keeping
// the connection for.
func discard(br *bufio.Reader, n int64) bool {
	if n > maxDiscard {
		return false
	}
	_, err := br.Discard(int(n))
	return err == nil
}

func slicesGrow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// writeResponse buffers a response; the caller flushes.
func writeResponse(bw *bufio.Writer, status int, body []byte, close bool) bool {
	_, err := bw.Write(appendResponse(bw.AvailableBuffer(), status, body, close))
	return err == nil
}

// appendResponse appends an HTTP/1.1 response. A nil body is answered with no content.
func appendResponse(dst []byte, status int, body []byte, close bool) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(status)...)
	if body != nil {
		dst = append(dst, "\r\nContent-Type: application/json\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
	}
	if close {
		dst = append(dst, "\r\nConnection: close"...)
	}
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

// bufferedConn is a connection handed to net/http with the bytes already read in front.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// connListener feeds handed-off connections to net/http's server.
type connListener struct {
	addr net.Addr
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

// give hands c over; false if the listener is closed.
func (l *connListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) close()         { l.once.Do(func() { close(l.done) }) }
func (l *connListener) Close() error   { l.close(); return nil }
func (l *connListener) Addr() net.Addr { return l.addr }
