// Package limit holds the gateway's per-caller budgets: a token bucket for calls per second,
// and counters for concurrent connections and subscriptions, kept per key and per client IP.
package limit

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
)

// Bucket is the budget of one key or one client IP.
type Bucket struct {
	calls    *tokens
	maxConns atomic.Int64
	maxSubs  atomic.Int64
	conns    atomic.Int64
	subs     atomic.Int64
	lastUsed atomic.Int64 // unix nanoseconds
}

func newBucket(l config.LimitSet) *Bucket {
	b := &Bucket{calls: newTokens(l.CallsPerSecond, l.Burst)}
	b.set(l)
	return b
}

func (b *Bucket) set(l config.LimitSet) {
	b.calls.setLimits(l.CallsPerSecond, l.Burst)
	b.maxConns.Store(int64(l.MaxConnections))
	b.maxSubs.Store(int64(l.MaxSubscriptions))
}

// AllowCall takes one call from the bucket.
func (b *Bucket) AllowCall(now time.Time) bool {
	b.lastUsed.Store(now.UnixNano())
	return b.calls.take(now)
}

// AcquireConn takes a connection slot; ReleaseConn returns it.
func (b *Bucket) AcquireConn() bool { return acquire(&b.conns, &b.maxConns) }

// ReleaseConn returns a connection slot.
func (b *Bucket) ReleaseConn() { b.conns.Add(-1) }

// AcquireSub takes a subscription slot; ReleaseSub returns it.
func (b *Bucket) AcquireSub() bool { return acquire(&b.subs, &b.maxSubs) }

// ReleaseSub returns a subscription slot.
func (b *Bucket) ReleaseSub() { b.subs.Add(-1) }

// Conns and Subs report the slots in use.
func (b *Bucket) Conns() int64 { return b.conns.Load() }
func (b *Bucket) Subs() int64  { return b.subs.Load() }

func acquire(n, max *atomic.Int64) bool {
	for {
		cur := n.Load()
		if cur >= max.Load() {
			return false
		}
		if n.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// Registry creates buckets on first use and forgets idle IP buckets.
type Registry struct {
	perKey, perIP config.LimitSet

	mu   sync.Mutex
	keys map[string]*Bucket
	ips  map[string]*Bucket
}

// NewRegistry uses perKey for keys without their own limits and perIP for every client IP.
func NewRegistry(perKey, perIP config.LimitSet) *Registry {
	return &Registry{perKey: perKey, perIP: perIP, keys: map[string]*Bucket{}, ips: map[string]*Bucket{}}
}

// Key returns the bucket of key id; override (if set) replaces the default per-key limits, and
// a changed override (after a key file reload) is applied to the existing bucket.
func (r *Registry) Key(id string, override *config.LimitSet) *Bucket {
	l := r.perKey
	if override != nil {
		l = override.WithDefaults(r.perKey)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.keys[id]
	if !ok {
		b = newBucket(l)
		r.keys[id] = b
		return b
	}
	b.set(l)
	return b
}

// IP returns the bucket of a client IP.
func (r *Registry) IP(ip string) *Bucket {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.ips[ip]
	if !ok {
		b = newBucket(r.perIP)
		r.ips[ip] = b
	}
	return b
}

// Sweep forgets IP buckets unused since before idleSince that hold no connection or
// subscription, so the map does not grow with every address ever seen. A forgotten bucket
// was full again anyway (idle long enough to refill).
func (r *Registry) Sweep(idleSince time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for ip, b := range r.ips {
		if b.lastUsed.Load() < idleSince.UnixNano() && b.conns.Load() == 0 && b.subs.Load() == 0 {
			delete(r.ips, ip)
			n++
		}
	}
	return n
}

// Pair is the key bucket (nil for anonymous callers) and the IP bucket of one caller; every
// check applies to both.
type Pair struct{ Key, IP *Bucket }

// AllowCall takes one call from both buckets, or from neither: a call the key's budget
// refuses gives its token back to the IP's, so a busy key does not drain its address's budget.
func (p Pair) AllowCall(now time.Time) bool {
	if p.Key == nil {
		return p.IP.AllowCall(now)
	}
	if !p.IP.AllowCall(now) {
		return false
	}
	if !p.Key.AllowCall(now) {
		p.IP.calls.giveBack()
		return false
	}
	return true
}

// AcquireConn takes a connection slot from both buckets, or from neither.
func (p Pair) AcquireConn() bool {
	return p.both((*Bucket).AcquireConn, (*Bucket).ReleaseConn)
}

// ReleaseConn returns a connection slot to both buckets.
func (p Pair) ReleaseConn() {
	p.IP.ReleaseConn()
	if p.Key != nil {
		p.Key.ReleaseConn()
	}
}

// AcquireSub takes a subscription slot from both buckets, or from neither.
func (p Pair) AcquireSub() bool {
	return p.both((*Bucket).AcquireSub, (*Bucket).ReleaseSub)
}

// ReleaseSub returns a subscription slot to both buckets.
func (p Pair) ReleaseSub() {
	p.IP.ReleaseSub()
	if p.Key != nil {
		p.Key.ReleaseSub()
	}
}

func (p Pair) both(acq func(*Bucket) bool, rel func(*Bucket)) bool {
	if !acq(p.IP) {
		return false
	}
	if p.Key != nil && !acq(p.Key) {
		rel(p.IP)
		return false
	}
	return true
}
