package site

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/dinfra/stack/internal/console"
)

// Prometheus is a site whose chain facts and plots come from a Prometheus that scrapes its
// nodes and gateways with the onf recording rules loaded (`onf monitor up`'s, or the
// operator chart's rules.yaml): instant queries give each node's best and finalized block,
// peers and sync state for the overview, query_range the network's plots. The inner site
// (embedded) still lists the networks, their nodes and their state, and acts.
type Prometheus struct {
	console.Site
	API promv1.API
	// Window and Step are the plots' span and resolution: the console's --history times its
	// --interval, and its --interval.
	Window, Step time.Duration
}

// NewPrometheus is inner with its facts and plots from the Prometheus HTTP API at url.
func NewPrometheus(inner console.Site, url string, window, step time.Duration) (*Prometheus, error) {
	client, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", url, err)
	}
	return &Prometheus{Site: inner, API: promv1.NewAPI(client), Window: window, Step: step}, nil
}

// nodeFacts are the instant queries of the overview, by node: one query each for every
// network of the site.
var nodeFacts = map[string]string{
	"best":      "onf:node_best_block",
	"finalized": "onf:node_finalized_block",
	"peers":     "onf:node_peers",
	"syncing":   "onf:node_syncing",
}

// plotQueries are the range queries of the plots, each for every network of the site at
// once. Refusals are the onf_gateway_calls_total outcomes GatewayCounts counts as such plus
// the two counters without an outcome label (outcome="" matches them).
var plotQueries = map[string]string{
	"best":      "max by (namespace, network) (onf:node_best_block)",
	"finalized": "max by (namespace, network) (onf:node_finalized_block)",
	"peers":     "min by (namespace, network) (onf:node_peers)",
	"calls":     `sum by (namespace, network) (rate(onf_gateway_calls_total{outcome!~"denied|rate_limited|subscription_limited"}[1m]))`,
	"refused": `sum by (namespace, network) (rate({__name__=~"onf_gateway_calls_total|onf_gateway_auth_failures_total|onf_gateway_rejected_messages_total",` +
		`outcome=~"|denied|rate_limited|subscription_limited"}[1m]))`,
}

// Poll is the inner site's poll with each node's chain facts and each network's history
// from Prometheus. A Prometheus that does not answer fails the poll: the site shows as
// unreachable, naming it.
func (p *Prometheus) Poll(ctx context.Context) ([]console.Network, error) {
	nets, err := p.Site.Poll(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	facts := map[string]model.Vector{}
	for _, name := range slices.Sorted(maps.Keys(nodeFacts)) {
		if facts[name], err = p.instant(ctx, nodeFacts[name], now); err != nil {
			return nil, err
		}
	}
	hist, err := p.history(ctx, now)
	if err != nil {
		return nil, err
	}
	for i := range nets {
		n := &nets[i]
		for j := range n.Status.Nodes {
			node := &n.Status.Nodes[j]
			if !node.Running {
				continue
			}
			get := func(name string) (float64, bool) {
				return find(facts[name], n.Status.Namespace, n.Status.Network, node.Name)
			}
			if v, ok := get("best"); ok {
				node.Best = uint64(v)
			}
			if v, ok := get("finalized"); ok {
				node.Finalized = uint64(v)
			}
			if v, ok := get("peers"); ok {
				node.Peers = int(v)
			}
			if v, ok := get("syncing"); ok {
				node.Syncing = v == 1
			}
		}
		n.History = hist[netKey{n.Status.Namespace, n.Status.Network}]
		if n.History == nil {
			n.History = []console.Sample{} // no series yet: empty plots, not the console's polls
		}
		n.Gateway = nil // the rates come with the history
	}
	return nets, nil
}

func (p *Prometheus) instant(ctx context.Context, q string, at time.Time) (model.Vector, error) {
	v, _, err := p.API.Query(ctx, q, at)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %s: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("prometheus: %s: want an instant vector, got a %s", q, v.Type())
	}
	return vec, nil
}

// find is the sample of a node: labelled with its network (and namespace in a cluster) and
// its node name, or, in a cluster, its pod's (NETWORK-NODE).
func find(v model.Vector, namespace, network, node string) (float64, bool) {
	for _, s := range v {
		m := s.Metric
		if string(m["network"]) != network || namespace != "" && string(m["namespace"]) != namespace {
			continue
		}
		if n := string(m["node"]); n == node || n == network+"-"+node {
			return float64(s.Value), true
		}
	}
	return 0, false
}

// netKey names a network in Prometheus's labels; local series carry no namespace.
type netKey struct{ namespace, network string }

// history is every network's samples over the window, one per step, from one query_range
// per plot.
func (p *Prometheus) history(ctx context.Context, now time.Time) (map[netKey][]console.Sample, error) {
	r := promv1.Range{Start: now.Add(-p.Window), End: now, Step: p.Step}
	type point struct {
		net netKey
		t   model.Time
	}
	byPoint := map[point]*console.Sample{}
	// The steps where the heights have a sample (others only say the gateway was idle), and
	// those with a finalized one (gossamer exports none: no lag then).
	best, finalized := map[point]bool{}, map[point]bool{}
	for _, name := range slices.Sorted(maps.Keys(plotQueries)) {
		q := plotQueries[name]
		v, _, err := p.API.QueryRange(ctx, q, r)
		if err != nil {
			return nil, fmt.Errorf("prometheus: %s: %w", q, err)
		}
		m, ok := v.(model.Matrix)
		if !ok {
			return nil, fmt.Errorf("prometheus: %s: want a range vector, got a %s", q, v.Type())
		}
		for _, series := range m {
			net := netKey{string(series.Metric["namespace"]), string(series.Metric["network"])}
			for _, pt := range series.Values {
				k := point{net, pt.Timestamp}
				s := byPoint[k]
				if s == nil {
					s = &console.Sample{Time: int64(pt.Timestamp)}
					byPoint[k] = s
				}
				set(s, name, float64(pt.Value))
				best[k] = best[k] || name == "best"
				finalized[k] = finalized[k] || name == "finalized"
			}
		}
	}
	out := map[netKey][]console.Sample{}
	for k, s := range byPoint {
		if !best[k] {
			continue
		}
		if finalized[k] && s.Best > s.Finalized {
			s.Lag = s.Best - s.Finalized
		}
		out[k.net] = append(out[k.net], *s)
	}
	for _, h := range out {
		slices.SortFunc(h, func(a, b console.Sample) int { return cmp.Compare(a.Time, b.Time) })
	}
	return out, nil
}

func set(s *console.Sample, name string, v float64) {
	switch name {
	case "best":
		s.Best = uint64(v)
	case "finalized":
		s.Finalized = uint64(v)
	case "peers":
		s.Peers = int(v)
	case "calls":
		s.Calls = &v
	case "refused":
		s.Refused = &v
	}
}
