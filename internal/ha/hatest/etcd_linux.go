// Package hatest starts a real etcd (v3.6.16, from KUBEBUILDER_ASSETS) for the lease tests,
// on loopback ports of its own, and stops and restarts it for the store-down cases.
package hatest

import (
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
}

// StartEtcd starts etcd for the test and stops it when the test ends.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	assets := testenv.Value(t, "KUBEBUILDER_ASSETS", "run `eval \"$(scripts/tools.sh env)\"`")
	ports := testenv.FreePorts(t, 2)
	e := &Etcd{t: t, bin: filepath.Join(assets, "etcd"), dir: t.TempDir(), client: ports[0], peer: ports[1]}
	e.Start()
	t.Cleanup(e.Stop)
	return e
}

// Endpoint is the client URL.
func (e *Etcd) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", e.client) }

// Start starts etcd and waits until its client port accepts connections.
func (e *Etcd) Start() {
	e.t.Helper()
	peer := fmt.Sprintf("http://127.0.0.1:%d", e.peer)
	e.cmd = exec.Command(e.bin, "--data-dir", filepath.Join(e.dir, "data"), "--name", "ha",
		"--listen-client-urls", e.Endpoint(), "--advertise-client-urls", e.Endpoint(),
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "ha="+peer, "--log-level", "error")
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
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(e.client), 200*time.Millisecond); err == nil {
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
