// Package kubotest runs a real IPFS node (kubo, offline) for tests.
package kubotest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// Node is a running `ipfs daemon --offline`.
type Node struct {
	Bin     string // the ipfs binary
	Repo    string // IPFS_PATH
	APIURL  string // http://127.0.0.1:PORT
	cmdLogs *bytes.Buffer
}

// Start initialises a fresh repository and starts an offline daemon on free loopback
// ports; it is stopped when the test ends. The binary comes from KUBO_BIN.
func Start(t testing.TB) *Node {
	t.Helper()
	testenv.Short(t)
	n := &Node{Bin: testenv.Binary(t, "KUBO_BIN", "ipfs"), Repo: t.TempDir(), cmdLogs: &bytes.Buffer{}}
	// The test profile binds every listener to 127.0.0.1 port 0 and disables discovery.
	if out, err := n.Command("init", "--profile", "test").CombinedOutput(); err != nil {
		t.Fatalf("ipfs init: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	daemon := exec.CommandContext(ctx, n.Bin, "daemon", "--offline")
	daemon.Env = n.env()
	daemon.Stdout, daemon.Stderr = n.cmdLogs, n.cmdLogs
	daemon.Cancel = func() error { return daemon.Process.Signal(os.Interrupt) }
	daemon.WaitDelay = 10 * time.Second
	if err := daemon.Start(); err != nil {
		cancel()
		t.Fatalf("ipfs daemon: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = daemon.Wait()
	})
	n.APIURL = n.waitAPI(t)
	return n
}

// Command prepares an ipfs CLI call against this node's repository.
func (n *Node) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(n.Bin, args...)
	cmd.Env = n.env()
	return cmd
}

func (n *Node) env() []string {
	return append(os.Environ(), "IPFS_PATH="+n.Repo)
}

// waitAPI waits for the daemon to publish its API address and answer on it.
func (n *Node) waitAPI(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if addr, err := os.ReadFile(filepath.Join(n.Repo, "api")); err == nil {
			u, err := multiaddrToURL(strings.TrimSpace(string(addr)))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Post(u+"/api/v0/version", "", nil)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return u
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ipfs daemon did not become ready within 30s:\n%s", n.cmdLogs)
	return ""
}

// multiaddrToURL turns /ip4/127.0.0.1/tcp/PORT into http://127.0.0.1:PORT.
func multiaddrToURL(addr string) (string, error) {
	parts := strings.Split(addr, "/")
	if len(parts) != 5 || parts[1] != "ip4" || parts[3] != "tcp" {
		return "", fmt.Errorf("unexpected API multiaddr %q", addr)
	}
	return "http://" + parts[2] + ":" + parts[4], nil
}
