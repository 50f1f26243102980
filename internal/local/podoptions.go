package local

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
)

// refusePodOptions refuses, by field path (at is the group's pod), every pod option a process
// on this machine cannot honour: placement, labels, security contexts, volumes, containers.
// env is honoured: its literal values reach the node process (supervisor.go). valueFrom reads
// the pod's fields, ConfigMaps or resources, and $(VAR) is the kubelet's expansion: neither
// exists here, so both are refused rather than passed on with another meaning.
func refusePodOptions(o *v1alpha1.PodOptions, at string) error {
	for i, e := range o.Env {
		switch {
		case e.ValueFrom != nil:
			return fmt.Errorf("%s.env[%d].valueFrom: reads from the pod or cluster, which local nodes do not have; set value to run the network locally", at, i)
		case strings.Contains(e.Value, "$("):
			return fmt.Errorf("%s.env[%d].value: $(VAR) is expanded by the kubelet in clusters only; write the value out to run the network locally", at, i)
		}
	}
	rest := *o
	rest.Env = nil
	data, err := json.Marshal(rest)
	if err != nil {
		return err
	}
	var set map[string]any
	if err := json.Unmarshal(data, &set); err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	fields := make([]string, 0, len(set))
	for f := range set {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	return fmt.Errorf("%s.%s: works in clusters only (pod placement, security and containers; locally only pod.env reaches the node process); remove it to run the network locally", at, fields[0])
}
