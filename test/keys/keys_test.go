// Package keys_test runs `onf keys` as an operator would against a real gossamer westend-dev
// network, whose //Alice stash is a validator: rotation registered in session.nextKeys,
// check before and after, a rotation stopped half way and finished, a migration to another
// node, and a custody scan of everything that could leak a secret while that happens.
package keys_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/sessionkeys"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// Alice's controller on westend-dev; its stash (//Alice//stash) is the genesis validator.
const controller = "//Alice"

const spec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: keys}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: gossamer}
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - {name: standby, role: full}
`

// cli is the built onf with the session-key verbs this test reads.
type cli struct {
	*onfcli.CLI
	t *testing.T
}

func (c *cli) keys(args ...string) []sessionkeys.Status {
	c.t.Helper()
	var st []sessionkeys.Status
	out := c.Must(append(append([]string{"keys"}, args...), "-o", "json")...)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		c.t.Fatalf("%v: %s", err, out)
	}
	return st
}

// check runs `onf keys check` for every signing and standby node and returns results by node.
func (c *cli) check(suriFile string, nodes ...string) map[string]sessionkeys.Status {
	c.t.Helper()
	res := map[string]sessionkeys.Status{}
	for _, n := range nodes {
		out, _ := c.Run("keys", "check", "keys", n, "--suri-file", suriFile, "-o", "json")
		var st []sessionkeys.Status
		if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &st); err != nil || len(st) != 1 {
			c.t.Fatalf("check %s: %v: %s", n, err, out)
		}
		res[n] = st[0]
	}
	return res
}

func (c *cli) best(node string) uint64 { return c.node(node).Best }

func (c *cli) node(name string) local.NodeInfo { return c.Node("keys", name) }

func TestSessionKeysOnGossamer(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	dir := t.TempDir()
	c := &cli{CLI: onfcli.Build(t), t: t}
	specFile := filepath.Join(dir, "keys.yaml")
	suriFile := filepath.Join(dir, "controller.suri")
	if err := os.WriteFile(specFile, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(suriFile, []byte(controller+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Must("up", "-f", specFile, "--binary", gossamer, "--until-block", "2", "--timeout", "3m")
	t.Cleanup(func() { _, _ = c.Run("down", "keys", "--purge") })

	// A secret URI in a file others can read is refused before anything happens.
	loose := filepath.Join(dir, "loose.suri")
	_ = os.WriteFile(loose, []byte(controller), 0o644)
	if out, err := c.Run("keys", "rotate", "keys", "validator-0", "--suri-file", loose); err == nil || !strings.Contains(out, "chmod 600") {
		t.Errorf("a 0644 --suri-file was accepted: %v\n%s", err, out)
	}

	scan := newScanner(t, c.Home, controller)

	t.Run("check mismatch, rotate, check match", func(t *testing.T) {
		before := c.check(suriFile, "validator-0")["validator-0"]
		if before.Result != "mismatch" || before.NextKeys == "" {
			t.Fatalf("before rotation: %+v, want mismatch (gossamer --key alice holds babe and gran, not Alice's other genesis keys)", before)
		}
		stop := scan.during()
		st := c.keys("rotate", "keys", "validator-0", "--suri-file", suriFile)
		stop()
		if len(st) != 1 || st[0].Result != "match" || st[0].NextKeys == before.NextKeys || st[0].Pending != "" {
			t.Fatalf("after rotate: %+v", st)
		}
		if after := c.check(suriFile, "validator-0")["validator-0"]; after.Result != "match" || after.NextKeys != st[0].NextKeys {
			t.Errorf("check after rotate: %+v, want match on %s", after, st[0].NextKeys)
		}
		scan.keystore("validator-0")
	})

	t.Run("rotate finishes a rotation stopped between insert and setKeys", func(t *testing.T) {
		// generate = the first half of rotate: keys made, kept as pending, inserted; the
		// rotation "crashes" before session.setKeys.
		gen := c.keys("generate", "keys", "validator-0")
		pending := gen[0].Pending
		if c.check(suriFile, "validator-0")["validator-0"].NextKeys == pending {
			t.Fatal("generate registered keys")
		}
		st := c.keys("rotate", "keys", "validator-0", "--suri-file", suriFile)
		if st[0].NextKeys != pending || st[0].Result != "match" {
			t.Errorf("re-run rotate registered %s (%s), want the pending %s", st[0].NextKeys, st[0].Result, pending)
		}
		scan.keystore("validator-0")
	})

	t.Run("migrate to another node", func(t *testing.T) {
		from := c.check(suriFile, "validator-0")["validator-0"]
		stop := scan.during()
		st := c.keys("migrate", "keys", "validator-0", "standby-0", "--suri-file", suriFile)
		stop()
		if st[0].Node != "standby-0" || st[0].Result != "match" || st[0].NextKeys == from.NextKeys {
			t.Fatalf("after migrate: %+v", st)
		}
		res := c.check(suriFile, "validator-0", "standby-0")
		if res["validator-0"].Result != "mismatch" || res["standby-0"].Result != "match" {
			t.Errorf("after migrate: validator-0 %s, standby-0 %s; want mismatch, match", res["validator-0"].Result, res["standby-0"].Result)
		}
		if _, err := os.Stat(filepath.Join(c.Home, "networks", "keys", "keystore", "validator-0")); !os.IsNotExist(err) {
			t.Errorf("the old node's keystore is still there: %v", err)
		}
		scan.keystore("standby-0")
		b := c.best("standby-0")
		testenv.Eventually(t, time.Minute, fmt.Sprintf("new blocks after the migration (best %d)", b), func() bool { return c.best("standby-0") >= b+2 })
	})

	t.Run("a restarted gossamer node gets its keys back", func(t *testing.T) {
		// gossamer keeps inserted keys in memory only; the supervisor inserts them again.
		pid := c.node("standby-0").PID
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 2*time.Minute, "standby-0 holds its keys again after a restart", func() (bool, string) {
			n := c.node("standby-0")
			if n.PID == pid || !n.Running || n.RPCError != "" {
				return false, fmt.Sprintf("pid %d, running %t, rpc error %q", n.PID, n.Running, n.RPCError)
			}
			res := c.check(suriFile, "standby-0")["standby-0"]
			return res.Result == "match", fmt.Sprintf("%+v", res)
		})
	})

	scan.files(c.Must("status", "keys", "-o", "json"))
}

// scanner looks for secrets (the controller's secret URI and every seed in the keystores)
// wherever they must never be: process arguments and environments, logs, status output.
type scanner struct {
	t      *testing.T
	home   string
	suri   string
	mu     sync.Mutex
	seeds  map[string]bool
	leaks  []string
	polled int
}

func newScanner(t *testing.T, home, suri string) *scanner {
	return &scanner{t: t, home: home, suri: suri, seeds: map[string]bool{}}
}

func (s *scanner) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{s.suri}
	for seed := range s.seeds {
		out = append(out, seed, strings.TrimPrefix(seed, "0x"))
	}
	return out
}

// during polls every process's cmdline and environ until stopped.
func (s *scanner) during() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			s.procs()
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		s.procs()
		if s.polled < 3 {
			s.t.Errorf("process scan ran only %d times", s.polled)
		}
		s.report()
	}
}

func (s *scanner) procs() {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	env, _ := filepath.Glob("/proc/[0-9]*/environ")
	secrets := s.secrets()
	for _, f := range append(files, env...) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the process ended
		}
		for _, sec := range secrets {
			if bytes.Contains(data, []byte(sec)) {
				s.mu.Lock()
				s.leaks = append(s.leaks, f+" holds "+redact(sec))
				s.mu.Unlock()
			}
		}
	}
	s.mu.Lock()
	s.polled++
	s.mu.Unlock()
}

// keystore learns a node's seeds and checks the directory's and files' modes.
func (s *scanner) keystore(node string) {
	dir := filepath.Join(s.home, "networks", "keys", "keystore", node)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		s.t.Errorf("keystore %s: %v %v, want 0700", dir, fi.Mode(), err)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			s.t.Errorf("%s: mode %v, want 0600", e.Name(), fi.Mode())
		}
		if e.Name() == "pending.json" {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		s.mu.Lock()
		s.seeds[strings.TrimSpace(string(data))] = true
		s.mu.Unlock()
	}
	s.files()
}

// files scans every file under the state home except the keystores, and extra output.
func (s *scanner) files(extra ...string) {
	secrets := s.secrets()
	_ = filepath.WalkDir(s.home, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == "keystore" {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Type()&os.ModeType != 0 {
			return nil
		}
		data, _ := os.ReadFile(p)
		for _, sec := range secrets {
			// The controller here is //Alice, which the spec also names as the validator's
			// (public) dev key: the spec, its plan and the dev key's .suri file hold it by design.
			devKey := sec == s.suri && (strings.HasSuffix(p, ".suri") || filepath.Base(p) == "spec.json" || filepath.Base(p) == "plan.json")
			if bytes.Contains(data, []byte(sec)) && !devKey {
				s.mu.Lock()
				s.leaks = append(s.leaks, p+" holds "+redact(sec))
				s.mu.Unlock()
			}
		}
		return nil
	})
	for i, out := range extra {
		for _, sec := range secrets {
			if strings.Contains(out, sec) {
				s.leaks = append(s.leaks, "output "+string(rune('0'+i))+" holds "+redact(sec))
			}
		}
	}
	s.report()
}

func (s *scanner) report() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.leaks {
		s.t.Error("secret leaked: " + l)
	}
	s.leaks = nil
}

func redact(secret string) string {
	if len(secret) > 8 {
		return secret[:6] + "…"
	}
	return "the controller secret URI"
}
