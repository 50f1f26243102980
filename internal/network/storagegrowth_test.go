package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// storageGrowth reads with its defaults (80%, 20% steps) and refuses, by field path, what no
// volume can honour: a missing or too small max, steps that are neither a percentage nor a
// quantity.
func TestStorageGrowthPolicy(t *testing.T) {
	n, err := Parse([]byte(relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, storage: 20Gi, storageGrowth: {max: 1Ti}}
  - {name: archive, role: archive, storageGrowth: {threshold: 90, step: 50Gi, max: 2Ti}}
`))
	if err != nil {
		t.Fatal(err)
	}
	const Gi = int64(1) << 30
	for i, want := range []*GrowthPolicy{nil, {Threshold: 80, StepPercent: 20, Max: 1024 * Gi}, {Threshold: 90, Step: 50 * Gi, Max: 2048 * Gi}} {
		got, ps := StorageGrowth("spec.groups[1].storageGrowth", &n.Spec.Groups[i])
		if len(ps) > 0 || (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("group %d: %+v, %v; want %+v", i, got, ps, want)
		}
	}

	// max is required by the schema, before any semantic rule.
	_, err = Parse([]byte(relayHead + `  groups:
  - {name: a, role: full, storageGrowth: {step: 10Gi}}
`))
	if got := problem.Of(err); len(got) != 1 || got[0] != (problem.Problem{Field: "spec.groups[0].storageGrowth.max", Reason: "required"}) {
		t.Errorf("without max: %v", err)
	}
	_, err = Parse([]byte(relayHead + `  groups:
  - {name: a, role: full, storageGrowth: {step: 10Gi, max: ""}}
  - {name: b, role: full, storage: 100Gi, storageGrowth: {step: 0%, max: 50Gi}}
  - {name: c, role: full, storageGrowth: {step: lots, max: 2Pi}}
  - {name: d, role: full, storageGrowth: {step: "-1Gi", max: 5Gi}}
`))
	want := problem.List{
		{Field: "spec.groups[0].storageGrowth.max", Reason: "required: volumes grow up to max and no further"},
		{Field: "spec.groups[1].storageGrowth.max", Reason: "50Gi is below storage (100Gi): volumes start at storage and grow up to max"},
		{Field: "spec.groups[1].storageGrowth.step", Reason: `a percentage must be a whole number from 1% to 1000%, got "0%"`},
		{Field: "spec.groups[2].storageGrowth.max", Reason: `must be a Kubernetes quantity of at most 1Pi (2Ti), got "2Pi"`},
		{Field: "spec.groups[2].storageGrowth.step", Reason: `must be a percentage (20%) or a Kubernetes quantity from 1 byte to 1Pi (10Gi), got "lots"`},
		{Field: "spec.groups[3].storageGrowth.max", Reason: "5Gi is below storage (10Gi): volumes start at storage and grow up to max"},
		{Field: "spec.groups[3].storageGrowth.step", Reason: `must be a percentage (20%) or a Kubernetes quantity from 1 byte to 1Pi (10Gi), got "-1Gi"`},
	}
	var got problem.List
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems (%v):\n%s\nwant:\n%s", err, lines(got), lines(want))
	}
}
