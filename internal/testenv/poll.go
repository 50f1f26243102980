package testenv

import (
	"fmt"
	"testing"
	"time"
)

// Condition is what Eventually polls: whether it holds, and optionally what it saw when it
// does not (a string or an error), which the failure message reports.
type Condition interface {
	func() bool | func() (bool, string) | func() (bool, error)
}

// maxPollInterval bounds the wait between two polls: a condition that calls a process or an
// API server is not hammered, and a test overshoots the moment it holds by at most this.
const maxPollInterval = 100 * time.Millisecond

// Eventually polls cond until it holds, failing t when timeout passes first with what and the
// last thing cond saw. The first polls follow each other quickly (1 ms, doubling up to
// maxPollInterval), so a fast condition costs a fast test.
func Eventually[C Condition](t testing.TB, timeout time.Duration, what string, cond C) {
	t.Helper()
	if err := Poll(timeout, what, cond); err != nil {
		t.Fatal(err)
	}
}

// Poll is Eventually for a goroutine other than the test's own, where t.Fatal must not be
// called: it returns the failure instead (nil once cond holds).
func Poll[C Condition](timeout time.Duration, what string, cond C) error {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, maxPollInterval) {
		ok, seen := check(cond)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if seen != "" {
				seen = " (last seen: " + seen + ")"
			}
			return fmt.Errorf("%s: not within %s%s", what, timeout, seen)
		}
		time.Sleep(wait)
	}
}

// check runs a condition of any of Condition's shapes.
func check[C Condition](cond C) (bool, string) {
	switch c := any(cond).(type) {
	case func() bool:
		return c(), ""
	case func() (bool, string):
		return c()
	case func() (bool, error):
		ok, err := c()
		if err != nil {
			return ok, err.Error()
		}
		return ok, ""
	}
	panic(fmt.Sprintf("testenv: condition of type %T", cond))
}
