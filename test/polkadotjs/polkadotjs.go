// Package polkadotjs runs gateway.mjs and heads.mjs, polkadot-js 16.5.6 as an independent
// client of the onf RPC gateway, for the tests that put a gateway in front of real gossamer
// nodes (test/gateway and test/rollout locally, test/cluster in a real cluster).
package polkadotjs

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// Summary is what gateway.mjs saw.
type Summary struct {
	Chain    string   `json:"chain"`
	Heads    []uint64 `json:"heads"`
	Transfer struct {
		Block uint64 `json:"block"`
		Hash  string `json:"hash"`
	} `json:"transfer"`
	NoKey  string `json:"noKey"`
	BadKey string `json:"badKey"`
}

// Run connects polkadot-js to the gateway's WebSocket URL with key (passed in the
// environment of the node process only), follows new heads, submits a signed transfer and
// checks that connections without a key or with a bad one are refused. It fails the test
// unless all of that happened.
func Run(t *testing.T, ctx context.Context, wsURL, key string) Summary {
	t.Helper()
	dir := Dir(t)
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "gateway.mjs"))
	cmd.Env = append(os.Environ(), "GATEWAY_WS="+wsURL, "GATEWAY_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("polkadot-js through the gateway: %v\n%s", err, out)
	}
	var s Summary
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	if len(s.Heads) != 2 || s.Transfer.Block == 0 || s.NoKey == "" || s.BadKey == "" {
		t.Fatalf("summary %+v", s)
	}
	t.Logf("polkadot-js: %s", lines[len(lines)-1])
	return s
}

// Dir is this directory, once node and the npm modules are there.
func Dir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Missing(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@polkadot", "api")); err != nil {
		testenv.Missing(t, "run `npm ci --prefix test/polkadotjs`")
	}
	return dir
}

// Head is a new head heads.mjs received, and when.
type Head struct {
	Number uint64
	At     time.Time
}

// Heads is polkadot-js following new heads through the gateway (heads.mjs) until End.
type Heads struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	mu    sync.Mutex
	heads []Head
	errs  []string
	out   strings.Builder // every line, for the failure message
	// stderr is polkadot-js's log, read once it exited.
	stderr strings.Builder
}

// FollowHeads starts polkadot-js subscribing to new heads through the gateway's WebSocket URL
// with key, and returns once it is subscribed. A dropped connection is an error: heads.mjs does
// not reconnect.
func FollowHeads(t *testing.T, wsURL, key string) *Heads {
	t.Helper()
	h := &Heads{done: make(chan struct{})}
	h.cmd = exec.Command("node", filepath.Join(Dir(t), "heads.mjs"))
	h.cmd.Env = append(os.Environ(), "GATEWAY_WS="+wsURL, "GATEWAY_KEY="+key)
	h.cmd.Stderr = &h.stderr
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cmd.Process.Kill(); <-h.done })
	subscribed := make(chan struct{})
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev struct {
				Head       *uint64 `json:"head"`
				At         int64   `json:"at"`
				Error      string  `json:"error"`
				Subscribed bool    `json:"subscribed"`
			}
			_ = json.Unmarshal(sc.Bytes(), &ev)
			h.mu.Lock()
			h.out.WriteString(sc.Text() + "\n")
			switch {
			case ev.Subscribed:
				close(subscribed)
			case ev.Head != nil:
				h.heads = append(h.heads, Head{Number: *ev.Head, At: time.UnixMilli(ev.At)})
			case ev.Error != "":
				h.errs = append(h.errs, ev.Error)
			}
			h.mu.Unlock()
		}
		h.cmd.Wait()
	}()
	select {
	case <-subscribed:
	case <-h.done:
		t.Fatalf("polkadot-js did not subscribe to new heads through %s:\n%s%s", wsURL, h.out.String(), h.stderr.String())
	case <-time.After(time.Minute):
		h.cmd.Process.Kill()
		<-h.done
		t.Fatalf("polkadot-js not subscribed to new heads through %s within a minute:\n%s%s", wsURL, h.out.String(), h.stderr.String())
	}
	return h
}

// End stops following and returns the heads received and the errors seen (a dropped
// connection, a failed subscription, an exit status other than 0).
func (h *Heads) End(t *testing.T) ([]Head, []string) {
	t.Helper()
	h.stdin.Close()
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.cmd.Process.Kill()
		<-h.done
		h.errs = append(h.errs, "heads.mjs did not stop within 30s")
	}
	if !h.cmd.ProcessState.Success() {
		h.errs = append(h.errs, "heads.mjs: "+h.cmd.ProcessState.String()+"\n"+h.out.String()+h.stderr.String())
	}
	return h.heads, h.errs
}
