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
// traffic) are answered by a lean HTTP/1.1 loop: no per-request goroutine, header map or
// background read, and pipelined requests share one write. The first request it does not
// take on (a WebSocket upgrade, GET /healthz, chunked bodies, Expect, a query string, bad
// syntax) hands the connection, unread bytes included, to net/http for good.
type frontEnd struct {
	g        *Gateway
	tls      *tls.Config // nil: plain TCP
	fallback *http.Server
	handoff  *connListener

	mu     sync.Mutex
	conns  map[net.Conn]bool // true while a request is being served
	closed bool
	wg     sync.WaitGroup
}

const (
	idleTimeout       = 120 * time.Second
	readHeaderTimeout = 10 * time.Second
	maxHeadBytes      = 8 << 10
	// maxDiscard is the most of an oversized body read and dropped to keep the connection.
	maxDiscard = 256 << 10
)

func newFrontEnd(g *Gateway, tlsConf *tls.Config, addr net.Addr) *frontEnd {
	return &frontEnd{g: g, tls: tlsConf, conns: map[net.Conn]bool{},
		handoff: &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})},
		fallback: &http.Server{Handler: g.Handler(), ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout,
			ErrorLog: g.errorLog()}}
}

// serve accepts connections until ln is closed.
func (f *frontEnd) serve(ctx context.Context, ln net.Listener) error {
	go func() { _ = f.fallback.Serve(f.handoff) }()
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
		go f.serveConn(ctx, c)
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
		if !busy {
			_ = c.SetReadDeadline(time.Now()) // wakes the loop, which then sees closed
		}
	}
	f.mu.Unlock()
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

func (f *frontEnd) serveConn(ctx context.Context, raw net.Conn) {
	defer f.wg.Done()
	handedOff := false
	defer func() {
		f.mu.Lock()
		delete(f.conns, raw)
		f.mu.Unlock()
		if !handedOff {
			_ = raw.Close()
		}
	}()
	c := raw
	if f.tls != nil {
		tc := tls.Server(c, f.tls)
		_ = raw.SetDeadline(time.Now().Add(readHeaderTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			return
		}
		_ = raw.SetDeadline(time.Time{})
		c = tc
	}
	br := bufio.NewReaderSize(c, maxHeadBytes)
	bw := bufio.NewWriterSize(c, 4<<10)
	ip := hostOf(c.RemoteAddr().String())
	// Requests outlive a shutdown's cancel, as with net/http; calls have their own timeout.
	ctx = context.WithoutCancel(ctx)
	var body []byte
	for {
		head, n, err := readHead(c, br)
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
		body, keep = f.serveRequest(ctx, c, h, public, ip, br, bw, body)
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
func readHead(c net.Conn, br *bufio.Reader) ([]byte, int, error) {
	if br.Buffered() == 0 {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
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
			_ = c.SetReadDeadline(time.Now().Add(readHeaderTimeout))
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
func (f *frontEnd) serveRequest(ctx context.Context, conn net.Conn, h reqHead, public *config.PublicRoute, ip string,
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
		_ = conn.SetReadDeadline(time.Now().Add(idleTimeout))
	}
	if _, err := io.ReadFull(br, body); err != nil {
		return body, false
	}
	status, out := g.answerHTTP(ctx, c, body)
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

// writeResponse buffers a response; the caller flushes. A nil body is answered with no
// content.
func writeResponse(bw *bufio.Writer, status int, body []byte, close bool) bool {
	_, _ = bw.WriteString("HTTP/1.1 ")
	_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(status), 10))
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(http.StatusText(status))
	if body != nil {
		_, _ = bw.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
		_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(body)), 10))
	}
	if close {
		_, _ = bw.WriteString("\r\nConnection: close")
	}
	_, _ = bw.WriteString("\r\n\r\n")
	_, err := bw.Write(body)
	return err == nil
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
