package gateway

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/dinfra/stack/internal/gateway/netloop"
	"github.com/dinfra/stack/internal/gateway/upstream"
)

// eventLoops read the gateway's plain-TCP clients, HTTP and WebSocket alike: one event loop
// per core, each serving many client sockets from one goroutine (see netloop). A client's
// request costs one read system call and no goroutine wake-up, and the stateless calls of
// every client served in one pass leave for the node together. Clients whose socket is not a
// plain TCP one (TLS), and requests a loop does not take on, are served by a goroutine of
// their own, as on systems without event loops.
type eventLoops struct {
	once  sync.Once
	loops []*eventLoop
	next  atomic.Uint64
}

type eventLoop struct {
	loop  *netloop.Loop
	batch upstream.Batch // the shared calls of the clients served in the current pass
}

// pick returns the loop for a new client, or nil where there are none.
func (ls *eventLoops) pick(g *Gateway) *eventLoop {
	ls.once.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			lp := &eventLoop{}
			l, err := netloop.New(lp.batch.Flush)
			if err != nil {
				if !errors.Is(err, netloop.ErrUnsupported) {
					g.log.Warn("event loop unavailable; a goroutine reads each client", "err", err)
				}
				return
			}
			lp.loop = l
			ls.loops = append(ls.loops, lp)
		}
	})
	if len(ls.loops) == 0 {
		return nil
	}
	return ls.loops[ls.next.Add(1)%uint64(len(ls.loops))]
}
