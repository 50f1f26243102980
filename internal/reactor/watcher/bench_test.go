package watcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// BenchmarkOrderToDeploy measures the time from committing a block that awards an order to
// the reactor driver's Deploy call, through the watcher, the Chain Reactor API and the
// reactor framework, against a direct API deploy call measured in the same run (the
// floor: what remains is the watcher's own work). It also checks the target: the deploy
// call happens before the next block (0 blocks after inclusion).
func BenchmarkOrderToDeploy(b *testing.B) {
	t := b
	h := newHarness(t)
	h.start(t)
	ctx := context.Background()
	base, err := New(h.cfg) // never run: only its deploy path is timed
	if err != nil {
		b.Fatal(err)
	}
	var viaWatcher, direct time.Duration
	var worstBlocks int64
	b.ResetTimer()
	for i := range b.N {
		o := h.order(t, uint64(1000+i), fmt.Sprintf("vm%d", i))
		start := time.Now()
		height := h.chain.commit(Event{Kind: Awarded, Order: o})
		id := DeploymentID(o.ID)
		viaWatcher += waitDeployCall(b, h, id).Sub(start)
		h.chain.mu.Lock()
		worstBlocks = max(worstBlocks, h.chain.height-height-countReports(h.chain, height))
		h.chain.mu.Unlock()

		// Baseline: the same deploy sent straight to the reactor.
		d := h.order(t, uint64(5000000+i), fmt.Sprintf("direct%d", i))
		doc, _, _ := base.fetch(ctx, d)
		start = time.Now()
		if err := base.deployRequest(ctx, d, doc); err != nil {
			b.Fatal(err)
		}
		direct += waitDeployCall(b, h, DeploymentID(d.ID)).Sub(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(viaWatcher.Microseconds())/float64(b.N)/1000, "ms-watcher/order")
	b.ReportMetric(float64(direct.Microseconds())/float64(b.N)/1000, "ms-direct/order")
	b.ReportMetric(float64(viaWatcher)/float64(direct), "ratio")
	b.ReportMetric(float64(worstBlocks), "max-blocks-after-inclusion")
}

// waitDeployCall returns when the driver was first asked to deploy id, as the driver
// recorded it (so how often this polls does not change the figure).
func waitDeployCall(b *testing.B, h *harness, id string) time.Time {
	var t0 time.Time
	testenv.Eventually(b, 10*time.Second, "a deploy call for "+id, func() (ok bool) {
		t0, ok = h.driver.FirstDeployCall(id)
		return ok
	})
	return t0
}

// countReports is the number of blocks the watcher's own status reports committed after
// height (the fake chain commits a block per report); they are not chain progress.
func countReports(c *fakeChain, after int64) int64 {
	var n int64
	for h := after + 1; h <= c.height; h++ {
		if len(c.events[h]) == 0 {
			n++
		}
	}
	return n
}

// BenchmarkCatchUp1000Blocks measures how long a watcher that was down for 1,000 blocks
// (one award among them) takes to apply them after a restart, against following the same
// 1,000 blocks live one at a time in the same run.
func BenchmarkCatchUp1000Blocks(b *testing.B) {
	const blocks = 1000
	var catchUp, live time.Duration
	for i := range b.N {
		t := b
		h := newHarness(t)
		w, stop := h.start(t)
		// Live: commit blocks one by one, each applied before the next.
		start := time.Now()
		for range blocks {
			want := h.chain.commit()
			for w.Height() < want { // spins finely: the wait is the figure measured
				time.Sleep(20 * time.Microsecond)
			}
		}
		live += time.Since(start)
		stop()

		// Down for 1,000 blocks, then restart.
		o := h.order(t, uint64(i+1), "late")
		h.chain.commit(Event{Kind: Awarded, Order: o})
		for range blocks - 1 {
			h.chain.commit()
		}
		start = time.Now()
		w2, _ := h.start(t)
		for w2.Height() < h.chain.height || !h.running(DeploymentID(o.ID)) { // as above: the figure
			time.Sleep(20 * time.Microsecond)
		}
		catchUp += time.Since(start)
	}
	b.ReportMetric(float64(catchUp.Microseconds())/float64(b.N)/1000, "ms-catchup/1000blocks")
	b.ReportMetric(float64(live.Microseconds())/float64(b.N)/1000, "ms-live/1000blocks")
	b.ReportMetric(float64(catchUp)/float64(live), "ratio")
	b.ReportMetric(float64(blocks)/(catchUp.Seconds()/float64(b.N)), "blocks/s-catchup")
}
