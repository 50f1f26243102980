// Package hatest starts a real etcd (v3.6.16, from KUBEBUILDER_ASSETS) for the lease tests,
// on loopback ports of its own, and stops and restarts it for the store-down cases.
package hatest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// Etcd is a single-member etcd whose data outlives Stop, so a restart keeps its leases (and,
// as etcd does, gives them a fresh TTL).
type Etcd struct {
	t        testing.TB
	bin, dir string
	client   int
	peer     int
	cmd      *exec.Cmd
	done     chan struct{}
	// ns and host: etcd runs inside ns (nil: the host's) and serves clients on host.
	ns   *Netns
	host string
}

// StartEtcd starts etcd for the test and stops it when the test ends.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	assets := testenv.Value(t, "KUBEBUILDER_ASSETS", "run `eval \"$(scripts/tools.sh env)\"`")
	ports := testenv.FreePorts(t, 2)
	return startEtcd(t, &Etcd{t: t, bin: filepath.Join(assets, "etcd"), dir: t.TempDir(), client: ports[0], peer: ports[1], host: "127.0.0.1"})
}

// StartEtcdIn starts etcd inside ns, serving clients on host:2379 there (the partition case).
func StartEtcdIn(t testing.TB, ns *Netns, host string) *Etcd {
	t.Helper()
	assets := testenv.Value(t, "KUBEBUILDER_ASSETS", "run `eval \"$(scripts/tools.sh env)\"`")
	return startEtcd(t, &Etcd{t: t, bin: filepath.Join(assets, "etcd"), dir: t.TempDir(), client: 2379, peer: 2380, ns: ns, host: host})
}

func startEtcd(t testing.TB, e *Etcd) *Etcd {
	t.Helper()
	e.Start()
	t.Cleanup(e.Stop)
	return e
}

// Endpoint is the client URL.
func (e *Etcd) Endpoint() string { return fmt.Sprintf("http://%s:%d", e.host, e.client) }

// Start starts etcd and waits until its client port accepts connections.
func (e *Etcd) Start() {
	e.t.Helper()
	peer := fmt.Sprintf("http://127.0.0.1:%d", e.peer)
	argv := []string{e.bin, "--data-dir", filepath.Join(e.dir, "data"), "--name", "ha",
		"--listen-client-urls", e.Endpoint(), "--advertise-client-urls", e.Endpoint(),
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "ha=" + peer, "--log-level", "error"}
	dial := (&net.Dialer{}).DialContext
	if e.ns != nil {
		argv, dial = e.ns.Cmd(argv...), e.ns.Dial
	}
	e.cmd = exec.Command(argv[0], argv[1:]...)
	log, err := os.OpenFile(filepath.Join(e.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	defer log.Close()
	e.cmd.Stdout, e.cmd.Stderr = log, log
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(e.cmd, e.done)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		c, err := dial(ctx, "tcp", net.JoinHostPort(e.host, strconv.Itoa(e.client)))
		cancel()
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("etcd did not listen on %s (log in %s)", e.Endpoint(), e.dir)
}

// Stop kills etcd (SIGKILL: a crash, not a goodbye).
func (e *Etcd) Stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.done
	e.cmd = nil
}
