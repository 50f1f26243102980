package limit

import (
	"sync"
	"time"
)

// tokens is a token bucket: it holds up to burst tokens and gains perSecond of them every
// second. A call takes one; a call refused elsewhere can give its token back. It allocates
// nothing, as it runs for every call the gateway sees.
type tokens struct {
	mu        sync.Mutex
	perSecond float64
	burst     float64
	have      float64
	at        int64 // unix nanoseconds when have was last brought up to date
}

func newTokens(perSecond float64, burst int) *tokens {
	return &tokens{perSecond: perSecond, burst: float64(burst), have: float64(burst)}
}

// setLimits changes the rate and the burst; tokens already there stay, up to the new burst.
func (t *tokens) setLimits(perSecond float64, burst int) {
	t.mu.Lock()
	t.perSecond, t.burst = perSecond, float64(burst)
	t.have = min(t.have, t.burst)
	t.mu.Unlock()
}

// take takes one token at now, if there is one.
func (t *tokens) take(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refillLocked(now.UnixNano())
	if t.have < 1 {
		return false
	}
	t.have--
	return true
}

// giveBack returns a token taken for a call that did not happen.
func (t *tokens) giveBack() {
	t.mu.Lock()
	t.have = min(t.have+1, t.burst)
	t.mu.Unlock()
}

func (t *tokens) refillLocked(now int64) {
	if now <= t.at {
		return // a clock read before the last one adds nothing
	}
	if t.at != 0 {
		t.have = min(t.burst, t.have+float64(now-t.at)*t.perSecond/1e9)
	}
	t.at = now
}
