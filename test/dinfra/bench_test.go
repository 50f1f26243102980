package dinfra_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/reactortest"
	"github.com/dinfra/stack/internal/reactor/watcher"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/test/dinfra/dinfratest"
)

// heightClock records when each block height was announced to an independent client.
type heightClock struct {
	mu sync.Mutex
	at map[int64]time.Time
}

func watchHeights(b *testing.B, addr string) *heightClock {
	c, err := client.New(addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	heights, err := c.NewHeights(ctx)
	if err != nil {
		b.Fatal(err)
	}
	hc := &heightClock{at: map[int64]time.Time{}}
	go func() {
		for h := range heights {
			hc.mu.Lock()
			hc.at[h] = time.Now()
			hc.mu.Unlock()
		}
	}()
	return hc
}

// latestBefore is the highest height announced at or before t.
func (hc *heightClock) latestBefore(t time.Time) int64 {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	var best int64
	for h, at := range hc.at {
		if !at.After(t) && h > best {
			best = h
		}
	}
	return best
}

func (hc *heightClock) when(h int64) (time.Time, bool) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	t, ok := hc.at[h]
	return t, ok
}

// meanInterval is the mean time between consecutive announced heights.
func (hc *heightClock) meanInterval() time.Duration {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	var lo, hi int64
	for h := range hc.at {
		if lo == 0 || h < lo {
			lo = h
		}
		hi = max(hi, h)
	}
	if hi <= lo {
		return 0
	}
	return hc.at[hi].Sub(hc.at[lo]) / time.Duration(hi-lo)
}

func putVM(b *testing.B, store descriptor.Store, name string) string {
	c, err := store.Put(context.Background(), []byte(`{"name":"`+name+`","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`))
	if err != nil {
		b.Fatal(err)
	}
	return c.String()
}

// BenchmarkOrderToDeploy: from the block that includes a subscription (when a client is told
// it committed) to the reactor's deploy call, on a real chain with the default block time,
// against the block interval measured in the same run (target: ratio < 1, 0 blocks).
func BenchmarkOrderToDeploy(b *testing.B) {
	reg, store := dinfratest.Descriptors(b)
	cc := dinfratest.StartChain(b, reg, chain.DefaultBlockTime)
	clock := watchHeights(b, cc.Address())
	driver := reactortest.NewDriver(1 << 20)
	p := dinfratest.StartProvider(b, cc, reg, store, reactor.Config{Driver: driver})
	p.StartWatcher(b)
	var total time.Duration
	var worstBlocks int64
	b.ResetTimer()
	for i := range b.N {
		id, height := dinfratest.Subscribe(b, cc, descriptor.TypeCloudInit, putVM(b, store, fmt.Sprintf("vm%d", i)))
		var called time.Time
		testenv.Eventually(b, 30*time.Second, "deploy call", func() bool {
			t, ok := driver.FirstDeployCall(watcher.DeploymentID(id))
			called = t
			return ok
		})
		var included time.Time
		testenv.Eventually(b, 10*time.Second, "inclusion announced", func() bool { t, ok := clock.when(height); included = t; return ok })
		total += called.Sub(included)
		worstBlocks = max(worstBlocks, clock.latestBefore(called)-height)
	}
	b.StopTimer()
	mean := total / time.Duration(b.N)
	interval := clock.meanInterval()
	b.ReportMetric(float64(mean.Microseconds())/1000, "ms/order")
	b.ReportMetric(float64(interval.Microseconds())/1000, "ms/block")
	b.ReportMetric(float64(mean)/float64(interval), "ratio")
	b.ReportMetric(float64(worstBlocks), "max-blocks")
}

// BenchmarkCatchUp1000Blocks: a watcher down while the chain makes 1,000 blocks (one award
// among them) is restarted; the time until it has applied every block and called deploy,
// against the time the chain took to make those blocks, in the same run.
func BenchmarkCatchUp1000Blocks(b *testing.B) {
	blocks := int64(benchBlocks)
	reg, store := dinfratest.Descriptors(b)
	cc := dinfratest.StartChain(b, reg, 10*time.Millisecond)
	driver := reactortest.NewDriver(1 << 20)
	p := dinfratest.StartProvider(b, cc, reg, store, reactor.Config{Driver: driver})
	ctx := context.Background()
	var catchUp, produce time.Duration
	b.ResetTimer()
	for i := range b.N {
		w, stop := p.StartWatcher(b)
		h0, _ := cc.LatestHeight(ctx)
		testenv.Eventually(b, 30*time.Second, "watcher live", func() bool { return w.Height() >= h0 })
		stop()
		start := time.Now()
		from, _ := cc.LatestHeight(ctx)
		id, _ := dinfratest.Subscribe(b, cc, descriptor.TypeCloudInit, putVM(b, store, fmt.Sprintf("late%d", i)))
		testenv.Eventually(b, 10*time.Minute, "1,000 blocks", func() bool { h, _ := cc.LatestHeight(ctx); return h >= from+blocks })
		produce += time.Since(start)
		target, _ := cc.LatestHeight(ctx)

		start = time.Now()
		w, stop = p.StartWatcher(b)
		testenv.Eventually(b, 5*time.Minute, "caught up", func() bool {
			_, deployed := driver.FirstDeployCall(watcher.DeploymentID(id))
			return deployed && w.Height() >= target
		})
		catchUp += time.Since(start)
		stop()
	}
	b.StopTimer()
	b.ReportMetric(float64(catchUp.Milliseconds())/float64(b.N), "ms-catchup")
	b.ReportMetric(float64(produce.Milliseconds())/float64(b.N), "ms-produce")
	b.ReportMetric(float64(catchUp)/float64(produce), "ratio")
	b.ReportMetric(float64(blocks*int64(b.N))/catchUp.Seconds(), "blocks/s")
}

// benchBlocks is how long the watcher is down in BenchmarkCatchUp1000Blocks.
var benchBlocks = 1000
