package controller

import (
	"sync"
	"time"
)

// expectationTTL is how long an applied object may stay invisible in the cache before it is
// applied again (it may have been deleted meanwhile).
const expectationTTL = 10 * time.Second

// expectations remember what this process applied until the cache shows it, so that a
// reconcile running before the cache catches up does not apply the same object twice.
type expectations struct {
	mu  sync.Mutex
	m   map[string]expectation
	now func() time.Time
}

type expectation struct {
	hash string
	at   time.Time
}

// pending reports whether key was applied with hash less than expectationTTL ago.
func (e *expectations) pending(key, hash string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	return ok && x.hash == hash && e.clock().Sub(x.at) < expectationTTL
}

// applied records that key was just applied with hash.
func (e *expectations) applied(key, hash string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]expectation{}
	}
	e.m[key] = expectation{hash: hash, at: e.clock()}
}

// observed forgets key: the cache shows what was applied.
func (e *expectations) observed(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}

func (e *expectations) clock() time.Time {
	if e.now != nil {
		return e.now()
	}
	return time.Now()
}
