// Package ha_test runs validator failover against real gossamer nodes and a real etcd: one
// identity (//Alice, the only authority of westend-dev) with an active node and a standby,
// through rounds of kill -9 of the active node, SIGSTOP of its process group for longer
// than the lease TTL, and etcd down for longer than the TTL. Any overlap of two signers
// would show as two blocks by Alice in one slot; the test collects every block either node
// sees, including forks, and fails on any such pair.
package ha_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/ha/hatest"
	"github.com/dinfra/stack/internal/ha/hatest/blocks"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// Lease timing of the test: 2M equals westend-dev's 6 s slot (docs/ha.md).
const (
	ttl    = 7 * time.Second
	margin = 3 * time.Second
)

const spec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: ha}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: gossamer, binary: %q}
  groups:
    - name: validator
      role: validator
      keys: {dev: ["//Alice"]}
      ha: {standbys: 1, leaseTTL: %s, safetyMargin: %s, etcd: {endpoints: [%q]}}
`

// A round is one fault and the recovery after it.
type round struct {
	fault      string
	at         time.Time
	from, to   string // authority before and after
	gapSlots   uint64
	recoveredT time.Duration
}

func TestFailoverNeverDoubleSigns(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	rounds := 3 // one of each fault: about three minutes with the network's start
	if v := os.Getenv("HA_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	etcd := hatest.StartEtcd(t)
	cli := onfcli.Build(t)
	file := filepath.Join(t.TempDir(), "ha.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, spec, gossamer, ttl, margin, etcd.Endpoint()), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.Must("up", "-f", file, "--until-block", "0", "--timeout", "3m")
	t.Cleanup(func() { _, _ = cli.Run("down", "ha", "--purge") })

	st := cli.Status("ha")
	c := blocks.New()
	follow(c, st.Nodes)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)

	authority := func() (string, int) {
		s := cli.Status("ha")
		if len(s.HA) != 1 || s.HA[0].Authority == "" {
			return "", 0
		}
		for _, n := range s.Nodes {
			if n.Name == s.HA[0].Authority && n.Running {
				return n.Name, n.PID
			}
		}
		return "", 0
	}
	// producing waits for two new blocks by Alice after since, and returns who signs.
	producing := func(since time.Time, timeout time.Duration) string {
		t.Helper()
		c.WaitAuthored(t, since, timeout)
		a, _ := authority()
		return a
	}
	start := time.Now()
	first := producing(start, 3*time.Minute)
	t.Logf("network up, %s signs, after %s", first, time.Since(start).Round(time.Second))
	// onf status names the authority and, from etcd, the lease holder and its expiry.
	if h := cli.Status("ha").HA[0]; h.Identity != "validator-0" || h.Authority != first || h.Holder != first || h.Expires == "" || h.Error != "" {
		t.Errorf("status ha: %+v, want %s as authority and holder with an expiry", h, first)
	}
	if out, want := cli.Must("status", "ha"), "ha validator-0: authority "+first+", lease holder "+first+", expires "; !strings.Contains(out, want) {
		t.Errorf("onf status lacks %q:\n%s", want, out)
	}

	faults := []string{"kill -9", "SIGSTOP", "etcd down"}
	var done []round
	for i := 0; i < rounds; i++ {
		r := round{fault: faults[i%len(faults)], at: time.Now()}
		var pid int
		r.from, pid = authority()
		if pid == 0 {
			t.Fatalf("round %d: no authority running", i)
		}
		switch r.fault {
		case "kill -9":
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		case "SIGSTOP":
			_ = syscall.Kill(-pid, syscall.SIGSTOP)
			time.Sleep(ttl + margin)                // the fault itself: paused for longer than the lease
			_ = syscall.Kill(-pid, syscall.SIGCONT) // the agent has killed it by now: nothing resumes
		case "etcd down":
			etcd.Stop()
			time.Sleep(ttl - margin + time.Second) // the fault's length: past the authority's deadline
			quiet := time.Now()
			if a, _ := authority(); a != "" {
				t.Errorf("round %d: %s is still the authority with etcd down for %s", i, a, time.Since(r.at).Round(time.Millisecond))
			}
			time.Sleep(ttl + margin) // the fault's length: etcd stays down for longer than the lease
			// A block signed after the deadline would be a signer without a lease (blocks
			// of the last slot before it may still arrive: allow one slot).
			if n := c.AuthoredAfter(quiet.Add(6 * time.Second)); n > 0 {
				t.Errorf("round %d: %d blocks signed while etcd was down", i, n)
			}
			etcd.Start()
		}
		r.to = producing(r.at, 2*time.Minute)
		r.recoveredT = time.Since(r.at)
		r.gapSlots = c.GapAround(r.at)
		t.Logf("round %d %-9s: %s -> %s, gap %d slots, blocks again after %s", i, r.fault, r.from, r.to, r.gapSlots, r.recoveredT.Round(time.Second))
		done = append(done, r)
	}
	c.CaughtUp(t) // the last blocks reach the collector
	if eq := c.Equivocations(); len(eq) > 0 {
		t.Errorf("equivocations (two blocks by one authority in one slot): %v", eq)
	}
	if logs := equivocationLogs(t, c, cli.Home); len(logs) > 0 {
		t.Errorf("node logs report equivocation: %v", logs)
	}
	var gaps []uint64
	for _, r := range done {
		if r.fault != "etcd down" { // that gap is the outage itself
			gaps = append(gaps, r.gapSlots)
		}
	}
	slices.Sort(gaps)
	if len(gaps) > 0 {
		t.Logf("failover gap over %d rounds (kill -9, SIGSTOP): median %d slots, worst %d; %d blocks by //Alice seen, 0 equivocations",
			len(gaps), gaps[len(gaps)/2], gaps[len(gaps)-1], c.Count())
	}
}

// follow adds nodes to the collector, dialed with opts.
func follow(c *blocks.Collector, nodes []local.NodeInfo, opts ...rpc.Option) {
	for _, n := range nodes {
		c.Add(n.RPC, opts...)
	}
}

// equivocationLogs are the entries of the network's node logs under home where gossamer
// reports an equivocation (blocks.Collector.LogEquivocations).
func equivocationLogs(t *testing.T, c *blocks.Collector, home string) []string {
	files, _ := filepath.Glob(filepath.Join(home, "networks", "ha", "logs", "*.log"))
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c.LogEquivocations(t, filepath.Base(f), data)...)
	}
	return out
}
