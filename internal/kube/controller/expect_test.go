package controller

import (
	"testing"
	"time"
)

func TestExpectations(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := &expectations{now: func() time.Time { return now }}
	if e.pending("Secret/a", "h1") {
		t.Fatal("pending before anything was applied")
	}
	e.applied("Secret/a", "h1")
	if !e.pending("Secret/a", "h1") {
		t.Error("not pending right after apply")
	}
	if e.pending("Secret/a", "h2") {
		t.Error("pending for another desired state")
	}
	now = now.Add(expectationTTL)
	if e.pending("Secret/a", "h1") {
		t.Error("still pending after the TTL: a deleted object would never come back")
	}
	e.applied("Secret/a", "h1")
	e.observed("Secret/a")
	if e.pending("Secret/a", "h1") {
		t.Error("pending after the cache showed it")
	}
}
