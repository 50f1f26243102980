package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
)

// fastServer is the gateway's fast path (see server): every plain-TCP connection joins an
// event loop, which answers its plain JSON-RPC POSTs (httpClient, httploop.go). The first
// request the loop does not take on (a WebSocket upgrade, GET /healthz, chunked bodies,
// Expect, a query string, bad syntax, a request over 16 KiB, a pipelined one) hands the
// connection, unread bytes included, to net/http for good: the reference server's handler,
// except that WebSocket sessions it opens are read by the event loops too (wsloop.go).
type fastServer struct {
	g        *Gateway
	fallback *http.Server
	handoff  *connListener
	ctx      context.Context // requests outlive a shutdown's cancel, as with net/http
	stop     chan struct{}

	mu      sync.Mutex
	clients map[*httpClient]struct{} // the connections the loops serve
	closed  bool
	wg      sync.WaitGroup // a connection is counted until it is closed or handed over
}

func newFastServer(g *Gateway, addr net.Addr) *fastServer {
	return &fastServer{g: g, clients: map[*httpClient]struct{}{}, stop: make(chan struct{}),
		handoff:  &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})},
		fallback: g.httpServer(g.handler(&g.loops))}
}

// serve accepts connections until ln is closed.
func (f *fastServer) serve(ctx context.Context, ln net.Listener) error {
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
		if !f.track() {
			_ = c.Close()
			continue
		}
		if !f.watch(c) {
			go f.handOff(c, nil)
		}
	}
}

// track counts a new connection; false once the server is shutting down.
func (f *fastServer) track() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.wg.Add(1)
	return true
}

// handOff gives a connection, with the bytes already read from it, to net/http for good.
func (f *fastServer) handOff(c net.Conn, pending []byte) {
	defer f.wg.Done()
	if !f.handoff.give(&pendingConn{Conn: c, pending: pending}) {
		_ = c.Close()
	}
}

// closing reports whether the server is shutting down.
func (f *fastServer) closing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// sweep ends the event loops' connections whose deadline has passed (idle, or slow to send a
// request), checking once a second (more often with short timeouts), until shutdown.
func (f *fastServer) sweep() {
	tick := time.NewTicker(min(time.Second, f.g.timeouts.header/4))
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case now := <-tick.C:
			f.mu.Lock()
			for c := range f.clients {
				if d := c.deadline.Load(); d != 0 && d < now.UnixNano() {
					c.expire()
				}
			}
			f.mu.Unlock()
		}
	}
}

// shutdown stops taking requests, closes idle connections at once and waits (until ctx ends)
// for the busy ones to finish their request; connections handed to net/http shut down there.
func (f *fastServer) shutdown(ctx context.Context) {
	f.mu.Lock()
	f.closed = true
	for c := range f.clients {
		if !c.isBusy() {
			c.expire() // its loop sees the end; a busy one ends after its answer
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
		for c := range f.clients {
			_ = c.conn.Close()
		}
		f.mu.Unlock()
	}
	f.handoff.close()
	_ = f.fallback.Shutdown(ctx)
}

// route maps a request path to the main route (nil) or a public one; false if neither.
func (f *fastServer) route(path []byte) (*config.PublicRoute, bool) {
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

// pendingConn is a connection handed to net/http with the bytes already read in front.
type pendingConn struct {
	net.Conn
	pending []byte
}

func (c *pendingConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

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
