package console

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/netstatus"
)

// Sample is one poll's chain facts of a network, for the plots.
type Sample struct {
	Time      int64  `json:"t"` // Unix milliseconds
	Best      uint64 `json:"best"`
	Finalized uint64 `json:"finalized"`
	Lag       uint64 `json:"lag"`
	Peers     int    `json:"peers"`
	// Calls and Refused are the RPC gateway's calls and refusals per second since the
	// previous sample; absent without a gateway, and on the first sample or a counter reset.
	Calls   *float64 `json:"calls,omitempty"`
	Refused *float64 `json:"refused,omitempty"`
}

// ring keeps the last cap(buf) samples.
type ring struct {
	buf  []Sample
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]Sample, n)} }

func (r *ring) add(s Sample) {
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
}

// samples are the kept samples, oldest first.
func (r *ring) samples() []Sample {
	if !r.full {
		return append([]Sample(nil), r.buf[:r.next]...)
	}
	return append(append([]Sample(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

// SiteView is a site in the overview.
type SiteView struct {
	Name string `json:"name"`
	// Reachable is false when the last poll failed; Networks are then those of the last poll
	// that worked (Polled says when).
	Reachable bool      `json:"reachable"`
	Error     string    `json:"error,omitempty"`
	Polled    time.Time `json:"polled,omitzero"`
	Networks  []Summary `json:"networks"`
}

// Overview is every site's networks.
type Overview struct {
	Sites []SiteView `json:"sites"`
}

// Detail is the network page.
type Detail struct {
	Summary   Summary           `json:"summary"`
	Reachable bool              `json:"reachable"`
	Groups    []Group           `json:"groups"`
	History   []Sample          `json:"history"`
	BlockTime []Bucket          `json:"blockTime"`
	Alerts    []monitor.Alert   `json:"alerts"`
	Backups   []backup.Manifest `json:"backups"`
	// HA are the identities of HA groups as `onf status` shows them: authority, lease
	// holder and expiry.
	HA     []netstatus.HAIdentity `json:"ha"`
	Notes  []string               `json:"notes,omitempty"`
	Polled time.Time              `json:"polled"`
}

// Bucket is one bar of the block time histogram: how many blocks came in at most Le seconds
// (and more than the previous bucket's Le); Le 0 is the last, open-ended bucket.
type Bucket struct {
	Le     float64 `json:"le"`
	Blocks int     `json:"blocks"`
}

// blockTimeEdges are the histogram's upper bounds in seconds, around the usual 6 s slot.
var blockTimeEdges = []float64{1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 60}

// BlockTimes is the histogram of block times seen in the samples: between two samples where
// the best block moved, each of the new blocks took the time since the previous move divided
// by their number. The resolution is the poll interval; the first move has no start and is
// not counted.
func BlockTimes(hist []Sample) []Bucket {
	out := make([]Bucket, len(blockTimeEdges)+1)
	for i, le := range blockTimeEdges {
		out[i].Le = le
	}
	var last *Sample // the sample where the best block last moved
	for i := 1; i < len(hist); i++ {
		cur := &hist[i]
		if cur.Best <= hist[i-1].Best {
			continue
		}
		if last != nil && cur.Best > last.Best {
			blocks := int(cur.Best - last.Best)
			secs := float64(cur.Time-last.Time) / 1000 / float64(blocks)
			b := len(blockTimeEdges)
			for j, le := range blockTimeEdges {
				if secs <= le {
					b = j
					break
				}
			}
			out[b].Blocks += blocks
		}
		last = cur
	}
	return out
}

// Options configure a Cache.
type Options struct {
	Interval time.Duration // between two polls of a site (default 5s)
	History  int           // samples kept per network (default 360: 30 minutes at 5s)
	Log      *slog.Logger
}

// Cache polls every site on an interval and keeps the result; pages read only the cache.
type Cache struct {
	opts  Options
	names []string
	sites map[string]*siteState

	mu       sync.RWMutex
	overview []byte        // the Overview as JSON, rebuilt on every poll
	changed  chan struct{} // closed and replaced on every poll
}

type siteState struct {
	site    Site
	refresh chan struct{}
	view    SiteView
	nets    map[string]*netState
}

type netState struct {
	net  Network
	hist *ring
	// gw and gwAt are the gateway's last counters and when they were read, for its rates.
	gw   *GatewayCounts
	gwAt time.Time
}

// gatewayRates sets the sample's gateway calls and refusals per second from the counters
// read at now and the previous ones.
func (ns *netState) gatewayRates(s *Sample, g *GatewayCounts, now time.Time) {
	prev, at := ns.gw, ns.gwAt
	ns.gw, ns.gwAt = g, now
	if g == nil || prev == nil || g.Calls < prev.Calls || g.Refused < prev.Refused || !now.After(at) {
		return
	}
	dt := now.Sub(at).Seconds()
	calls, refused := (g.Calls-prev.Calls)/dt, (g.Refused-prev.Refused)/dt
	s.Calls, s.Refused = &calls, &refused
}

// NamedSite is a site and the name the console shows it under.
type NamedSite struct {
	Name string
	Site Site
}

// NewCache makes a cache of the sites, in the order given; Run polls them.
func NewCache(sites []NamedSite, opts Options) *Cache {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.History <= 0 {
		opts.History = 360
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{opts: opts, sites: map[string]*siteState{}, changed: make(chan struct{})}
	for _, s := range sites {
		c.names = append(c.names, s.Name)
		c.sites[s.Name] = &siteState{site: s.Site, refresh: make(chan struct{}, 1),
			view: SiteView{Name: s.Name, Networks: []Summary{}}, nets: map[string]*netState{}}
	}
	c.rebuild()
	return c
}

// Run polls every site until ctx ends: at once, then every interval, and when Refresh asks.
func (c *Cache) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, name := range c.names {
		wg.Go(func() { c.pollLoop(ctx, name) })
	}
	wg.Wait()
}

// Refresh polls a site now (after an action changed it) instead of at its next interval.
func (c *Cache) Refresh(site string) {
	if s := c.sites[site]; s != nil {
		select {
		case s.refresh <- struct{}{}:
		default:
		}
	}
}

func (c *Cache) pollLoop(ctx context.Context, name string) {
	s := c.sites[name]
	tick := time.NewTicker(c.opts.Interval)
	defer tick.Stop()
	for {
		c.poll(ctx, name, s)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.refresh:
		}
	}
}

// poll asks the site once. A failed poll marks the site unreachable and keeps its last
// networks; a network the site no longer has is dropped with its history.
func (c *Cache) poll(ctx context.Context, name string, s *siteState) {
	pctx, cancel := context.WithTimeout(ctx, max(c.opts.Interval, 10*time.Second))
	nets, err := s.site.Poll(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if s.view.Reachable || s.view.Error == "" {
			c.opts.Log.Warn("site unreachable", "site", name, "err", err)
		}
		s.view.Reachable, s.view.Error = false, err.Error()
		c.rebuildLocked()
		return
	}
	if !s.view.Reachable {
		c.opts.Log.Info("site reachable", "site", name, "networks", len(nets))
	}
	s.view.Reachable, s.view.Error, s.view.Polled = true, "", now
	seen := map[string]*netState{}
	s.view.Networks = make([]Summary, 0, len(nets))
	for _, n := range nets {
		sum := Summarize(name, n)
		ns := s.nets[sum.ID]
		if ns == nil {
			ns = &netState{hist: newRing(c.opts.History)}
		}
		ns.net = n
		sample := Sample{Time: now.UnixMilli(), Best: sum.Best, Finalized: sum.Finalized, Lag: sum.Lag, Peers: sum.Peers}
		ns.gatewayRates(&sample, n.Gateway, now)
		ns.hist.add(sample)
		seen[sum.ID] = ns
		s.view.Networks = append(s.view.Networks, sum)
	}
	s.nets = seen
	c.rebuildLocked()
}

func (c *Cache) rebuild() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebuildLocked()
}

// rebuildLocked renders the overview once per poll, so serving it costs no work per request,
// and wakes the event streams.
func (c *Cache) rebuildLocked() {
	var o Overview
	for _, name := range c.names {
		o.Sites = append(o.Sites, c.sites[name].view)
	}
	data, err := json.Marshal(o)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	c.overview = data
	close(c.changed)
	c.changed = make(chan struct{})
}

// Overview is the overview as JSON and a channel closed when it changes.
func (c *Cache) Overview() ([]byte, <-chan struct{}) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.overview, c.changed
}

// Detail is a network's page, false when the site has no such network.
func (c *Cache) Detail(site, id string) (*Detail, bool) {
	s := c.sites[site]
	if s == nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	ns := s.nets[id]
	if ns == nil {
		return nil, false
	}
	hist := ns.net.History
	if hist == nil {
		hist = ns.hist.samples()
	}
	return &Detail{
		Summary: Summarize(site, ns.net), Reachable: s.view.Reachable, Groups: Groups(ns.net),
		History: hist, BlockTime: BlockTimes(hist), Alerts: nonNil(ns.net.Alerts),
		Backups: nonNil(ns.net.Backups), HA: nonNil(ns.net.Status.HA), Notes: ns.net.Notes, Polled: s.view.Polled,
	}, true
}

// lookup is the site and the namespace and name of one of its networks, as last polled.
func (c *Cache) lookup(site, id string) (Site, Summary, bool) {
	s := c.sites[site]
	if s == nil {
		return nil, Summary{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	ns := s.nets[id]
	if ns == nil {
		return nil, Summary{}, false
	}
	return s.site, Summarize(site, ns.net), true
}

// nonNil makes an empty list an empty JSON array, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
