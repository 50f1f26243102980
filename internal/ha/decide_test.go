package ha

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	tm := Timing{TTL: 9 * time.Second, Margin: 3 * time.Second}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s := time.Second
	cases := []struct {
		name string
		v    View
		want Action
	}{
		{"authority renewed recently keeps signing",
			View{Now: at(10 * s), Authority: true, Holding: true, Acquired: at(0), Renewed: at(8 * s), TTL: 9 * s}, Wait},
		{"authority keeps signing just before TTL less margin",
			View{Now: at(14*s - 1), Authority: true, Holding: true, Renewed: at(8 * s), TTL: 9 * s}, Wait},
		{"authority fences at TTL less margin (store down)",
			View{Now: at(14*s + 1), Authority: true, Holding: false, Renewed: at(8 * s), TTL: 9 * s}, Fence},
		{"authority fences at exactly the deadline",
			View{Now: at(14 * s), Authority: true, Holding: true, Renewed: at(8 * s), TTL: 8 * s}, Fence},
		{"granted TTL counts, not the asked one",
			View{Now: at(19 * s), Authority: true, Holding: true, Renewed: at(8 * s), TTL: 15 * s}, Wait},
		{"authority that lost the lease fences",
			View{Now: at(1 * s), Authority: true}, Fence},
		{"authority not answering for less than the margin waits",
			View{Now: at(10 * s), Authority: true, Holding: true, Renewed: at(9 * s), TTL: 9 * s, Unhealthy: at(8 * s)}, Wait},
		{"authority not answering for the margin fences (paused node)",
			View{Now: at(11 * s), Authority: true, Holding: true, Renewed: at(10 * s), TTL: 9 * s, Unhealthy: at(8 * s)}, Fence},
		{"standby without the lease campaigns",
			View{Now: at(0), WatchingSince: at(-1 * s)}, Campaign},
		{"standby not following the chain does not campaign",
			View{Now: at(0)}, Wait},
		{"standby whose node does not answer does not campaign",
			View{Now: at(0), WatchingSince: at(-9 * s), Unhealthy: at(-1 * s)}, Wait},
		{"standby that just took the lease waits the margin",
			View{Now: at(2 * s), Holding: true, Acquired: at(0), Renewed: at(0), TTL: 9 * s, WatchingSince: at(-60 * s)}, Wait},
		{"standby promotes after the margin with a quiet chain",
			View{Now: at(3 * s), Holding: true, Acquired: at(0), Renewed: at(0), TTL: 9 * s, WatchingSince: at(-60 * s), LastAuthored: at(-1 * s)}, Promote},
		{"standby promotes on a chain where the identity never authored",
			View{Now: at(3 * s), Holding: true, Acquired: at(0), Renewed: at(0), TTL: 9 * s, WatchingSince: at(-60 * s)}, Promote},
		{"standby waits while the identity authored within the margin",
			View{Now: at(5 * s), Holding: true, Acquired: at(0), Renewed: at(4 * s), TTL: 9 * s, WatchingSince: at(-60 * s), LastAuthored: at(3 * s)}, Wait},
		{"standby waits for a block from a future slot (the authority's clock jumped ahead)",
			View{Now: at(5 * s), Holding: true, Acquired: at(0), Renewed: at(4 * s), TTL: 9 * s, WatchingSince: at(-60 * s), LastAuthored: at(60 * s)}, Wait},
		{"standby that has not watched the chain for the margin waits",
			View{Now: at(5 * s), Holding: true, Acquired: at(0), Renewed: at(4 * s), TTL: 9 * s, WatchingSince: at(3 * s)}, Wait},
		{"standby not following the chain at all waits",
			View{Now: at(5 * s), Holding: true, Acquired: at(0), Renewed: at(4 * s), TTL: 9 * s}, Wait},
		{"standby whose lease was not renewed in time resigns",
			View{Now: at(7 * s), Holding: true, Acquired: at(0), Renewed: at(0), TTL: 9 * s, WatchingSince: at(-60 * s)}, Resign},
		{"standby whose node does not answer resigns",
			View{Now: at(4 * s), Holding: true, Acquired: at(0), Renewed: at(3 * s), TTL: 9 * s, WatchingSince: at(-60 * s), Unhealthy: at(3 * s)}, Resign},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Decide(c.v, tm); got.Action != c.want {
				t.Fatalf("Decide = %s (%s), want %s", got.Action, got.Reason, c.want)
			}
		})
	}
}

// TestNoOverlap walks an old holder and a new one through time with the store's expiry
// between them, and checks that the new one never promotes before the old one fenced, with
// at least 2M between, whatever time the old one's last renewal was sent.
func TestNoOverlap(t *testing.T) {
	tm := Timing{TTL: 9 * time.Second, Margin: 3 * time.Second}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 50 * time.Millisecond
	for _, lastRenew := range []time.Duration{0, 400 * time.Millisecond, 2 * time.Second} {
		old := View{Authority: true, Holding: true, Renewed: t0.Add(lastRenew), TTL: tm.TTL}
		// The store expires the lease no earlier than TTL after it received the renewal,
		// which is after it was sent; a new holder acquires at that instant at the earliest.
		acquired := old.Renewed.Add(tm.TTL)
		var fenced, promoted time.Time
		for now := t0; now.Before(t0.Add(30 * time.Second)); now = now.Add(step) {
			old.Now = now
			if fenced.IsZero() && Decide(old, tm).Action == Fence {
				fenced = now
			}
			if now.Before(acquired) {
				continue
			}
			nv := View{Now: now, Holding: true, Acquired: acquired, Renewed: now, TTL: tm.TTL, WatchingSince: t0}
			if promoted.IsZero() && Decide(nv, tm).Action == Promote {
				promoted = now
			}
		}
		if fenced.IsZero() || promoted.IsZero() {
			t.Fatalf("last renewal %s: fenced %v, promoted %v", lastRenew, fenced, promoted)
		}
		if gap := promoted.Sub(fenced); gap < 2*tm.Margin-step {
			t.Errorf("last renewal %s: promoted %s after the fence, want >= 2M = %s", lastRenew, gap, 2*tm.Margin)
		}
	}
}
