package ha

import (
	"context"
	"time"

	"github.com/dinfra/stack/internal/rpc"
)

// WatchHealth asks a node for its health over url every poll until ctx ends. current is the
// node's running process (0: none); report gets, per process, since when it has not
// answered (zero: it answers): a process that answered and stops, or never answers within
// grace of its start, is unhealthy from its first miss.
func WatchHealth(ctx context.Context, url string, poll, grace time.Duration, current func() int, report func(pid int, missed time.Time)) {
	var pid int
	var answered bool
	var since, missed time.Time
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for ; ctx.Err() == nil; <-tick.C {
		if p := current(); p != pid {
			pid, answered, since, missed = p, false, time.Now(), time.Time{}
		}
		ok := pid != 0 && ping(ctx, url, poll)
		now := time.Now()
		switch {
		case pid == 0 || ok:
			answered, missed = answered || ok, time.Time{}
		case missed.IsZero() && (answered || now.Sub(since) > grace):
			missed = now
		}
		report(pid, missed)
	}
}

func ping(ctx context.Context, url string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := rpc.Dial(ctx, url)
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.SystemHealth(ctx)
	return err == nil
}
