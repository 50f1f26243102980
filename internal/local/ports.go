package local

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
)

// portRegistry records every port handed to any local network under a home, so two networks
// on one machine never get the same port even while one of them is stopped.
type portRegistry struct {
	Networks map[string][]int `json:"networks"`
}

// withPortLock runs fn holding an exclusive lock on the home's port registry.
func withPortLock(home string, fn func(reg *portRegistry) error) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(home, "ports.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock port registry: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	file := filepath.Join(home, "ports.json")
	reg := portRegistry{Networks: map[string][]int{}}
	if _, err := readJSON(file, &reg); err != nil {
		return err
	}
	if reg.Networks == nil {
		reg.Networks = map[string][]int{}
	}
	if err := fn(&reg); err != nil {
		return err
	}
	return writeJSON(file, reg, 0o600)
}

// allocatePorts gives every node in want that has no ports yet a full set of free ports,
// registered to the network. Ports already in facts are kept: a node's addresses never change.
func allocatePorts(home, network string, facts *Facts, want []string) error {
	return withPortLock(home, func(reg *portRegistry) error {
		taken := map[int]bool{}
		for _, ports := range reg.Networks {
			for _, p := range ports {
				taken[p] = true
			}
		}
		for _, node := range want {
			if _, ok := facts.Ports[node]; ok {
				continue
			}
			var ps [6]int
			for i := range ps {
				p, err := freePort(taken)
				if err != nil {
					return err
				}
				taken[p] = true
				ps[i] = p
			}
			facts.Ports[node] = flavor.Ports{P2P: ps[0], RPC: ps[1], WS: ps[2], Prometheus: ps[3], RelayP2P: ps[4], RelayRPC: ps[5]}
			reg.Networks[network] = append(reg.Networks[network], ps[:]...)
		}
		return nil
	})
}

// releasePorts forgets a network's ports (after `onf down --purge`).
func releasePorts(home, network string) error {
	return withPortLock(home, func(reg *portRegistry) error {
		delete(reg.Networks, network)
		return nil
	})
}

// freePort asks the kernel for a free loopback port not handed out before.
func freePort(taken map[int]bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !taken[p] {
			return p, nil
		}
	}
	return 0, fmt.Errorf("find a free port: every port offered is already registered")
}

// reservation holds a node's ports while the node does not: listening sockets the supervisor
// opens when it plans the node. The node's RPC, WebSocket and metrics sockets are handed to
// the node when it binds those ports (see bindguard.go), so no other process can take them
// between the check and the node's bind; P2P ports are closed just before the node starts
// (libp2p sets its own socket options on them). A port that cannot be reserved is a conflict.
type reservation struct {
	mu  sync.Mutex
	fds map[int]int // port -> listening socket
}

// namedPort is one port of a node, named for conflict messages.
type namedPort struct {
	port int
	name string
	p2p  bool
}

// portNames lists a node's ports.
func portNames(p flavor.Ports) []namedPort {
	return []namedPort{
		{p.P2P, "p2p", true}, {p.RelayP2P, "relay p2p", true},
		{p.RPC, "rpc", false}, {p.WS, "ws", false}, {p.Prometheus, "metrics", false}, {p.RelayRPC, "relay rpc", false},
	}
}

// reserve opens a listening socket on every port of the node it does not hold yet: on
// loopback, or on every interface for the node's public ports. It keeps what it got and
// reports the first port another process holds.
func (r *reservation) reserve(np network.NodePlan) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fds == nil {
		r.fds = map[int]int{}
	}
	var conflict error
	for _, p := range portNames(np.Ports) {
		if _, held := r.fds[p.port]; held || p.port == 0 {
			continue
		}
		fd, err := listenTCP4(p.port, !slices.Contains(np.PublicPorts, p.port))
		if err != nil {
			if conflict == nil {
				conflict = fmt.Errorf("port %d (%s) is held by another process: %w", p.port, p.name, err)
			}
			continue
		}
		r.fds[p.port] = fd
	}
	return conflict
}

// releaseP2P closes the reserved P2P sockets, for the node to bind them itself.
func (r *reservation) releaseP2P(ports flavor.Ports) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range portNames(ports) {
		if fd, held := r.fds[p.port]; held && p.p2p {
			unix.Close(fd)
			delete(r.fds, p.port)
		}
	}
}

// take hands over the reserved socket of a port: the caller owns it from then on.
func (r *reservation) take(port int) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fd, ok := r.fds[port]
	delete(r.fds, port)
	return fd, ok
}

// close gives every reserved port back.
func (r *reservation) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for port, fd := range r.fds {
		unix.Close(fd)
		delete(r.fds, port)
	}
}

// listenTCP4 opens a listening TCP socket on a port of 127.0.0.1, or of every interface. It
// is a raw socket, not a net.Listener: it may end up in the node, outside Go's poller.
func listenTCP4(port int, loopback bool) (int, error) {
	fd, err := tcp4Socket()
	if err != nil {
		return -1, err
	}
	addr := &unix.SockaddrInet4{Port: port}
	if loopback {
		addr.Addr = [4]byte{127, 0, 0, 1}
	}
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err == nil {
		err = unix.Bind(fd, addr)
	}
	if err == nil {
		err = unix.Listen(fd, unix.SOMAXCONN)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
