package testenv

import (
	"sync/atomic"
	"time"
)

// Clock is a manual clock for code that takes a now func (the gateway's rate limits, the
// operator's expectations): time stands still until the test advances it, so a time-based rule
// is tested without waiting for real time to pass. It is safe for concurrent use.
type Clock struct {
	start time.Time
	since atomic.Int64 // nanoseconds after start
}

// NewClock returns a clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{start: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return c.start.Add(time.Duration(c.since.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.since.Add(int64(d)) }
