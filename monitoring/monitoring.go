// Package monitoring holds what watches a network: the alert and recording rules
// (rules/onf.rules.yml, with their promtool unit tests beside them), an example Alertmanager
// configuration and the Grafana dashboards. The files are the product (users load them as
// they are); this package embeds them so that `onf monitor`, the operator and `onf render`
// ship exactly the same rules.
package monitoring

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// Rules is the Prometheus rules file: recording rules normalising both node flavors'
// metric names, then the alerts.
//
//go:embed rules/onf.rules.yml
var Rules []byte

// AlertmanagerExample is an Alertmanager configuration routing the alerts of Rules.
//
//go:embed alertmanager/alertmanager.example.yml
var AlertmanagerExample []byte

// FluentBit is a Fluent Bit configuration shipping the node pods' logs of a cluster to a Loki
// push API with the stream labels of the local log shipper (network, group, node, level).
//
//go:embed logs/fluent-bit.yaml
var FluentBit []byte

// Dashboards holds the Grafana dashboards, dashboards/*.json.
//
//go:embed dashboards/*.json
var Dashboards embed.FS

// RuleGroups is the rules file as Prometheus rule groups ({name, rules: [...]}), the shape
// both a rules file and a PrometheusRule's spec.groups take.
func RuleGroups() ([]any, error) {
	var f struct {
		Groups []any `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(Rules, &f); err != nil {
		return nil, fmt.Errorf("monitoring rules: %w", err)
	}
	return f.Groups, nil
}

// MetricNames parses a PromQL query with the Prometheus parser and returns the metric names
// it reads, in order of appearance.
func MetricNames(query string) ([]string, error) {
	expr, err := parser.ParseExpr(query)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

// Panel is one query of a dashboard panel.
type Panel struct {
	Dashboard, Title, Expr string
}

// DashboardPanels returns every panel query of every dashboard.
func DashboardPanels() ([]Panel, error) {
	files, err := fs.Glob(Dashboards, "dashboards/*.json")
	if err != nil {
		return nil, err
	}
	var out []Panel
	for _, f := range files {
		data, err := fs.ReadFile(Dashboards, f)
		if err != nil {
			return nil, err
		}
		var dash struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(data, &dash); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if dash.UID == "" {
			return nil, fmt.Errorf("%s: no uid", f)
		}
		for _, p := range dash.Panels {
			if len(p.Targets) == 0 {
				return nil, fmt.Errorf("%s: panel %q has no query", f, p.Title)
			}
			for _, t := range p.Targets {
				out = append(out, Panel{Dashboard: path.Base(f), Title: p.Title, Expr: t.Expr})
			}
		}
	}
	return out, nil
}
