// Package upstream keeps the gateway's pool of RPC nodes: a system_health probe per node marks
// it up or down (a node that is unreachable or still syncing gets no traffic), and picks a
// healthy node per request (round robin) or per WebSocket connection (fewest connections).
// Stateless calls travel over a few WebSocket connections per node shared by all callers.
package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/rpc"
)

// Node is one upstream RPC node.
type Node struct {
	Name, HTTP, WS string

	healthy atomic.Bool
	conns   atomic.Int64 // open proxied WebSocket connections
	checker *rpc.Client
	mux     *Mux
}

// Send sends one stateless call over the node's shared WebSocket connections (see Mux), or
// queues it in b.
func (n *Node) Send(ctx context.Context, b *Batch, call Call) (Ticket, error) {
	return n.mux.Send(ctx, b, call)
}

// Healthy reports the last probe's verdict.
func (n *Node) Healthy() bool { return n.healthy.Load() }

// Release returns a WebSocket connection slot taken by PickWS.
func (n *Node) Release() { n.conns.Add(-1) }

// Pool is the set of upstream nodes.
type Pool struct {
	nodes    []*Node
	timeout  time.Duration
	log      *slog.Logger
	onChange func(name string, healthy bool)
	next     atomic.Uint64
	mu       sync.Mutex // serialises probes
}

// New builds the pool; every node starts down until its first probe. onChange (may be nil)
// is told every probe result, for metrics.
func New(ups []config.Upstream, hc config.HealthCheck, log *slog.Logger, onChange func(string, bool)) (*Pool, error) {
	p := &Pool{timeout: hc.Timeout.D(), log: log, onChange: onChange}
	probeHTTP := &http.Client{Timeout: hc.Timeout.D()}
	for _, u := range ups {
		c, err := rpc.Dial(context.Background(), u.HTTP, rpc.WithHTTPClient(probeHTTP))
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		p.nodes = append(p.nodes, &Node{Name: u.Name, HTTP: u.HTTP, WS: u.WS, checker: c, mux: NewMux(u.WS, config.MaxAnswerBytes)})
	}
	return p, nil
}

// Nodes returns the nodes in configuration order.
func (p *Pool) Nodes() []*Node { return p.nodes }

// CheckAll probes every node once, concurrently.
func (p *Pool) CheckAll(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range p.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.check(ctx, n)
		}()
	}
	wg.Wait()
}

func (p *Pool) check(ctx context.Context, n *Node) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	h, err := n.checker.SystemHealth(ctx)
	healthy := err == nil && !h.IsSyncing
	if was := n.healthy.Swap(healthy); was != healthy {
		if healthy {
			p.log.Info("upstream up", "upstream", n.Name)
		} else {
			reason := "syncing"
			if err != nil {
				reason = err.Error()
			}
			p.log.Warn("upstream down", "upstream", n.Name, "reason", reason)
		}
	}
	if p.onChange != nil {
		p.onChange(n.Name, healthy)
	}
}

// MarkDown takes a node out of rotation until its next successful probe (a request to it
// failed at the transport level).
func (p *Pool) MarkDown(n *Node, err error) {
	if n.healthy.Swap(false) {
		p.log.Warn("upstream down", "upstream", n.Name, "reason", err.Error())
		if p.onChange != nil {
			p.onChange(n.Name, false)
		}
	}
}

// PickHTTP returns a healthy node, round robin over the healthy ones.
func (p *Pool) PickHTTP() (*Node, bool) {
	healthy := 0
	for _, n := range p.nodes {
		if n.Healthy() {
			healthy++
		}
	}
	if healthy == 0 {
		return nil, false
	}
	k := int(p.next.Add(1) % uint64(healthy))
	for _, n := range p.nodes {
		if n.Healthy() {
			if k == 0 {
				return n, true
			}
			k--
		}
	}
	return nil, false // health changed under us; the caller reports no upstream
}

// PickWS returns the healthy node with the fewest proxied connections and counts the new
// one; call Release when it closes.
func (p *Pool) PickWS() (*Node, bool) {
	var best *Node
	for _, n := range p.nodes {
		if n.Healthy() && (best == nil || n.conns.Load() < best.conns.Load()) {
			best = n
		}
	}
	if best == nil {
		return nil, false
	}
	best.conns.Add(1)
	return best, true
}

// Close releases the probes' and the shared connections.
func (p *Pool) Close() {
	for _, n := range p.nodes {
		_ = n.checker.Close()
		n.mux.Close()
	}
}
