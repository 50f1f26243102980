package rpctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
)

// Gossamer is a real single-validator gossamer dev node started for a test.
type Gossamer struct {
	HTTPURL string
	WSURL   string
	Log     string // path of the node's combined output
	stop    func()
}

// Stop ends the node now rather than when the test ends; calling it again does nothing.
func (g *Gossamer) Stop() { g.stop() }

// StartGossamer initialises and starts a gossamer westend-dev validator (key alice) with
// RPC on free loopback ports, waits until it answers RPC, and stops it when the test ends.
// The binary comes from GOSSAMER_BIN (scripts/tools.sh gossamer); the chain spec is taken
// from the chain/ folder beside it. It skips under -short and when the binary is missing
// (fails in CI).
func StartGossamer(t testing.TB) *Gossamer {
	t.Helper()
	testenv.Short(t)
	bin := testenv.Binary(t, "GOSSAMER_BIN")
	spec := filepath.Join(filepath.Dir(bin), "chain", "westend-dev", "westend-dev-spec-raw.json")
	if _, err := os.Stat(spec); err != nil {
		t.Fatalf("gossamer chain spec: %v", err)
	}
	base := t.TempDir()
	if out, err := exec.Command(bin, "init", "--force", "--chain", spec, "--base-path", base, "--key", "alice").CombinedOutput(); err != nil {
		t.Fatalf("gossamer init: %v\n%s", err, out)
	}
	ports := testenv.FreePorts(t, 4)
	g := &Gossamer{
		HTTPURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		WSURL:   fmt.Sprintf("ws://127.0.0.1:%d", ports[1]),
		Log:     filepath.Join(base, "gossamer.log"),
	}
	logf, err := os.Create(g.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--chain", spec, "--base-path", base, "--key", "alice", "--validator",
		"--unsafe-rpc", "--ws-external", "--no-telemetry", "--no-mdns",
		"--rpc-port", strconv.Itoa(ports[0]), "--ws-port", strconv.Itoa(ports[1]),
		"--prometheus-port", strconv.Itoa(ports[2]), "--port", strconv.Itoa(ports[3]))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gossamer: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); _ = logf.Close() }()
	g.stop = sync.OnceFunc(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	t.Cleanup(g.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		if err := ping(ctx, g.HTTPURL); err == nil {
			return g
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(g.Log)
			t.Fatalf("gossamer exited: %v\n%s", err, tail(out))
		case <-ctx.Done():
			out, _ := os.ReadFile(g.Log)
			t.Fatalf("gossamer RPC not ready within 90s\n%s", tail(out))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WaitBlock polls until the node's best block is at least n.
func (g *Gossamer) WaitBlock(t testing.TB, n uint64, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	c, err := rpc.Dial(ctx, g.HTTPURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		h, err := c.BestHeader(ctx)
		if err == nil && uint64(h.Number) >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("block %d not reached within %s (last: %v, %v)", n, within, h, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, url string) error {
	c, err := rpc.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = c.SystemHealth(cctx)
	return err
}

func tail(b []byte) string {
	const max = 4000
	if len(b) > max {
		return "..." + string(b[len(b)-max:])
	}
	return string(b)
}
