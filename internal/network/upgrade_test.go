package network

import (
	"errors"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// spec.groups[].upgrade: every bad field is named with its path and reason; defaults fill a
// bare upgrade; good ones pass.
func TestUpgradeSpec(t *testing.T) {
	bad := gossamerDev + `  - name: rpc
    role: rpc
    upgrade:
      steps: [2, 2, "25%", "10%", "half", "50%"]
      bake: 2m
      stepTimeout: 1m
`
	want := problem.List{
		{Field: "spec.groups[1].upgrade.stepTimeout", Reason: `must be longer than bake (2m): the nodes need time to start before the bake, got 1m`},
		{Field: "spec.groups[1].upgrade.steps[1]", Reason: `a node count must be at least 1 and above the previous count (2), got 2`},
		{Field: "spec.groups[1].upgrade.steps[3]", Reason: `a percentage must be 1% to 100% and above the previous one (25%), got "10%"`},
		{Field: "spec.groups[1].upgrade.steps[4]", Reason: `want a node count or a percentage such as "25%", got "half"`},
		{Field: "spec.groups[1].upgrade.steps[5]", Reason: `the last step must be "100%", so that every node is upgraded, got "50%"`},
	}
	_, err := Parse([]byte(bad))
	var got problem.List
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(want))
	}

	validator := `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev}
spec:
  chain: {builtin: westend-dev}
  groups:
    - name: validator
      role: validator
      keys: {dev: ["//Alice"]}
      upgrade: {bake: "-1s", gates: {finalizedAdvancing: false}}
`
	want = problem.List{
		{Field: "spec.groups[0].upgrade.bake", Reason: `want a positive duration such as 30s, got "-1s"`},
		{Field: "spec.groups[0].upgrade.gates.finalizedAdvancing", Reason: "validator groups always gate on finality: a signing node is upgraded only while finality holds"},
	}
	_, err = Parse([]byte(validator))
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(want))
	}

	queries := gossamerDev + `  - name: rpc
    role: rpc
    upgrade:
      gates:
        prometheus: [{query: " ", max: "1e999"}, {query: up, max: "0.5"}]
        prometheusURL: "http://"
`
	want = problem.List{
		{Field: "spec.groups[1].upgrade.gates.prometheusURL", Reason: `want the http(s) address of a Prometheus, got "http://"`},
		{Field: "spec.groups[1].upgrade.gates.prometheus[0].max", Reason: `want a finite decimal number such as "0.01", got "1e999"`},
		{Field: "spec.groups[1].upgrade.gates.prometheus[0].query", Reason: "want a PromQL expression, got none"},
	}
	_, err = Parse([]byte(queries))
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(want))
	}

	n, err := Parse([]byte(gossamerDev + "  - {name: rpc, role: rpc, replicas: 4, upgrade: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	u := n.Spec.Groups[1].Upgrade
	if u.Strategy != v1alpha1.UpgradeCanary || u.Bake != "30s" || u.StepTimeout != "5m" ||
		!slices.Equal(u.Steps, []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("100%")}) {
		t.Errorf("defaults: %+v", u)
	}
	good := gossamerDev + `  - name: rpc
    role: rpc
    replicas: 8
    upgrade:
      strategy: canary
      steps: [1, "25%", "100%"]
      bake: 1m
      stepTimeout: 10m
      gates: {maxBlocksBehind: 3, finalizedAdvancing: false, minPeers: 2}
`
	if _, err := Parse([]byte(good)); err != nil {
		t.Error(err)
	}
	// The schema refuses an unknown strategy before Validate runs.
	_, err = Parse([]byte(gossamerDev + "  - {name: rpc, role: rpc, upgrade: {strategy: blue-green}}\n"))
	if !errors.As(err, &got) || len(got) != 1 || got[0].Field != "spec.groups[1].upgrade.strategy" {
		t.Errorf("unknown strategy: %v", err)
	}
}
