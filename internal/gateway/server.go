package gateway

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// server serves the gateway's port. There are two (docs/gateway.md, "Inside the gateway"):
//
//   - referenceServer: Go's net/http in front of Handler, with the gateway's own WebSocket
//     server side (ws.go) read by a goroutine per session. It serves every request there is,
//     and it is what every behaviour test also runs against.
//   - fastServer (fastserver.go): on Linux over plain TCP, the event loops read HTTP clients
//     (httploop.go) and WebSocket clients (wsloop.go); whatever a loop does not take on is
//     handed, with the bytes already read, to a referenceServer's net/http for good.
//
// Both answer through the same code (caller.go, http.go, ws.go); they differ only in how
// bytes are read from and written to clients.
type server interface {
	// serve accepts connections until ln is closed.
	serve(ctx context.Context, ln net.Listener) error
	// shutdown stops taking requests, closes idle connections and waits, until ctx ends, for
	// the requests being answered.
	shutdown(ctx context.Context)
}

// withReferenceServer serves every connection with the reference server (net/http), as the
// gateway does under TLS and where there are no event loops: the tests run every behaviour
// against both servers.
func withReferenceServer() Option { return func(g *Gateway) { g.reference = true } }

// newServer picks the server for a listener: the fast one where it can serve.
func (g *Gateway) newServer(tlsConf *tls.Config, addr net.Addr) server {
	if tlsConf == nil && !g.reference && g.loops.start(g) {
		return newFastServer(g, addr)
	}
	return &referenceServer{http: g.httpServer(g.handler(nil)), tls: tlsConf}
}

// referenceServer is net/http serving Handler (optionally under TLS).
type referenceServer struct {
	http *http.Server
	tls  *tls.Config
}

func (s *referenceServer) serve(_ context.Context, ln net.Listener) error {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls) // the handshake is bounded by ReadHeaderTimeout
	}
	return s.http.Serve(ln)
}

func (s *referenceServer) shutdown(ctx context.Context) { _ = s.http.Shutdown(ctx) }

// httpServer is net/http with the gateway's client timeouts.
func (g *Gateway) httpServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: g.timeouts.header, IdleTimeout: g.timeouts.idle, ErrorLog: g.errorLog()}
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
