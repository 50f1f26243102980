package network

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// validateMetrics checks spec.groups[].autoscaling.metrics as the API server checks a
// HorizontalPodAutoscaler's, so a bad one is refused here at its field path rather than when
// the operator writes the autoscaler: a type, the one source that type names, and a target
// whose type has its value.
func validateMetrics(ps *problem.List, at path, a *v1alpha1.Autoscaling) {
	if a == nil {
		return
	}
	for i, m := range a.Metrics {
		f := at.key("metrics").index(i)
		sources := map[autoscalingv2.MetricSourceType]bool{
			autoscalingv2.PodsMetricSourceType:              m.Pods != nil,
			autoscalingv2.ObjectMetricSourceType:            m.Object != nil,
			autoscalingv2.ExternalMetricSourceType:          m.External != nil,
			autoscalingv2.ResourceMetricSourceType:          m.Resource != nil,
			autoscalingv2.ContainerResourceMetricSourceType: m.ContainerResource != nil,
		}
		set := 0
		for _, v := range sources {
			if v {
				set++
			}
		}
		var target *autoscalingv2.MetricTarget
		var name string
		switch {
		case m.Pods != nil:
			target, name = &m.Pods.Target, m.Pods.Metric.Name
		case m.Object != nil:
			target, name = &m.Object.Target, m.Object.Metric.Name
		case m.External != nil:
			target, name = &m.External.Target, m.External.Metric.Name
		case m.Resource != nil:
			target, name = &m.Resource.Target, string(m.Resource.Name)
		case m.ContainerResource != nil:
			target, name = &m.ContainerResource.Target, string(m.ContainerResource.Name)
		}
		have, known := sources[m.Type]
		switch {
		case !known:
			ps.Add(f.key("type").String(), "must be Pods, Object, External, Resource or ContainerResource, got %q", m.Type)
			continue
		case !have || set != 1:
			ps.Add(f.String(), "set exactly the source its type %s names (%d sources set)", m.Type, set)
			continue
		case name == "":
			ps.Add(f.String(), "the %s metric needs a name", m.Type)
		}
		switch target.Type {
		case autoscalingv2.UtilizationMetricType:
			if target.AverageUtilization == nil {
				ps.Add(f.String(), "target type Utilization needs averageUtilization")
			}
		case autoscalingv2.ValueMetricType:
			if target.Value == nil {
				ps.Add(f.String(), "target type Value needs value")
			}
		case autoscalingv2.AverageValueMetricType:
			if target.AverageValue == nil {
				ps.Add(f.String(), "target type AverageValue needs averageValue")
			}
		default:
			ps.Add(f.String(), "target type must be Utilization, Value or AverageValue, got %q", target.Type)
		}
	}
}
