package console

import (
	"context"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/netstatus"
)

// TestGatewayRates: each sample after the first carries the gateway's calls and refusals per
// second since the previous poll; none without a gateway or across a counter reset (the
// gateway restarted).
func TestGatewayRates(t *testing.T) {
	var ns netState
	t0 := time.Unix(1000, 0)
	rates := func(g *GatewayCounts, at time.Time) (calls, refused float64, ok bool) {
		var s Sample
		ns.gatewayRates(&s, g, at)
		if s.Calls == nil || s.Refused == nil {
			return 0, 0, false
		}
		return *s.Calls, *s.Refused, true
	}
	if _, _, ok := rates(&GatewayCounts{Calls: 10, Refused: 2}, t0); ok {
		t.Error("a rate from the first reading")
	}
	if c, r, ok := rates(&GatewayCounts{Calls: 30, Refused: 7}, t0.Add(10*time.Second)); !ok || c != 2 || r != 0.5 {
		t.Errorf("rates %v %v %v, want 2 and 0.5 per second", c, r, ok)
	}
	if _, _, ok := rates(&GatewayCounts{Calls: 1}, t0.Add(20*time.Second)); ok {
		t.Error("a rate across a counter reset")
	}
	if c, _, ok := rates(&GatewayCounts{Calls: 6}, t0.Add(25*time.Second)); !ok || c != 1 {
		t.Errorf("rate after the reset %v %v, want 1 per second", c, ok)
	}
	if _, _, ok := rates(nil, t0.Add(30*time.Second)); ok {
		t.Error("a rate without a gateway")
	}
}

// TestSiteHistory: a site that keeps its own history (a Prometheus) feeds the plots instead
// of the console's samples.
func TestSiteHistory(t *testing.T) {
	calls := 1.5
	own := []Sample{{Time: 1, Best: 5}, {Time: 2, Best: 6, Calls: &calls}}
	st := &netstatus.Network{Network: "dev", Nodes: []netstatus.Node{node("rpc-0", "rpc", true, "", 1, 9, 7, "v")}}
	f := &fakeSite{nets: []Network{{Status: st, History: own}}}
	c := NewCache([]NamedSite{{Name: "local", Site: f}}, Options{})
	c.poll(context.Background(), "local", c.sites["local"])
	d, ok := c.Detail("local", "dev")
	if !ok || len(d.History) != 2 || d.History[1].Best != 6 || *d.History[1].Calls != 1.5 || d.Summary.Best != 9 {
		t.Fatalf("detail %+v", d)
	}
}
