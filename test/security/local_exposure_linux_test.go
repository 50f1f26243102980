package security

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/testenv"
)

func (c *onfCLI) status(name string) local.NetworkStatus {
	c.t.Helper()
	var st local.NetworkStatus
	if err := json.Unmarshal([]byte(c.must("status", name, "-o", "json")), &st); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// ports reads the ports allocated to each node of a network (facts.json in its state directory).
func (c *onfCLI) ports(name string) map[string]flavor.Ports {
	c.t.Helper()
	var facts local.Facts
	data, err := os.ReadFile(filepath.Join(c.home, "networks", name, "facts.json"))
	if err == nil {
		err = json.Unmarshal(data, &facts)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return facts.Ports
}

// exposureSpec writes a gossamer network: a validator (unsafe RPC), a boot node (with a public
// address, if one is given: its P2P then listens on every interface), an RPC node, and a
// gateway in front of the RPC group listening on gatewayAddr. It returns the spec path and the
// gateway's API key.
func exposureSpec(t *testing.T, name, publicHost, gatewayAddr string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	bootP2P := ""
	if publicHost != "" {
		bootP2P = "\n      p2p:\n        publicHost: " + publicHost
	}
	key := "onf_exposure-test-key-0123456789abcdefghijklmnop"
	files := map[string]string{
		"keys.yaml":    fmt.Sprintf("keys:\n  - id: test\n    sha256: %x\n", sha256.Sum256([]byte(key))),
		"gateway.yaml": fmt.Sprintf("listen: %s\nauth:\n  apiKeys:\n    file: %s\n", gatewayAddr, filepath.Join(dir, "keys.yaml")),
		"spec.yaml": fmt.Sprintf(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata:
  name: %s
spec:
  chain:
    builtin: westend-dev
  node:
    flavor: gossamer
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
    - name: boot
      role: bootnode%s
    - name: rpc
      role: rpc
  gateway:
    group: rpc
    config: %s
`, name, bootP2P, filepath.Join(dir, "gateway.yaml")),
	}
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "spec.yaml"), key
}

// exposureNamespace is a network namespace joined to this one by a veth pair: host is the
// address of the host end, which the namespace reaches.
type exposureNamespace struct {
	name string
	host net.IP
}

// newExposureNamespace makes the namespace and the veth pair (10.231.77.0/30: host .1,
// namespace .2) and removes them when the test ends. It needs root and iproute2.
func newExposureNamespace(t *testing.T) *exposureNamespace {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, to make a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Missing(t, "ip (iproute2), to make a network namespace")
	}
	id := os.Getpid() % 100000
	ns := &exposureNamespace{name: fmt.Sprintf("onf-exposure-%d", id), host: net.IPv4(10, 231, 77, 1)}
	hostEnd, nsEnd := fmt.Sprintf("oxh%d", id), fmt.Sprintf("oxn%d", id)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		// Deleting the namespace deletes its veth end, and with it the pair.
		_ = exec.Command("ip", "netns", "del", ns.name).Run()
		_ = exec.Command("ip", "link", "del", hostEnd).Run()
	})
	ip("netns", "add", ns.name)
	ip("link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd)
	ip("link", "set", nsEnd, "netns", ns.name)
	ip("addr", "add", "10.231.77.1/30", "dev", hostEnd)
	ip("link", "set", hostEnd, "up")
	ip("-n", ns.name, "addr", "add", "10.231.77.2/30", "dev", nsEnd)
	ip("-n", ns.name, "link", "set", nsEnd, "up")
	ip("-n", ns.name, "link", "set", "lo", "up")
	return ns
}

// answering dials every port on the host end from inside the namespace and returns the ports
// that accept a TCP connection.
func (ns *exposureNamespace) answering(t *testing.T, ports []int) []int {
	t.Helper()
	type result struct {
		open []int
		err  error
	}
	done := make(chan result)
	go func() {
		// This thread enters the namespace and is never given back to the scheduler
		// (the goroutine ends locked, so the runtime discards the thread).
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/var/run/netns", ns.name))
		if err == nil {
			defer f.Close()
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		}
		if err != nil {
			done <- result{err: err}
			return
		}
		var open []int
		for _, p := range ports {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(ns.host.String(), fmt.Sprint(p)), 2*time.Second)
			if err == nil {
				c.Close()
				open = append(open, p)
			}
		}
		done <- result{open: open}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("enter namespace %s: %v", ns.name, r.err)
	}
	return r.open
}

// exposureListeners maps every TCP port the given processes listen on to the addresses they
// listen on there, from /proc/net/tcp{,6} and the processes' socket descriptors.
func exposureListeners(t *testing.T, pids []int) map[int][]net.IP {
	t.Helper()
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Fatal(err)
	}
	owned := map[string]bool{} // "socket:[inode]"
	for _, pid := range pids {
		proc, err := fs.Proc(pid)
		if err != nil {
			t.Fatal(err)
		}
		targets, err := proc.FileDescriptorTargets()
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets {
			owned[target] = true
		}
	}
	const listen = 0x0A // TCP_LISTEN
	out := map[int][]net.IP{}
	for _, read := range []func() (procfs.NetTCP, error){fs.NetTCP, fs.NetTCP6} {
		lines, err := read()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if l.St == listen && owned[fmt.Sprintf("socket:[%d]", l.Inode)] {
				out[int(l.LocalPort)] = append(out[int(l.LocalPort)], l.LocalAddr)
			}
		}
	}
	return out
}

// From another network namespace, a running local network shows nothing but the P2P port of
// the node with a public address and the gateway: no other socket of any node answers, RPC,
// WebSocket and metrics included, although gossamer itself binds those to every interface.
func TestLocalExposureFromAnotherNamespace(t *testing.T) {
	ns := newExposureNamespace(t)
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	c := newOnfCLI(t)
	gw, err := net.Listen("tcp", net.JoinHostPort(ns.host.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	gatewayAddr := gw.Addr().String()
	gw.Close()
	spec, _ := exposureSpec(t, "exposure", ns.host.String(), gatewayAddr)
	t.Cleanup(func() { c.run(time.Minute, "down", "exposure", "--purge") })
	c.must("up", "-f", spec, "--binary", gossamer, "--until-block", "0", "--timeout", "3m")

	var pids []int
	for _, n := range c.status("exposure").Nodes {
		pids = append(pids, n.PID)
	}
	// The real gossamer processes' listening sockets, as the kernel lists them.
	listeners := exposureListeners(t, pids)
	want := []int{gw.Addr().(*net.TCPAddr).Port}
	for node, p := range c.ports("exposure") {
		if strings.HasPrefix(node, "boot-") {
			want = append(want, p.P2P)
		}
		for what, port := range map[string]int{"p2p": p.P2P, "rpc": p.RPC, "ws": p.WS, "metrics": p.Prometheus} {
			if len(listeners[port]) == 0 {
				t.Errorf("%s: nothing listens on its %s port %d", node, what, port)
			}
		}
	}
	all := []int{want[0]}
	for port, addrs := range listeners {
		all = append(all, port)
		for _, a := range addrs {
			if !a.IsLoopback() && !slices.Contains(want, port) {
				t.Errorf("a node listens on %s port %d, not on loopback", a, port)
			}
		}
	}
	got := ns.answering(t, all)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("from namespace %s, ports answering on %s: %v; want only the boot node's P2P and the gateway: %v (every port tried: %v)",
			ns.name, ns.host, got, want, all)
	}
}
