package monitoring

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// RuleGroup is one group of a Prometheus rules file (and of a PrometheusRule's spec.groups).
type RuleGroup struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is a recording rule (Record) or an alert (Alert).
type Rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Scope adapts the shipped rules to where they run.
type Scope struct {
	// Matchers are label values every series a rule reads must have (network="dev"), so that
	// the rules of one network never read, record or alert on another's series.
	Matchers map[string]string
	// Suffix is appended to every group name (Prometheus refuses two groups of one name).
	Suffix string
	// TimeScale multiplies every range, subquery and `for` duration (0 or 1: unchanged). Tests
	// and dev networks use it to see alerts in seconds rather than minutes.
	TimeScale float64
}

// Groups returns the rules of Rules adapted to the scope.
func Groups(s Scope) ([]RuleGroup, error) {
	var f struct {
		Groups []RuleGroup `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(Rules, &f); err != nil {
		return nil, fmt.Errorf("monitoring rules: %w", err)
	}
	for gi := range f.Groups {
		g := &f.Groups[gi]
		matchers := s.Matchers
		if g.Name == volumeGroup {
			matchers = map[string]string{}
			if ns, ok := s.Matchers["namespace"]; ok {
				matchers["namespace"] = ns
			}
		}
		g.Name += s.Suffix
		for ri := range g.Rules {
			r := &g.Rules[ri]
			expr, err := s.rewrite(r.Expr, matchers)
			if err != nil {
				return nil, fmt.Errorf("monitoring rules: groups[%d].rules[%d].expr: %w", gi, ri, err)
			}
			r.Expr = expr
			if r.For != "" {
				d, err := model.ParseDuration(r.For)
				if err != nil {
					return nil, fmt.Errorf("monitoring rules: groups[%d].rules[%d].for: %w", gi, ri, err)
				}
				r.For = model.Duration(s.scale(time.Duration(d))).String()
			}
		}
	}
	return f.Groups, nil
}

// RulesFile renders groups as a Prometheus rules file.
func RulesFile(groups []RuleGroup) ([]byte, error) {
	return yaml.Marshal(map[string]any{"groups": groups})
}

func (s Scope) scale(d time.Duration) time.Duration {
	if s.TimeScale <= 0 || s.TimeScale == 1 {
		return d
	}
	return max(time.Duration(float64(d)*s.TimeScale).Round(time.Second), time.Second)
}

// volumeGroup reads volume and filesystem metrics, which carry no network label: scopes
// restrict it by namespace only.
const volumeGroup = "onf-volumes"

// rewrite adds matchers to every selector of a query and scales its ranges.
func (s Scope) rewrite(query string, matchers map[string]string) (string, error) {
	expr, err := parser.ParseExpr(query)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(matchers))
	for k := range matchers {
		names = append(names, k)
	}
	slices.Sort(names)
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			for _, k := range names {
				n.LabelMatchers = append(n.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, k, matchers[k]))
			}
		case *parser.MatrixSelector:
			n.Range = s.scale(n.Range)
		case *parser.SubqueryExpr:
			n.Range = s.scale(n.Range)
			n.Step = s.scale(n.Step)
		}
		return nil
	})
	return expr.String(), nil
}
