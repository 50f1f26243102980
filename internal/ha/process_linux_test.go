package ha

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/dinfra/stack/internal/ha/hatest"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/testenv"
)

// sdkCandidate is one candidate of a collator identity as a cluster pod runs it: the real
// Process and Agent (what `onf ha agent` runs) around a FAKE polkadot-sdk node
// (hatest/fakesdknode), since polkadot-sdk binaries cannot run here.
type sdkCandidate struct {
	name, base, keystore string
	node                 *Process
	watch                *Watch
}

// last is the fake node's latest start.
func (c *sdkCandidate) last(t *testing.T) (hatest.FakeStart, bool) {
	starts := hatest.FakeStarts(t, c.base)
	if len(starts) == 0 {
		return hatest.FakeStart{}, false
	}
	return starts[len(starts)-1], true
}

// keys lists the files in the candidate's keystore directory.
func (c *sdkCandidate) keys() []string {
	entries, _ := os.ReadDir(c.keystore)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Two candidates of a collator identity against a real API server's Lease, each running a
// FAKE polkadot-sdk node under the real agent: the holder's node restarts with --collator
// and finds the identity's aura key in its keystore in sc-keystore's format (file
// hex("aura") ++ hex(public key), the secret URI as a JSON string, 0600), and the agent's
// chain check reads the Aura block the fake then serves as the identity's; the standby's
// node never collates and its keystore stays empty. With the API server cut off the holder's node
// is killed, its keystore emptied and it restarts keyless within T - M; nobody collates
// until the API server is back; then one candidate is promoted again the same way.
func TestProcessPromotesFakeSDKNode(t *testing.T) {
	cfg, proxy := startAPIServer(t)
	cli, err := coordclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bin := hatest.FakeSDKNode(t)
	suriFile := filepath.Join(t.TempDir(), "suri")
	if err := os.WriteFile(suriFile, []byte("//Alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice, err := keyring.Dev(keyring.Sr25519, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	pub := alice.Public().Bytes
	wantFile := hex.EncodeToString([]byte("aura")) + hex.EncodeToString(pub[:])

	tm := Timing{TTL: 3 * time.Second, Margin: time.Second}
	poll := 100 * time.Millisecond
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var cands []*sdkCandidate
	for i, port := range testenv.FreePorts(t, 2) {
		c := &sdkCandidate{name: fmt.Sprintf("collator-0-%d", i), base: t.TempDir(), keystore: filepath.Join(t.TempDir(), "keystore")}
		common := []string{"--base-path", c.base, "--rpc-port", strconv.Itoa(port)}
		c.node = &Process{Binary: bin, StandbyArgs: common,
			SignArgs: append(slices.Clone(common), "--collator", "--keystore-path", c.keystore),
			Role: Keystore{Dir: c.keystore, Types: []KeyType{{ID: "aura", Scheme: keyring.Sr25519}}, Secret: func() (string, error) {
				b, err := os.ReadFile(suriFile)
				return string(b), err
			}},
			Log: log.With("candidate", c.name)}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		w := &Watch{Endpoint: url, Identity: pub, Poll: poll}
		c.watch = w
		a := &Agent{Name: c.name, Store: NewKubeLease(cli, "default", "paras-collator-0"), Timing: tm, Node: c.node, Watch: w, Log: log}
		wg.Add(3)
		go func() { defer wg.Done(); c.node.Run(ctx, url, poll) }()
		go func() { defer wg.Done(); w.Run(ctx) }()
		go func() { defer wg.Done(); a.Run(ctx) }()
		cands = append(cands, c)
	}
	defer func() { cancel(); wg.Wait() }()

	// collating is the candidate whose fake node runs with --collator, or nil.
	collating := func() *sdkCandidate {
		for _, c := range cands {
			if s, ok := c.last(t); ok && s.Authority && c.node.Authority() {
				return c
			}
		}
		return nil
	}
	promoted := func(what string) *sdkCandidate {
		var leader *sdkCandidate
		testenv.Eventually(t, time.Minute, what, func() (bool, string) {
			leader = collating()
			return leader != nil, fmt.Sprintf("starts %v / %v", hatest.FakeStarts(t, cands[0].base), hatest.FakeStarts(t, cands[1].base))
		})
		s, _ := leader.last(t)
		if len(s.Keystore) != 1 || s.Keystore[wantFile] != `"//Alice"` || s.Modes[wantFile] != "0600" {
			t.Errorf("%s started collating with keystore %v modes %v, want %s = \"//Alice\" (a JSON string), 0600", leader.name, s.Keystore, s.Modes, wantFile)
		}
		for _, c := range cands {
			if c == leader {
				continue
			}
			if s, ok := c.last(t); ok && (s.Authority || slices.Contains(s.Args, "--keystore-path")) {
				t.Errorf("standby %s runs %v", c.name, s.Args)
			}
			if k := c.keys(); len(k) != 0 {
				t.Errorf("standby %s holds keys %v", c.name, k)
			}
		}
		return leader
	}
	leader := promoted("one candidate collates with the identity's key")
	// The fake node authors block #1 with an Aura pre-digest once it holds the aura key: the
	// agent's chain check reads it as the identity's block (slot % 1 authority = Alice).
	testenv.Eventually(t, 10*time.Second, "the leader's chain check sees the identity's Aura block", func() bool {
		_, authored := leader.watch.State()
		return !authored.IsZero()
	})
	for _, c := range cands {
		if _, authored := c.watch.State(); c != leader && !authored.IsZero() {
			t.Errorf("standby %s saw a block of the identity on its own keyless node", c.name)
		}
	}
	s, _ := leader.last(t)
	authorityPID := s.PID

	proxy.Cut()
	cut := time.Now()
	testenv.Eventually(t, tm.TTL, "the holder fences its node without the API server", func() (bool, string) {
		s, _ := leader.last(t)
		return !leader.node.Authority() && len(leader.keys()) == 0 && !s.Authority, fmt.Sprintf("authority %v keys %v last start %v", leader.node.Authority(), leader.keys(), s.Args)
	})
	if took := time.Since(cut); took > tm.TTL-tm.Margin+500*time.Millisecond {
		t.Errorf("fenced %s after the API server went away, want <= T - M = %s", took, tm.TTL-tm.Margin)
	}
	if err := syscall.Kill(authorityPID, 0); err == nil {
		t.Errorf("the collating node (pid %d) still runs after the fence", authorityPID)
	}
	time.Sleep(2 * tm.TTL) // nobody may collate while the Lease cannot be renewed
	if c := collating(); c != nil {
		t.Fatalf("%s collates while the API server is cut off", c.name)
	}
	if n := authorityStarts(t, cands); n != 1 {
		t.Errorf("%d collating starts so far, want the one before the outage", n)
	}
	proxy.Restore()
	promoted("a candidate collates again once the API server is back")

	cancel()
	wg.Wait()
	for _, c := range cands {
		if k := c.keys(); len(k) != 0 {
			t.Errorf("%s keeps keys %v after its agent stopped", c.name, k)
		}
	}
}

// authorityStarts counts the collating starts of all candidates' fake nodes.
func authorityStarts(t *testing.T, cands []*sdkCandidate) int {
	n := 0
	for _, c := range cands {
		for _, s := range hatest.FakeStarts(t, c.base) {
			if s.Authority {
				n++
			}
		}
	}
	return n
}
