// Package blocks is the equivocation check of the failover tests (test/ha, test/cluster): a
// Collector follows nodes' chains over their RPC and keeps every block any of them shows,
// forks included, with its BABE slot and authority, so that two signers of one identity
// would show as two blocks of one slot and authority, even when no node imported both.
package blocks

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
)

// Collector keeps every block its sources show.
type Collector struct {
	mu      sync.Mutex
	sources []source
	seen    map[string]block // by hash
	passes  int              // Run's completed passes over every source
}

// source is one node's RPC and how to dial it.
type source struct {
	url  string
	opts []rpc.Option
}

type block struct {
	slot   uint64
	author uint32
}

// New is a collector following no node yet.
func New() *Collector { return &Collector{seen: map[string]block{}} }

// Add follows the node whose RPC is at url, dialed with opts (one url may name different
// nodes in different network namespaces).
func (c *Collector) Add(url string, opts ...rpc.Option) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources = append(c.sources, source{url, opts})
}

// Run polls every source's best block until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	for ctx.Err() == nil {
		c.mu.Lock()
		sources := slices.Clone(c.sources)
		c.mu.Unlock()
		for _, s := range sources {
			c.poll(ctx, s)
		}
		c.mu.Lock()
		c.passes++
		c.mu.Unlock()
		time.Sleep(300 * time.Millisecond) // the pace of the polling, not a wait for anything
	}
}

// CaughtUp waits until Run has made a whole pass over every source begun after the call, so
// every block the nodes showed at the call is in the collector.
func (c *Collector) CaughtUp(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	start := c.passes
	c.mu.Unlock()
	// The pass under way at the call may have read a node before it; the one after cannot.
	testenv.Eventually(t, time.Minute, "a collector pass over every node", func() (bool, string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.passes >= start+2, fmt.Sprintf("%d passes since", c.passes-start)
	})
}

// poll walks back from a node's best block to the first block already seen.
func (c *Collector) poll(ctx context.Context, s source) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cl, err := rpc.Dial(ctx, s.url, s.opts...)
	if err != nil {
		return
	}
	defer cl.Close()
	var hash string
	if cl.Call(ctx, &hash, "chain_getBlockHash") != nil {
		return
	}
	for depth := 0; depth < 200; depth++ {
		c.mu.Lock()
		_, known := c.seen[hash]
		c.mu.Unlock()
		if known {
			return
		}
		h, err := cl.Header(ctx, hash)
		if err != nil || h.Number == 0 {
			return
		}
		a, ok, err := ha.Author(h)
		if err != nil || !ok {
			return
		}
		c.mu.Lock()
		c.seen[hash] = block{slot: a.Slot, author: a.Authority}
		c.mu.Unlock()
		hash = h.ParentHash
	}
}

// SlotStart is when a westend-dev slot (6 s) begins.
func SlotStart(slot uint64) time.Time { return time.UnixMilli(int64(slot) * 6000) }

// AuthoredAfter is the number of blocks seen of slots starting at t or later.
func (c *Collector) AuthoredAfter(t time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.seen {
		if !SlotStart(b.slot).Before(t) {
			n++
		}
	}
	return n
}

// FirstAfter is the start of the earliest slot starting at t or later with a block (zero
// when none has been seen).
func (c *Collector) FirstAfter(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for _, b := range c.seen {
		if s := SlotStart(b.slot); !s.Before(t) && (first.IsZero() || s.Before(first)) {
			first = s
		}
	}
	return first
}

// WaitAuthored waits for two blocks in slots from since on.
func (c *Collector) WaitAuthored(t testing.TB, since time.Time, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, "two blocks by //Alice", func() (bool, string) {
		n := c.AuthoredAfter(since)
		return n >= 2, fmt.Sprintf("%d blocks by //Alice since %s", n, since.Format(time.TimeOnly))
	})
}

// Count is the number of blocks seen.
func (c *Collector) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// GapAround is the number of slots without a block between the last block before t and the
// first one after it.
func (c *Collector) GapAround(t time.Time) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var before, after uint64
	for _, b := range c.seen {
		s := b.slot
		if SlotStart(s).Before(t) {
			before = max(before, s)
		} else if after == 0 || s < after {
			after = s
		}
	}
	if before == 0 || after == 0 {
		return 0
	}
	return after - before - 1
}

// Equivocations lists every (slot, authority) with more than one block.
func (c *Collector) Equivocations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	by := map[[2]uint64][]string{}
	for hash, b := range c.seen {
		k := [2]uint64{b.slot, uint64(b.author)}
		by[k] = append(by[k], hash)
	}
	var out []string
	for k, hashes := range by {
		if len(hashes) > 1 {
			out = append(out, fmt.Sprintf("slot %d authority %d: %v", k[0], k[1], hashes))
		}
	}
	return out
}

var (
	equivocation = regexp.MustCompile(`(?i)equivocat`)
	// entryStart begins a gossamer log entry; an error's stack trace continues it.
	entryStart = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT`)
	// reimport is gossamer v0.9.0 refusing a block because it holds another header for that
	// slot and authority: its known false report after a restart on its old database
	// (local-runtime.md), and also what a real equivocation would give.
	reimport = regexp.MustCompile(`block with hash (0x[0-9a-f]{64}) failed: .*could not verify block equivocation`)
)

// LogEquivocations are the entries of node log name where gossamer reports an equivocation
// (BABE or GRANDPA) it saw. A refused block is cross-checked with every block the collector
// saw: it counts only if the collector holds another block of its slot and authority, or
// never saw it.
func (c *Collector) LogEquivocations(t testing.TB, name string, log []byte) []string {
	var out []string
	starts := append(entryStart.FindAllIndex(log, -1), []int{len(log), len(log)})
	for i := 0; i+1 < len(starts); i++ {
		entry := log[starts[i][0]:starts[i+1][0]]
		if !equivocation.Match(entry) {
			continue
		}
		if m := reimport.FindSubmatch(entry); m != nil && c.alone(string(m[1])) {
			t.Logf("%s: gossamer refused block %s as an equivocation, but no other block of its slot and authority exists (its known false report after a restart)", name, m[1])
			continue
		}
		out = append(out, name+": "+string(entry[:min(len(entry), 400)]))
	}
	return out
}

// alone: the collector saw the block and no other block of its slot and authority.
func (c *Collector) alone(hash string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.seen[hash]
	if !ok {
		return false
	}
	for h, o := range c.seen {
		if h != hash && o.slot == b.slot && o.author == b.author {
			return false
		}
	}
	return true
}
