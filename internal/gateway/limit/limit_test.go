package limit

import (
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
)

func TestCallsPerSecond(t *testing.T) {
	b := newBucket(config.LimitSet{CallsPerSecond: 10, Burst: 5, MaxConnections: 1, MaxSubscriptions: 1})
	start := time.Unix(1000, 0)
	allowed := 0
	// 3 simulated seconds, a call every millisecond: burst + 10/s.
	for ms := range 3000 {
		if b.AllowCall(start.Add(time.Duration(ms) * time.Millisecond)) {
			allowed++
		}
	}
	if want := 5 + 30; allowed < want-1 || allowed > want+1 {
		t.Fatalf("allowed %d calls, want about %d", allowed, want)
	}
}

func TestConnectionSlotsUnderContention(t *testing.T) {
	r := NewRegistry(config.LimitSet{CallsPerSecond: 1, Burst: 1, MaxConnections: 7, MaxSubscriptions: 3},
		config.LimitSet{CallsPerSecond: 1, Burst: 1, MaxConnections: 100, MaxSubscriptions: 100})
	p := Pair{Key: r.Key("k", nil), IP: r.IP("127.0.0.1")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.AcquireConn() {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 7 || p.IP.Conns() != 7 || p.Key.Conns() != 7 {
		t.Fatalf("acquired %d (ip %d, key %d), want 7", got, p.IP.Conns(), p.Key.Conns())
	}
	for range got {
		p.ReleaseConn()
	}
	if p.IP.Conns() != 0 || p.Key.Conns() != 0 {
		t.Fatal("slots not returned")
	}
}

func TestPairRollsBack(t *testing.T) {
	r := NewRegistry(config.LimitSet{CallsPerSecond: 1, Burst: 1, MaxConnections: 1, MaxSubscriptions: 1},
		config.LimitSet{CallsPerSecond: 1, Burst: 1, MaxConnections: 5, MaxSubscriptions: 5})
	p := Pair{Key: r.Key("k", nil), IP: r.IP("ip")}
	if !p.AcquireSub() || p.AcquireSub() {
		t.Fatal("second subscription of a 1-subscription key was allowed")
	}
	if p.IP.Subs() != 1 {
		t.Fatalf("IP holds %d subscriptions after the key refused, want 1", p.IP.Subs())
	}
}

func TestKeyOverrideAndReload(t *testing.T) {
	r := NewRegistry(config.LimitSet{CallsPerSecond: 1, Burst: 1, MaxConnections: 1, MaxSubscriptions: 1}, config.LimitSet{})
	b := r.Key("k", &config.LimitSet{MaxConnections: 3})
	if b.maxConns.Load() != 3 || b.maxSubs.Load() != 1 {
		t.Fatalf("override not merged with defaults: conns %d subs %d", b.maxConns.Load(), b.maxSubs.Load())
	}
	if r.Key("k", nil) != b || b.maxConns.Load() != 1 {
		t.Fatal("reloaded limits not applied to the existing bucket")
	}
}

func TestSweep(t *testing.T) {
	r := NewRegistry(config.LimitSet{}, config.LimitSet{CallsPerSecond: 1, Burst: 1, MaxConnections: 1})
	now := time.Now()
	r.IP("idle").AllowCall(now.Add(-time.Hour))
	busy := r.IP("busy")
	busy.AllowCall(now.Add(-time.Hour))
	busy.AcquireConn()
	r.IP("recent").AllowCall(now)
	if n := r.Sweep(now.Add(-time.Minute)); n != 1 {
		t.Fatalf("swept %d, want 1", n)
	}
	if r.IP("busy") != busy {
		t.Fatal("bucket with a connection was swept")
	}
}

func TestKeyRefusalsDoNotDrainTheIP(t *testing.T) {
	r := NewRegistry(config.LimitSet{CallsPerSecond: 10, Burst: 10}, config.LimitSet{CallsPerSecond: 100, Burst: 100})
	p := Pair{Key: r.Key("k", nil), IP: r.IP("ip")}
	now := time.Unix(1000, 0)
	allowed := 0
	for range 1000 {
		if p.AllowCall(now) {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("key allowed %d, want its burst of 10", allowed)
	}
	other := Pair{Key: r.Key("other", &config.LimitSet{CallsPerSecond: 1000, Burst: 1000}), IP: p.IP}
	n := 0
	for range 1000 {
		if other.AllowCall(now) {
			n++
		}
	}
	if n != 90 {
		t.Fatalf("the IP had %d calls left after 10, want 90", n)
	}
}

func TestTokens(t *testing.T) {
	tk := newTokens(2, 3)
	now := time.Unix(1000, 0)
	for i := range 3 {
		if !tk.take(now) {
			t.Fatalf("take %d of a full bucket of 3 refused", i+1)
		}
	}
	if tk.take(now) {
		t.Fatal("took a 4th token from a bucket of 3")
	}
	if tk.take(now.Add(-time.Second)) {
		t.Fatal("a clock read from before gave a token")
	}
	if !tk.take(now.Add(500*time.Millisecond)) || tk.take(now.Add(500*time.Millisecond)) {
		t.Fatal("half a second at 2/s should give exactly one token")
	}
	tk.giveBack()
	tk.giveBack()
	tk.giveBack()
	tk.giveBack()
	if tk.have != 3 {
		t.Fatalf("giving back 4 tokens to an empty bucket of 3 left %v, want 3", tk.have)
	}
	tk.setLimits(2, 1)
	if tk.have != 1 {
		t.Fatalf("lowering the burst to 1 left %v tokens, want 1", tk.have)
	}
	if allocs := testing.AllocsPerRun(100, func() { tk.take(now); tk.giveBack() }); allocs != 0 {
		t.Fatalf("%v allocations per take and give back, want 0", allocs)
	}
}
