package machine

import (
	"errors"
	"io"
	"net"
	"sync"
)

// forwarder publishes a machine's sshd on the provider's address: it accepts on a port of
// PublishAddress and copies each connection to the machine's address on its podman
// network. The reactor does this itself because podman's port publishing does not reach
// machines on an --internal network (no NAT rules are made for it), and an internal network
// is what keeps machines from reaching anything else.
type forwarder struct {
	ln net.Listener

	mu     sync.Mutex
	target string // the machine's sshd, updated when it restarts with another address
	conns  map[net.Conn]struct{}
}

func listenForward(addr, target string) (*forwarder, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &forwarder{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go f.serve()
	return f, nil
}

func (f *forwarder) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *forwarder) setTarget(t string) { f.mu.Lock(); f.target = t; f.mu.Unlock() }

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		go f.pipe(c)
	}
}

func (f *forwarder) pipe(c net.Conn) {
	f.mu.Lock()
	target := f.target
	f.mu.Unlock()
	m, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	if !f.track(c, m) {
		return
	}
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(m, c)
	go cp(c, m)
	<-done
	<-done
	f.untrack(c, m)
}

// track registers a connection pair; false (and both closed) when the forwarder is closed.
func (f *forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *forwarder) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(f.conns, c)
	}
}

// close stops listening and cuts every open connection.
func (f *forwarder) close() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
}
