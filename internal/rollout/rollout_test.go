package rollout

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

func TestPlan(t *testing.T) {
	i, s := intstr.FromInt32, intstr.FromString
	for _, c := range []struct {
		name     string
		steps    []intstr.IntOrString
		replicas int
		signs    bool
		want     []int32
	}{
		{"one, quarter, all of four", []intstr.IntOrString{i(1), s("25%"), s("100%")}, 4, false, []int32{1, 4}},
		{"one, quarter, all of eight", []intstr.IntOrString{i(1), s("25%"), s("100%")}, 8, false, []int32{1, 2, 8}},
		{"percent rounds up", []intstr.IntOrString{s("10%"), s("100%")}, 3, false, []int32{1, 3}},
		{"counts capped at replicas", []intstr.IntOrString{i(2), i(5), s("100%")}, 3, false, []int32{2, 3}},
		{"a last step short of all gets all", []intstr.IntOrString{i(1)}, 3, false, []int32{1, 3}},
		{"one node", network.DefaultUpgradeSteps, 1, false, []int32{1}},
		{"no nodes", network.DefaultUpgradeSteps, 0, false, []int32{0}},
		{"validators one at a time", []intstr.IntOrString{s("50%"), s("100%")}, 3, true, []int32{1, 2, 3}},
	} {
		if got := Plan(c.steps, c.replicas, c.signs); !slices.Equal(got, c.want) {
			t.Errorf("%s: Plan = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestGatesOf(t *testing.T) {
	no, three := false, int32(3)
	u := &v1alpha1.Upgrade{Bake: "10s", StepTimeout: "1m", Gates: &v1alpha1.UpgradeGates{FinalizedAdvancing: &no, MinPeers: &three}}
	g := GatesOf(u, v1alpha1.RoleRPC)
	if g.FinalizedAdvancing || g.MinPeers != 3 || g.MaxBlocksBehind != 5 || g.Bake != 10*time.Second || g.Timeout != time.Minute {
		t.Errorf("rpc group: %+v", g)
	}
	if g := GatesOf(u, v1alpha1.RoleValidator); !g.FinalizedAdvancing || !g.FinalityHolds {
		t.Errorf("a validator group gates on finality whatever the spec says: %+v", g)
	}
}

func TestStepCheck(t *testing.T) {
	g := Gates{MaxBlocksBehind: 5, FinalizedAdvancing: true, MinPeers: 1, Bake: 10 * time.Second, Timeout: time.Minute}
	t0 := time.Unix(1000, 0)
	healthy := func(best, fin uint64) Node { return Node{Name: "rpc-0", Best: best, Finalized: fin, Peers: 2} }
	others := []Node{{Name: "rpc-1", Best: 20, Finalized: 16, Peers: 2}, {Name: "rpc-2", RPCError: "refused"}}
	type obs struct {
		after time.Duration
		node  Node
	}
	for _, c := range []struct {
		name    string
		obs     []obs
		want    Verdict
		gate    string
		value   string
		healthy bool
	}{
		{"healthy through the bake passes", []obs{{0, healthy(18, 14)}, {5 * time.Second, healthy(19, 15)}, {10 * time.Second, healthy(20, 16)}}, Pass, "", "", true},
		{"healthy but not yet baked waits", []obs{{0, healthy(18, 14)}, {9 * time.Second, healthy(19, 15)}}, Wait, "", "", true},
		{"an exit fails at once", []obs{{time.Second, Node{Name: "rpc-0", Exited: "exit code 1"}}}, Fail, "running", "exit code 1", false},
		{"no RPC waits within the timeout", []obs{{30 * time.Second, Node{Name: "rpc-0", RPCError: "connection refused"}}}, Wait, "", "", false},
		{"no RPC by the timeout fails on rpc", []obs{{30 * time.Second, Node{Name: "rpc-0", RPCError: "connection refused"}}, {time.Minute, Node{Name: "rpc-0", RPCError: "connection refused"}}}, Fail, "rpc", "connection refused", false},
		{"behind fails by the timeout with the measured gap", []obs{{time.Minute, healthy(3, 0)}}, Fail, "maxBlocksBehind", "17 blocks behind (best 3, others' best 20)", false},
		{"five behind is within the gate", []obs{{0, healthy(15, 16)}, {10 * time.Second, healthy(15, 16)}}, Pass, "", "", true},
		{"no peers fails", []obs{{time.Minute, Node{Name: "rpc-0", Best: 20, Finalized: 16}}}, Fail, "minPeers", "0 peers", false},
		{"finality stuck behind the others fails", []obs{{0, healthy(19, 10)}, {10 * time.Second, healthy(20, 10)}, {time.Minute, healthy(20, 10)}}, Fail, "finalizedAdvancing", "finalized 10 since the step began 10s ago, others at 16", false},
		{"finality at the others' passes though it did not move", []obs{{0, healthy(20, 16)}, {10 * time.Second, healthy(20, 16)}}, Pass, "", "", true},
		{"a failure in the bake restarts it", []obs{{0, healthy(18, 14)}, {5 * time.Second, Node{Name: "rpc-0", RPCError: "timeout"}}, {10 * time.Second, healthy(20, 16)}}, Wait, "", "", true},
		{"healthy too late times out", []obs{{55 * time.Second, healthy(20, 16)}, {time.Minute, healthy(20, 16)}}, Fail, "stepTimeout", "healthy for 5s of the bake's 10s", true},
	} {
		s := &Step{Started: t0}
		var v Verdict
		var f *v1alpha1.RolloutFailure
		for _, o := range c.obs {
			v, f = s.Check(g, t0.Add(o.after), []Node{o.node}, others)
		}
		if v != c.want {
			t.Errorf("%s: verdict %d, want %d (failure %+v)", c.name, v, c.want, f)
			continue
		}
		if c.gate == "" && f != nil || c.gate != "" && (f == nil || f.Gate != c.gate || f.Value != c.value) {
			t.Errorf("%s: failure %+v, want gate %q value %q", c.name, f, c.gate, c.value)
		}
		if v == Fail && f.At.IsZero() {
			t.Errorf("%s: failure without a time", c.name)
		}
		if v != Fail && s.Healthy.IsZero() == c.healthy {
			t.Errorf("%s: healthy since %v, want healthy=%t", c.name, s.Healthy, c.healthy)
		}
	}
}

func TestStepCheckWholeGroup(t *testing.T) {
	// With every node of the chain upgraded, the nodes are judged against each other.
	g := Gates{MaxBlocksBehind: 2, MinPeers: 0, Bake: time.Second, Timeout: time.Minute}
	s := &Step{Started: time.Unix(0, 0)}
	up := []Node{{Name: "a-0", Best: 10}, {Name: "a-1", Best: 3}}
	if v, f := s.Check(g, time.Unix(61, 0), up, nil); v != Fail || f.Node != "a-1" || f.Gate != "maxBlocksBehind" {
		t.Errorf("got %d %+v", v, f)
	}
}

// A validator step passes only once the network's finality moved during it: the next
// validator never goes out while finality is stalled, and a stall to the timeout fails.
func TestStepCheckFinalityHolds(t *testing.T) {
	g := Gates{FinalizedAdvancing: true, FinalityHolds: true, MaxBlocksBehind: 5, MinPeers: 1, Bake: 10 * time.Second, Timeout: time.Minute}
	t0 := time.Unix(1000, 0)
	val := func(fin uint64) Node { return Node{Name: "validator-1", Best: fin + 2, Finalized: fin, Peers: 2} }
	other := func(fin uint64) []Node { return []Node{{Name: "validator-0", Best: fin + 2, Finalized: fin, Peers: 2}} }

	s := &Step{Started: t0}
	s.Check(g, t0, []Node{val(16)}, other(16))
	s.Check(g, t0.Add(5*time.Second), []Node{val(16)}, other(16))
	if v, _ := s.Check(g, t0.Add(15*time.Second), []Node{val(16)}, other(16)); v != Wait {
		t.Errorf("stalled finality: verdict %d, want wait", v)
	}
	s.Check(g, t0.Add(20*time.Second), []Node{val(17)}, other(17))
	if v, f := s.Check(g, t0.Add(30*time.Second), []Node{val(18)}, other(18)); v != Pass {
		t.Errorf("finality moving again: verdict %d (%+v), want pass", v, f)
	}

	s = &Step{Started: t0}
	var v Verdict
	var f *v1alpha1.RolloutFailure
	for _, after := range []time.Duration{0, 10 * time.Second, 30 * time.Second, time.Minute} {
		v, f = s.Check(g, t0.Add(after), []Node{val(16)}, other(16))
	}
	if v != Fail || f.Gate != "finalityHolds" || !strings.Contains(f.Value, "network finalized 16") {
		t.Errorf("finality stalled to the timeout: %d %+v", v, f)
	}
}
