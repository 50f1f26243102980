package network

import (
	"cmp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// DefaultStorage is the size of a node's data volume when spec.groups[].storage is unset.
const DefaultStorage = "10Gi"

// Defaults of spec.groups[].storageGrowth.
const (
	DefaultGrowthThreshold   = 80
	DefaultGrowthStepPercent = 20
)

// A step of at most 1000% and volumes of at most 1Pi keep every size the operator computes
// in an int64.
const (
	maxGrowthStepPercent = 1000
	maxGrowthBytes       = 1 << 50
)

// GrowthPolicy is a group's storageGrowth read and defaulted.
type GrowthPolicy struct {
	Threshold   int64 // percent of the capacity in use at which a volume grows
	StepPercent int64 // when set, a step is this share of the volume's current size
	Step        int64 // otherwise, a step in bytes
	Max         int64 // bytes
}

// StorageGrowth reads group g's storageGrowth (nil when unset); at is its field path
// (spec.groups[1].storageGrowth), which the problems name.
func StorageGrowth(at string, g *v1alpha1.NodeGroup) (*GrowthPolicy, problem.List) {
	s := g.StorageGrowth
	if s == nil {
		return nil, nil
	}
	var ps problem.List
	f := path(at)
	p := &GrowthPolicy{Threshold: int64(s.Threshold), StepPercent: DefaultGrowthStepPercent}
	if p.Threshold == 0 {
		p.Threshold = DefaultGrowthThreshold
	}
	if p.Threshold < 1 || p.Threshold > 99 {
		ps.Add(f.key("threshold").String(), "must be a percentage from 1 to 99, got %d", p.Threshold)
	}
	limit := resource.NewQuantity(maxGrowthBytes, resource.BinarySI)
	if pct, ok := strings.CutSuffix(s.Step, "%"); ok {
		n, err := strconv.ParseInt(pct, 10, 64)
		if err != nil || n < 1 || n > maxGrowthStepPercent {
			ps.Add(f.key("step").String(), "a percentage must be a whole number from 1%% to %d%%, got %q", maxGrowthStepPercent, s.Step)
		}
		p.StepPercent = n
	} else if s.Step != "" {
		q, err := resource.ParseQuantity(s.Step)
		if err != nil || q.Sign() <= 0 || q.Cmp(*limit) > 0 {
			ps.Add(f.key("step").String(), "must be a percentage (20%%) or a Kubernetes quantity from 1 byte to 1Pi (10Gi), got %q", s.Step)
		}
		p.StepPercent, p.Step = 0, q.Value()
	}
	size, err := resource.ParseQuantity(cmp.Or(g.Storage, DefaultStorage))
	m, merr := resource.ParseQuantity(s.Max)
	switch {
	case s.Max == "":
		ps.Add(f.key("max").String(), "required: volumes grow up to max and no further")
	case merr != nil || m.Cmp(*limit) > 0:
		ps.Add(f.key("max").String(), "must be a Kubernetes quantity of at most 1Pi (2Ti), got %q", s.Max)
	case err == nil && m.Cmp(size) < 0:
		ps.Add(f.key("max").String(), "%s is below storage (%s): volumes start at storage and grow up to max", s.Max, size.String())
	}
	p.Max = m.Value()
	return p, ps
}
