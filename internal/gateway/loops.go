package gateway

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/dinfra/stack/internal/gateway/netloop"
	"github.com/dinfra/stack/internal/gateway/upstream"
)

// eventLoops read the fast server's clients, HTTP and WebSocket alike: one event loop per
// core, each serving many client sockets from one goroutine (see netloop). A client's
// request costs one read system call and no goroutine wake-up, and the stateless calls of
// every client served in one pass leave for the node together. There are none on systems
// without epoll; the gateway then serves with the reference server.
type eventLoops struct {
	once  sync.Once
	loops []*eventLoop
	next  atomic.Uint64
}

type eventLoop struct {
	loop  *netloop.Loop
	batch upstream.Batch // the shared calls of the clients served in the current pass
}

// start makes the loops (once) and reports whether there are any.
func (ls *eventLoops) start(g *Gateway) bool {
	ls.once.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			lp := &eventLoop{}
			l, err := netloop.New(lp.batch.Flush)
			if err != nil {
				if !errors.Is(err, netloop.ErrUnsupported) {
					g.log.Warn("event loop unavailable; net/http serves every client", "err", err)
				}
				return
			}
			lp.loop = l
			ls.loops = append(ls.loops, lp)
		}
	})
	return len(ls.loops) > 0
}

// pick returns the loop for a new client; start must have returned true.
func (ls *eventLoops) pick() *eventLoop {
	return ls.loops[ls.next.Add(1)%uint64(len(ls.loops))]
}
