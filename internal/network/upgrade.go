package network

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// Defaults of spec.groups[].upgrade.
var DefaultUpgradeSteps = []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("100%")}

const (
	DefaultBake            = "30s"
	DefaultStepTimeout     = "5m"
	DefaultMaxBlocksBehind = 5
	DefaultMinPeers        = 1
)

// Signs says whether a role's nodes sign blocks: their groups upgrade one node at a time and
// always gate on finality.
func Signs(r v1alpha1.Role) bool { return r == v1alpha1.RoleValidator || r == v1alpha1.RoleCollator }

// defaultUpgrade fills in a group's canary rollout settings (docs/rollout.md).
func defaultUpgrade(u *v1alpha1.Upgrade) {
	if u == nil {
		return
	}
	if u.Strategy == "" {
		u.Strategy = v1alpha1.UpgradeCanary
	}
	if len(u.Steps) == 0 {
		u.Steps = slices.Clone(DefaultUpgradeSteps)
	}
	if u.Bake == "" {
		u.Bake = DefaultBake
	}
	if u.StepTimeout == "" {
		u.StepTimeout = DefaultStepTimeout
	}
}

// validateUpgrade checks a group's upgrade: steps that only grow and end at 100%, a bake that
// fits in the step timeout, and finality gating kept for groups that sign blocks.
func validateUpgrade(ps *problem.List, at path, g *v1alpha1.NodeGroup) {
	u := g.Upgrade
	if u == nil {
		return
	}
	if u.Strategy != v1alpha1.UpgradeCanary {
		ps.Add(at.key("strategy").String(), "want canary, got %q", u.Strategy)
	}
	lastCount, lastPercent := 0, 0
	for i, s := range u.Steps {
		step := at.key("steps").index(i).String()
		if s.Type == intstr.Int {
			if s.IntVal < 1 || int(s.IntVal) <= lastCount {
				ps.Add(step, "a node count must be at least 1 and above the previous count (%d), got %d", lastCount, s.IntVal)
			}
			lastCount = max(lastCount, int(s.IntVal))
			continue
		}
		p, err := strconv.Atoi(strings.TrimSuffix(s.StrVal, "%"))
		switch {
		case !strings.HasSuffix(s.StrVal, "%") || err != nil:
			ps.Add(step, "want a node count or a percentage such as \"25%%\", got %q", s.StrVal)
		case p < 1 || p > 100 || p <= lastPercent:
			ps.Add(step, "a percentage must be 1%% to 100%% and above the previous one (%d%%), got %q", lastPercent, s.StrVal)
		default:
			lastPercent = p
		}
	}
	if n := len(u.Steps); n > 0 && (u.Steps[n-1].Type != intstr.String || u.Steps[n-1].StrVal != "100%") {
		ps.Add(at.key("steps").index(n-1).String(), "the last step must be \"100%%\", so that every node is upgraded, got %q", u.Steps[n-1].String())
	}
	bake := positiveDuration(ps, at.key("bake"), u.Bake)
	timeout := positiveDuration(ps, at.key("stepTimeout"), u.StepTimeout)
	if bake > 0 && timeout > 0 && timeout <= bake {
		ps.Add(at.key("stepTimeout").String(), "must be longer than bake (%s): the nodes need time to start before the bake, got %s", u.Bake, u.StepTimeout)
	}
	if gs := u.Gates; gs != nil && gs.FinalizedAdvancing != nil && !*gs.FinalizedAdvancing && Signs(g.Role) {
		ps.Add(at.key("gates.finalizedAdvancing").String(), "%s groups always gate on finality: a signing node is upgraded only while finality holds", g.Role)
	}
	if gs := u.Gates; gs != nil {
		validatePrometheusGates(ps, at.key("gates"), gs)
	}
}

// validatePrometheusGates checks the query gates: a query each, a finite max, an http(s) URL.
func validatePrometheusGates(ps *problem.List, at path, gs *v1alpha1.UpgradeGates) {
	for i, q := range gs.Prometheus {
		gate := at.key("prometheus").index(i)
		if strings.TrimSpace(q.Query) == "" {
			ps.Add(gate.key("query").String(), "want a PromQL expression, got none")
		}
		if m, err := strconv.ParseFloat(q.Max, 64); err != nil || math.IsInf(m, 0) || math.IsNaN(m) {
			ps.Add(gate.key("max").String(), "want a finite decimal number such as \"0.01\", got %q", q.Max)
		}
	}
	if gs.PrometheusURL != "" {
		if u, err := url.Parse(gs.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.Add(at.key("prometheusURL").String(), "want the http(s) address of a Prometheus, got %q", gs.PrometheusURL)
		}
	}
}

// positiveDuration parses a Go duration, reporting one that is not positive at field.
func positiveDuration(ps *problem.List, field path, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		ps.Add(field.String(), "want a positive duration such as 30s, got %q", s)
		return 0
	}
	return d
}
