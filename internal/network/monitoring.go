package network

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// ownTargetLabels are the series labels onf's relabelings set and the alert rules read.
var ownTargetLabels = []string{"network", "group", "node"}

// validateMonitoring checks spec.monitoring as the Prometheus Operator and Prometheus would
// take it, so a bad duration, regex or label is refused here rather than by a Prometheus that
// then silently scrapes nothing.
func validateMonitoring(ps *problem.List, m *v1alpha1.Monitoring) {
	if m == nil {
		return
	}
	at := path("spec").key("monitoring")
	interval := checkDuration(ps, at.key("interval"), m.Interval, 30*time.Second)
	timeout := checkDuration(ps, at.key("scrapeTimeout"), m.ScrapeTimeout, 0)
	if timeout > interval {
		ps.Add(at.key("scrapeTimeout").String(), "must not exceed the interval (%s), got %s", model.Duration(interval), m.ScrapeTimeout)
	}
	for _, e := range metav1validation.ValidateLabels(m.Labels, field.NewPath(at.key("labels").String())) {
		ps.Add(e.Field, "%s", e.ErrorBody())
	}
	for k := range m.Labels {
		if strings.HasPrefix(k, ownPrefix) || slices.Contains(ownLabels, k) {
			ps.Add(at.key("labels").String()+"["+k+"]", "onf sets this label itself")
		}
	}
	for i, r := range m.Relabelings {
		f := at.key("relabelings").index(i)
		checkRelabel(ps, f, r)
		if slices.Contains(ownTargetLabels, r.TargetLabel) {
			ps.Add(f.key("targetLabel").String(), "%q is set by onf and read by the alert rules", r.TargetLabel)
		}
	}
	for i, r := range m.MetricRelabelings {
		checkRelabel(ps, at.key("metricRelabelings").index(i), r)
	}
	if len(m.TargetLabels) > 0 && m.Kind == v1alpha1.MonitorPod {
		ps.Add(at.key("targetLabels").String(), "copies Service labels, which a PodMonitor does not see: use podTargetLabels")
	}
	for _, l := range []struct {
		field  string
		labels []string
	}{{"targetLabels", m.TargetLabels}, {"podTargetLabels", m.PodTargetLabels}} {
		for i, name := range l.labels {
			for _, e := range metav1validation.ValidateLabelName(name, field.NewPath(at.key(l.field).index(i).String())) {
				ps.Add(e.Field, "%s", e.ErrorBody())
			}
		}
	}
}

// checkDuration parses a Prometheus duration; empty is def.
func checkDuration(ps *problem.List, at path, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		ps.Add(at.String(), "must be a Prometheus duration such as 30s or 1m, got %q", s)
		return def
	}
	return time.Duration(d)
}

// checkRelabel refuses what Prometheus refuses when it loads a relabel config.
func checkRelabel(ps *problem.List, at path, r v1alpha1.RelabelConfig) {
	if r.Regex != "" {
		if _, err := regexp.Compile(r.Regex); err != nil {
			ps.Add(at.key("regex").String(), "not a valid RE2 regular expression: %v", err)
		}
	}
	switch r.Action {
	case "", "replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal":
		if r.TargetLabel == "" {
			ps.Add(at.key("targetLabel").String(), "required with action %s", actionOrReplace(r.Action))
		}
	}
	if r.Action == "hashmod" && r.Modulus == nil {
		ps.Add(at.key("modulus").String(), "required with action hashmod")
	}
	if r.TargetLabel != "" && !strings.Contains(r.TargetLabel, "$") && !model.LabelName(r.TargetLabel).IsValidLegacy() {
		ps.Add(at.key("targetLabel").String(), "not a valid label name: %q", r.TargetLabel)
	}
}

func actionOrReplace(a string) string {
	if a == "" {
		return "replace"
	}
	return a
}
