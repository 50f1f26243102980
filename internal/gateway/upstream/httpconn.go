package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// HTTPPoster posts JSON-RPC bodies to one node over persistent HTTP/1.1 connections. It is a
// deliberately small client: one request at a time per connection, no redirects, no proxies,
// no goroutines per connection, which makes a proxied call several times cheaper than
// net/http's Transport (see docs/BENCHMARKS.md).
type HTTPPoster struct {
	addr     string // host:port to dial
	host     string // Host header
	path     string
	tls      *tls.Config
	maxIdle  int
	maxBody  int64
	dialer   net.Dialer
	mu       sync.Mutex
	idle     []*httpConn
	reqStart []byte // request line and fixed headers up to Content-Length's value
}

type httpConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// NewHTTPPoster prepares a poster for an http:// or https:// URL.
func NewHTTPPoster(rawURL string, maxIdle int, maxBody int64) (*HTTPPoster, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	p := &HTTPPoster{host: u.Host, path: u.RequestURI(), maxIdle: maxIdle, maxBody: maxBody,
		dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		p.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("upstream URL %q: scheme must be http or https", rawURL)
	}
	p.addr = net.JoinHostPort(u.Hostname(), port)
	p.reqStart = []byte("POST " + p.path + " HTTP/1.1\r\nHost: " + p.host +
		"\r\nUser-Agent: onf-gateway\r\nContent-Type: application/json\r\nContent-Length: ")
	return p, nil
}

// Post sends body and returns the response body and status. A request on a reused connection
// that the node had already closed (no answer byte read) is retried once on a new connection.
func (p *HTTPPoster) Post(ctx context.Context, body []byte) ([]byte, int, error) {
	pc, reused, err := p.get(ctx)
	if err != nil {
		return nil, 0, err
	}
	out, status, err := p.roundTrip(ctx, pc, body)
	if err != nil && reused && errors.Is(err, errStaleConn) && ctx.Err() == nil {
		if pc, err = p.dial(ctx); err != nil {
			return nil, 0, err
		}
		out, status, err = p.roundTrip(ctx, pc, body)
	}
	return out, status, err
}

var errStaleConn = errors.New("connection closed by the node before answering")

// callTimeout bounds a call whose context has no deadline.
const callTimeout = 60 * time.Second

func (p *HTTPPoster) roundTrip(ctx context.Context, pc *httpConn, body []byte) ([]byte, int, error) {
	// A deadline, not a context watcher: watching every call's context costs more than the
	// call itself, and a call whose client went away ends at the deadline.
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(callTimeout)
	}
	_ = pc.c.SetDeadline(d)

	bw := pc.bw
	_, _ = bw.Write(p.reqStart)
	_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(body)), 10))
	_, _ = bw.WriteString("\r\n\r\n")
	_, _ = bw.Write(body)
	if err := bw.Flush(); err != nil {
		_ = pc.c.Close()
		return nil, 0, fmt.Errorf("%w: %v", errStaleConn, err)
	}
	if _, err := pc.br.Peek(1); err != nil {
		_ = pc.c.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return nil, 0, fmt.Errorf("%w: %v", errStaleConn, err)
		}
		return nil, 0, err
	}
	resp, err := http.ReadResponse(pc.br, nil)
	if err != nil {
		_ = pc.c.Close()
		return nil, 0, fmt.Errorf("read answer: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(resp.Body, p.maxBody+1))
	_ = resp.Body.Close()
	if err != nil || int64(len(out)) > p.maxBody {
		_ = pc.c.Close()
		if err == nil {
			err = fmt.Errorf("answer larger than %d bytes", p.maxBody)
		}
		return nil, 0, err
	}
	if resp.Close {
		_ = pc.c.Close()
	} else {
		p.put(pc)
	}
	return out, resp.StatusCode, nil
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (p *HTTPPoster) get(ctx context.Context) (*httpConn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		pc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return pc, true, nil
	}
	p.mu.Unlock()
	pc, err := p.dial(ctx)
	return pc, false, err
}

func (p *HTTPPoster) dial(ctx context.Context) (*httpConn, error) {
	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if p.tls != nil {
		tc := tls.Client(c, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, err
		}
		c = tc
	}
	return &httpConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 8<<10)}, nil
}

func (p *HTTPPoster) put(pc *httpConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.maxIdle {
		_ = pc.c.Close()
		return
	}
	p.idle = append(p.idle, pc)
}

// Close closes the idle connections.
func (p *HTTPPoster) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.idle {
		_ = pc.c.Close()
	}
	p.idle = nil
}
