package local

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/dinfra/stack/internal/flavor"
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
