// Package ha keeps validator and collator failover safe: per identity (one set of session
// keys) exactly one node signs, and only while it holds a lease in an existing store (etcd
// locally). Decide is the whole policy, pure; Agent runs it for one node against a lease
// store and the node's own view of the chain; docs/ha.md argues why no two nodes sign the
// same slot.
package ha

import (
	"fmt"
	"time"
)

// Action is what an agent does next.
type Action int

const (
	// Wait: nothing to do now.
	Wait Action = iota
	// Campaign: try to take the lease (succeeds only when no one holds it).
	Campaign
	// Fence: stop signing at once (kill the authority node, remove its keys, restart it as a
	// keyless full node), then give the lease up.
	Fence
	// Resign: give up a lease this node holds but may not use (it could not be renewed in
	// time while the node was not signing).
	Resign
	// Promote: the node may sign: insert the keys and restart it as the authority.
	Promote
)

func (a Action) String() string {
	return [...]string{"wait", "campaign", "fence", "resign", "promote"}[a]
}

// Timing is a group's lease timing: the lease's TTL and the safety margin M.
type Timing struct {
	TTL    time.Duration
	Margin time.Duration
}

// View is what an agent knows at one instant. Times come from the agent's own clock; lease
// times are when the request was sent, so they are never later than the store's own.
type View struct {
	Now time.Time
	// Authority: the node runs with the keys (or is starting with them).
	Authority bool
	// Holding: this node holds the lease; Acquired is when the answer that it took it
	// arrived, Renewed when the last successful renewal (or the grant) was sent, and TTL the
	// TTL the store granted.
	Holding  bool
	Acquired time.Time
	Renewed  time.Time
	TTL      time.Duration
	// WatchingSince is since when the node has been following the chain (zero: not yet);
	// LastAuthored is the latest time the newest block of the identity it saw could have
	// been signed (its slot's end, or when it arrived if later; zero: none seen).
	WatchingSince time.Time
	LastAuthored  time.Time
	// Unhealthy is since when the node has not answered (zero: it answers).
	Unhealthy time.Time
}

// Decision is an action and why.
type Decision struct {
	Action Action
	Reason string
}

// Deadline is when a holder must have stopped signing: the TTL counted from the last renewal
// sent, less the margin, so it stops before the store can expire the lease.
func (v View) Deadline(t Timing) time.Time {
	return v.Renewed.Add(v.TTL - t.Margin)
}

// Decide is the failover policy. An authority keeps signing only while its lease is renewed
// in time and its node answers; a standby holding the lease promotes only after the margin
// has passed since it took the lease (so at least M after the previous holder's lease
// expired) and it has watched the chain for M without a block of the identity.
func Decide(v View, t Timing) Decision {
	if v.Authority {
		switch {
		case !v.Holding:
			return Decision{Fence, "signing without the lease"}
		case !v.Now.Before(v.Deadline(t)):
			return Decision{Fence, fmt.Sprintf("lease not renewed since %s: TTL %s less margin %s ran out", v.Renewed.Format(time.RFC3339Nano), v.TTL, t.Margin)}
		case !v.Unhealthy.IsZero() && v.Now.Sub(v.Unhealthy) >= t.Margin:
			// A paused or hung authority may sign again the moment it resumes: fence it and
			// hand the identity over rather than keep the lease for it.
			return Decision{Fence, fmt.Sprintf("node not answering for %s", v.Now.Sub(v.Unhealthy).Round(time.Millisecond))}
		}
		return Decision{Wait, "authority holding the lease"}
	}
	if !v.Holding {
		if v.WatchingSince.IsZero() || !v.Unhealthy.IsZero() {
			// A node that cannot follow the chain could never promote: taking the lease
			// would only keep a healthy standby from it.
			return Decision{Wait, "standby not following the chain: not campaigning"}
		}
		return Decision{Campaign, "standby without the lease"}
	}
	switch {
	case !v.Now.Before(v.Deadline(t)):
		return Decision{Resign, "lease not renewed in time"}
	case !v.Unhealthy.IsZero():
		return Decision{Resign, "node not answering: another standby should sign"}
	case v.Now.Sub(v.Acquired) < t.Margin:
		return Decision{Wait, "lease taken less than the margin ago"}
	case v.WatchingSince.IsZero() || v.Now.Sub(v.WatchingSince) < t.Margin:
		return Decision{Wait, "not yet watched the chain for the margin"}
	case !v.LastAuthored.IsZero() && v.Now.Sub(v.LastAuthored) < t.Margin:
		return Decision{Wait, fmt.Sprintf("identity authored a block %s ago", v.Now.Sub(v.LastAuthored).Round(time.Millisecond))}
	}
	return Decision{Promote, "lease held, margin passed, no block of the identity for the margin"}
}
