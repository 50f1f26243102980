// Package rollout holds the decisions of a canary rollout, as pure functions of the spec and
// of what the nodes report: how many nodes each step upgrades (Plan), the gates a step's
// upgraded nodes pass against the others (Gates, Step.Check). The local supervisor and the
// operator gather the observations and carry out the verdicts.
package rollout

import (
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// Plan is the number of nodes running the new version after each step, for a group of
// replicas nodes: percentages rounded up, counts capped at replicas, repeated counts
// dropped. Signing groups move one node per step, whatever the steps say. A group of no
// nodes has one step of none.
func Plan(steps []intstr.IntOrString, replicas int, oneAtATime bool) []int32 {
	if replicas <= 0 {
		return []int32{0}
	}
	if oneAtATime {
		out := make([]int32, replicas)
		for i := range out {
			out[i] = int32(i + 1)
		}
		return out
	}
	var out []int32
	for _, s := range steps {
		n, err := intstr.GetScaledValueFromIntOrPercent(&s, replicas, true)
		if err != nil {
			continue // Validate refused it
		}
		n = min(max(n, 1), replicas)
		if len(out) == 0 || int32(n) > out[len(out)-1] {
			out = append(out, int32(n))
		}
	}
	if len(out) == 0 || out[len(out)-1] != int32(replicas) {
		out = append(out, int32(replicas))
	}
	return out
}

// Gates are a defaulted spec's checks of a step, ready to evaluate.
type Gates struct {
	MaxBlocksBehind    uint64
	FinalizedAdvancing bool
	// FinalityHolds: the network's finalized block must advance during the step before the
	// step passes (signing groups: the next validator goes out only while finality holds).
	FinalityHolds bool
	MinPeers      int
	Bake, Timeout time.Duration
	// Prometheus are the query gates, judged on the QueryResults given to Check in their
	// order; PrometheusURL is the spec's address of their Prometheus ("" when it gives none).
	Prometheus    []PromGate
	PrometheusURL string
}

// GatesOf reads a defaulted, validated upgrade of a group with role r.
func GatesOf(u *v1alpha1.Upgrade, r v1alpha1.Role) Gates {
	bake, _ := time.ParseDuration(u.Bake)
	timeout, _ := time.ParseDuration(u.StepTimeout)
	g := Gates{Bake: bake, Timeout: timeout, FinalizedAdvancing: true, FinalityHolds: network.Signs(r),
		MaxBlocksBehind: uint64(network.DefaultMaxBlocksBehind), MinPeers: int(network.DefaultMinPeers)}
	if gs := u.Gates; gs != nil {
		if gs.MaxBlocksBehind != nil {
			g.MaxBlocksBehind = uint64(*gs.MaxBlocksBehind)
		}
		if gs.MinPeers != nil {
			g.MinPeers = int(*gs.MinPeers)
		}
		if gs.FinalizedAdvancing != nil {
			g.FinalizedAdvancing = *gs.FinalizedAdvancing || network.Signs(r)
		}
		for _, q := range gs.Prometheus {
			most, _ := strconv.ParseFloat(q.Max, 64)
			g.Prometheus = append(g.Prometheus, PromGate{Query: q.Query, Max: most})
		}
		g.PrometheusURL = gs.PrometheusURL
	}
	return g
}

// Node is what one node reports: whether it exited since its step began, and its chain facts
// (valid when RPCError is empty).
type Node struct {
	Name      string
	Exited    string // why it exited during the step; "" while it keeps running
	RPCError  string // why it does not answer RPC; "" when it does
	Best      uint64
	Finalized uint64
	Peers     int
}

// Verdict is what a step's check decides.
type Verdict int

const (
	// Wait: the upgraded nodes have not yet passed every gate for the whole bake time.
	Wait Verdict = iota
	// Pass: they have; the next step may start.
	Pass
	// Fail: a gate failed for good; roll back.
	Fail
)

// Step is the progress of one step's checks. Its zero value with Started set is a step
// whose nodes just restarted.
type Step struct {
	Started time.Time
	// Healthy is since when every gate has passed without a break; zero while one fails.
	Healthy time.Time
	// finalized is each upgraded node's first finalized block seen in this step.
	finalized map[string]uint64
	// last is the most recent failing gate, reported when the step times out.
	last *v1alpha1.RolloutFailure
	// networkFinalized is the highest finalized block of the chain's nodes first seen in this
	// step; seen says it was.
	networkFinalized uint64
	seen             bool
}

// Check evaluates one observation of the step's upgraded nodes against the others of their
// chain (nodes not upgraded), and the answers to g.Prometheus's queries made with it. An
// upgraded node that exited fails the step at once; any other failing gate restarts the bake,
// and fails the step only when the step's timeout passes before the bake completes.
func (s *Step) Check(g Gates, now time.Time, upgraded, others []Node, queries ...QueryResult) (Verdict, *v1alpha1.RolloutFailure) {
	at := func(gate, node, value, want string) *v1alpha1.RolloutFailure {
		return &v1alpha1.RolloutFailure{Gate: gate, Node: node, Value: value, Want: want}
	}
	for _, n := range upgraded {
		if n.Exited != "" {
			return Fail, stamp(at("running", n.Name, n.Exited, "keeps running"), now)
		}
	}
	if s.finalized == nil {
		s.finalized = map[string]uint64{}
	}
	var refBest, refFinalized uint64
	answering := 0
	for _, o := range others {
		if o.Exited == "" && o.RPCError == "" {
			refBest, refFinalized = max(refBest, o.Best), max(refFinalized, o.Finalized)
			answering++
		}
	}
	if answering == 0 { // the whole group is upgraded and nothing else runs its chain
		for _, n := range upgraded {
			refBest, refFinalized = max(refBest, n.Best), max(refFinalized, n.Finalized)
		}
	}
	chainFinalized := refFinalized
	for _, n := range upgraded {
		if n.RPCError == "" {
			chainFinalized = max(chainFinalized, n.Finalized)
		}
	}
	if !s.seen {
		s.networkFinalized, s.seen = chainFinalized, true
	}
	baked := !s.Healthy.IsZero() && now.Sub(s.Healthy) >= g.Bake
	var failing *v1alpha1.RolloutFailure
	if baked && g.FinalityHolds && chainFinalized <= s.networkFinalized {
		failing = at("finalityHolds", "", fmt.Sprintf("network finalized %d, not advanced since the step began %s ago", chainFinalized, now.Sub(s.Started).Round(time.Second)),
			"the network's finalized block advancing")
	}
	for _, n := range upgraded {
		if failing != nil {
			break
		}
		if n.RPCError != "" {
			failing = at("rpc", n.Name, n.RPCError, "answers RPC")
			break
		}
		if _, seen := s.finalized[n.Name]; !seen {
			s.finalized[n.Name] = n.Finalized
		}
		if n.Best+g.MaxBlocksBehind < refBest {
			failing = at("maxBlocksBehind", n.Name,
				fmt.Sprintf("%d blocks behind (best %d, others' best %d)", refBest-n.Best, n.Best, refBest),
				fmt.Sprintf("at most %d behind", g.MaxBlocksBehind))
			break
		}
		if n.Peers < g.MinPeers {
			failing = at("minPeers", n.Name, fmt.Sprintf("%d peers", n.Peers), fmt.Sprintf("at least %d", g.MinPeers))
			break
		}
		// Finality is judged over the bake: a node that joins finalizes a little later.
		if baked && g.FinalizedAdvancing && n.Finalized <= s.finalized[n.Name] && n.Finalized < refFinalized {
			failing = at("finalizedAdvancing", n.Name,
				fmt.Sprintf("finalized %d since the step began %s ago, others at %d", n.Finalized, now.Sub(s.Started).Round(time.Second), refFinalized),
				"advancing, or at the others' finalized block")
			break
		}
	}
	for i, q := range g.Prometheus {
		if failing != nil {
			break
		}
		switch {
		case i >= len(queries):
			failing = at("prometheus", "", q.Query+": not evaluated", fmt.Sprintf("at most %g", q.Max))
		case queries[i].Err != "":
			failing = at("prometheus", "", q.Query+": "+queries[i].Err, fmt.Sprintf("at most %g", q.Max))
		case queries[i].Value > q.Max:
			failing = at("prometheus", "", fmt.Sprintf("%s = %g", q.Query, queries[i].Value), fmt.Sprintf("at most %g", q.Max))
		}
	}
	switch {
	case failing == nil && baked:
		return Pass, nil
	case failing == nil:
		if s.Healthy.IsZero() {
			s.Healthy = now
		}
	default:
		s.Healthy, s.last = time.Time{}, failing
	}
	if now.Sub(s.Started) < g.Timeout {
		return Wait, nil
	}
	if s.last != nil {
		return Fail, stamp(s.last, now)
	}
	return Fail, stamp(at("stepTimeout", "", fmt.Sprintf("healthy for %s of the bake's %s", now.Sub(s.Healthy).Round(time.Second), g.Bake),
		fmt.Sprintf("every gate passing for %s within %s", g.Bake, g.Timeout)), now)
}

func stamp(f *v1alpha1.RolloutFailure, now time.Time) *v1alpha1.RolloutFailure {
	c := *f
	c.At.Time = now
	return &c
}
