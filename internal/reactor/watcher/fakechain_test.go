package watcher

import (
	"context"
	"errors"
	"sync"
)

// fakeChain is an in-memory chain with the semantics the watcher relies on: blocks with
// events, a live set that follows them, status reports that end failed orders, and a
// subscription to new heights. Setting down makes every call fail and closes subscriptions.
type fakeChain struct {
	mu       sync.Mutex
	height   int64
	events   map[int64][]Event
	live     map[uint64]Order
	subs     []chan int64
	down     bool
	deployed map[uint64][]string
	failed   map[uint64]string
	// reportCalls counts ReportDeployed calls per order, liveCalls LiveOrders calls (one
	// per reconcile); while hold is open, ReportDeployed waits for it to close, as a real
	// report waits for its block.
	reportCalls map[uint64]int
	liveCalls   int
	hold        chan struct{}
}

var errDown = errors.New("chain unreachable")

func newFakeChain() *fakeChain {
	return &fakeChain{events: map[int64][]Event{}, live: map[uint64]Order{}, deployed: map[uint64][]string{}, failed: map[uint64]string{}, reportCalls: map[uint64]int{}}
}

// commit adds a block holding evs and returns its height.
func (c *fakeChain) commit(evs ...Event) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitLocked(evs...)
}

func (c *fakeChain) commitLocked(evs ...Event) int64 {
	c.height++
	for _, e := range evs {
		e.Order.AwardedAt = c.height
		switch e.Kind {
		case Awarded:
			c.live[e.Order.ID] = e.Order
		case Ended:
			delete(c.live, e.Order.ID)
		}
		c.events[c.height] = append(c.events[c.height], e)
	}
	for _, s := range c.subs {
		select {
		case s <- c.height:
		default: // a slow subscriber catches up from the height it has
		}
	}
	return c.height
}

func (c *fakeChain) setDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
	if down {
		for _, s := range c.subs {
			close(s)
		}
		c.subs = nil
	}
}

func (c *fakeChain) ChainID() string { return "dinfra-test" }

func (c *fakeChain) LatestHeight(context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return 0, errDown
	}
	return c.height, nil
}

func (c *fakeChain) Events(_ context.Context, h int64, provider string) ([]Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, errDown
	}
	return append([]Event(nil), c.events[h]...), nil
}

func (c *fakeChain) NewHeights(ctx context.Context) (<-chan int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, errDown
	}
	ch := make(chan int64, 64)
	c.subs = append(c.subs, ch)
	return ch, nil
}

func (c *fakeChain) LiveOrders(context.Context, string) ([]Order, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, 0, errDown
	}
	c.liveCalls++
	var out []Order
	for _, o := range c.live {
		out = append(out, o)
	}
	return out, c.height, nil
}

func (c *fakeChain) ReportDeployed(_ context.Context, id uint64, endpoints []string) error {
	c.mu.Lock()
	c.reportCalls[id]++
	hold := c.hold
	c.mu.Unlock()
	if hold != nil {
		<-hold
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o, err := c.pendingLocked(id)
	if err != nil {
		return err
	}
	o.Reported = true
	c.live[id] = o
	c.deployed[id] = endpoints
	c.commitLocked()
	return nil
}

func (c *fakeChain) ReportFailed(_ context.Context, id uint64, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, err := c.pendingLocked(id)
	if err != nil {
		return err
	}
	c.failed[id] = reason
	c.commitLocked(Event{Kind: Ended, Order: o})
	return nil
}

// pendingLocked is the live, not yet reported order id: the only state a status report
// is accepted in.
func (c *fakeChain) pendingLocked(id uint64) (Order, error) {
	o, ok := c.live[id]
	switch {
	case c.down:
		return Order{}, errDown
	case !ok || o.Reported:
		return Order{}, errors.New("subscription is not pending")
	}
	return o, nil
}

// counts returns how many times order id was reported deployed and how many reconciles
// have read the live set.
func (c *fakeChain) counts(id uint64) (reports, reconciles int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reportCalls[id], c.liveCalls
}

func (c *fakeChain) report(id uint64) (endpoints []string, failed string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deployed[id], c.failed[id]
}
