package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

func TestAutoscalingMetrics(t *testing.T) {
	ok := relayHead + `  groups:
  - name: rpc
    role: rpc
    autoscaling:
      minReplicas: 2
      maxReplicas: 10
      targetMemoryUtilization: 80
      scaleDownStabilizationSeconds: 600
      metrics:
      - type: External
        external:
          metric: {name: onf_gateway_requests_per_second}
          target: {type: AverageValue, averageValue: "500"}
      - type: Pods
        pods:
          metric: {name: substrate_rpc_calls_per_second}
          target: {type: AverageValue, averageValue: "200"}
`
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	bad := relayHead + `  groups:
  - name: rpc
    role: rpc
    autoscaling:
      minReplicas: 1
      maxReplicas: 3
      metrics:
      - type: External
        pods: {metric: {name: x}, target: {type: AverageValue, averageValue: "1"}}
      - type: Pods
        pods: {metric: {name: ""}, target: {type: Value}}
      - type: Guess
`
	want := problem.List{
		{Field: "spec.groups[0].autoscaling.metrics[0]", Reason: "set exactly the source its type External names (1 sources set)"},
		{Field: "spec.groups[0].autoscaling.metrics[1]", Reason: "the Pods metric needs a name"},
		{Field: "spec.groups[0].autoscaling.metrics[1]", Reason: "target type Value needs value"},
		{Field: "spec.groups[0].autoscaling.metrics[2].type", Reason: `must be Pods, Object, External, Resource or ContainerResource, got "Guess"`},
	}
	_, err := Parse([]byte(bad))
	var got problem.List
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems (%v):\n%s\nwant:\n%s", err, lines(got), lines(want))
	}
}
