package hatest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/dinfra/stack/internal/testenv"
)

// Netns is a Linux network namespace the test created (`ip netns add`), removed with every
// interface in it when the test ends. Its processes reach only its own loopback and the
// namespaces it is linked to: nothing the test runs listens on a host interface.
type Netns struct {
	t    testing.TB
	Name string
}

// NewNetns creates a namespace named after the test's process and name, with loopback up.
// Without the right to create namespaces (not root) the test skips locally and fails in CI.
func NewNetns(t testing.TB, name string) *Netns {
	t.Helper()
	n := &Netns{t: t, Name: fmt.Sprintf("onf-%d-%s", os.Getpid(), name)}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		testenv.Missing(t, fmt.Sprintf("network namespaces: `ip netns add` failed (root and iproute2 needed): %v: %s", err, out))
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.Name).Run() })
	n.IP("link", "set", "lo", "up")
	return n
}

// Cmd is argv run inside the namespace.
func (n *Netns) Cmd(argv ...string) []string {
	return append([]string{"ip", "netns", "exec", n.Name}, argv...)
}

// IP runs `ip -n <namespace> args...` and fails the test if it fails.
func (n *Netns) IP(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", n.Name}, args...)...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, out)
	}
}

// Dial connects from inside the namespace: the socket is made on a thread that has entered
// it, and stays in it after the thread goes back.
func (n *Netns) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		back, err := enter("/var/run/netns/" + n.Name)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if back() == nil {
			// Only a thread back in the host namespace may run other goroutines; one that
			// could not return dies with this goroutine.
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// enter moves the calling (locked) thread into the namespace at path; back returns it.
func enter(path string) (back func() error, err error) {
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, err
	}
	target, err := os.Open(path)
	if err != nil {
		self.Close()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		self.Close()
		return nil, fmt.Errorf("setns %s: %w", path, err)
	}
	return func() error {
		defer self.Close()
		return unix.Setns(int(self.Fd()), unix.CLONE_NEWNET)
	}, nil
}

// Star links namespaces to a bridge in hub, one veth pair each: leg i gets address
// 10.213.0.<i+1>/24 inside its namespace, the hub 10.213.0.254. Cut and Restore take one
// leg's bridge port down and up, which partitions that namespace from all the others.
type Star struct {
	hub  *Netns
	legs []*Netns
}

// NewStar builds the star; addresses are private to these namespaces.
func NewStar(hub *Netns, legs ...*Netns) *Star {
	hub.IP("link", "add", "br0", "type", "bridge")
	hub.IP("addr", "add", "10.213.0.254/24", "dev", "br0")
	hub.IP("link", "set", "br0", "up")
	for i, l := range legs {
		port := fmt.Sprintf("leg%d", i)
		hub.IP("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", l.Name)
		hub.IP("link", "set", port, "master", "br0", "up")
		l.IP("addr", "add", fmt.Sprintf("%s/24", StarIP(i)), "dev", "eth0")
		l.IP("link", "set", "eth0", "up")
	}
	return &Star{hub: hub, legs: legs}
}

// StarIP is leg i's address.
func StarIP(i int) string { return fmt.Sprintf("10.213.0.%d", i+1) }

// HubIP is the hub's address on the bridge.
const HubIP = "10.213.0.254"

// Cut partitions leg i from the hub and every other leg.
func (s *Star) Cut(i int) { s.hub.IP("link", "set", fmt.Sprintf("leg%d", i), "down") }

// Restore joins leg i again.
func (s *Star) Restore(i int) { s.hub.IP("link", "set", fmt.Sprintf("leg%d", i), "up") }
