package ha

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Node is what an agent drives: one candidate node of an identity.
type Node interface {
	// Fence stops the node signing: it returns once the authority process is gone and its
	// keys removed; the node then restarts as a keyless full node on its own.
	Fence(reason string)
	// Promote restarts the node as the authority with the identity's keys.
	Promote()
	// Authority reports whether the node runs, or is starting, with the keys.
	Authority() bool
	// Unhealthy is since when the node has not answered (zero: it answers).
	Unhealthy() time.Time
}

// Agent runs Decide for one candidate: it campaigns for the identity's lease, renews it,
// fences its node before the lease can expire, and promotes it when Decide allows. Renewals
// run beside the decision loop, so a store that hangs never delays a fence.
type Agent struct {
	Name   string // this candidate, written into the lease as its holder
	Store  Store
	Timing Timing
	Node   Node
	Watch  *Watch
	Log    *slog.Logger

	mu    sync.Mutex
	lease *Lease
}

// Status is an agent's view of its lease for `onf status`.
type Status struct {
	Holding bool
	// Expires is the earliest the store can expire the lease: the last renewal sent plus TTL.
	Expires time.Time
}

func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lease == nil {
		return Status{}
	}
	return Status{Holding: true, Expires: a.lease.Renewed.Add(a.lease.TTL)}
}

// tick is how often the agent decides: a tenth of the margin, at least 20 ms.
func (a *Agent) tick() time.Duration { return max(a.Timing.Margin/10, 20*time.Millisecond) }

// Run drives the node until ctx ends; then it fences an authority (the lease goes with the
// agent) and releases the lease.
func (a *Agent) Run(ctx context.Context) {
	go a.renew(ctx)
	t := time.NewTicker(a.tick())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if a.Node.Authority() {
				a.Node.Fence("agent stopping")
			}
			a.release()
			return
		case <-t.C:
		}
		a.step(ctx)
	}
}

func (a *Agent) view() View {
	v := View{Now: time.Now(), Authority: a.Node.Authority(), Unhealthy: a.Node.Unhealthy()}
	a.mu.Lock()
	if l := a.lease; l != nil {
		v.Holding, v.Acquired, v.Renewed, v.TTL = true, l.Acquired, l.Renewed, l.TTL
	}
	a.mu.Unlock()
	if a.Watch != nil {
		v.WatchingSince, v.LastAuthored = a.Watch.State()
	}
	return v
}

func (a *Agent) step(ctx context.Context) {
	d := Decide(a.view(), a.Timing)
	switch d.Action {
	case Campaign:
		cctx, cancel := context.WithTimeout(ctx, a.Timing.Margin)
		l, err := a.Store.Acquire(cctx, a.Name, a.Timing.TTL)
		cancel()
		if err == nil {
			a.mu.Lock()
			a.lease = &l
			a.mu.Unlock()
			a.Log.Info("ha: lease taken", "node", a.Name, "ttl", l.TTL)
		}
	case Fence:
		a.Log.Warn("ha: fencing", "node", a.Name, "reason", d.Reason)
		a.Node.Fence(d.Reason)
		a.release()
	case Resign:
		a.Log.Info("ha: resigning the lease", "node", a.Name, "reason", d.Reason)
		a.release()
	case Promote:
		a.Log.Info("ha: promoting to authority", "node", a.Name, "reason", d.Reason)
		a.Node.Promote()
	}
}

// renew keeps the lease alive: a renewal a third of the TTL after the last one, retried
// until it succeeds, each bounded by the deadline.
func (a *Agent) renew(ctx context.Context) {
	for ctx.Err() == nil {
		a.mu.Lock()
		l := a.lease
		a.mu.Unlock()
		if l == nil || time.Now().Before(l.Renewed.Add(l.TTL/3)) {
			sleep(ctx, a.tick())
			continue
		}
		cctx, cancel := context.WithDeadline(ctx, l.Renewed.Add(l.TTL-a.Timing.Margin))
		sent := *l
		sent.Signing = a.Node.Authority()
		nl, err := a.Store.Renew(cctx, sent)
		cancel()
		a.mu.Lock()
		if a.lease != nil && a.lease.ID == l.ID {
			switch {
			case err == nil:
				a.lease = &nl
			case errors.Is(err, ErrLost):
				a.lease = nil
			}
		}
		a.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			a.Log.Warn("ha: lease not renewed", "node", a.Name, "err", err)
			sleep(ctx, a.tick())
		}
	}
}

// release forgets the lease and revokes it in the background (the store may be down; the
// lease then expires on its own).
func (a *Agent) release() {
	a.mu.Lock()
	l := a.lease
	a.lease = nil
	a.mu.Unlock()
	if l == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), a.Timing.TTL)
		defer cancel()
		_ = a.Store.Release(ctx, *l)
	}()
}
