package kube

import (
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/monitoring"
)

// PrometheusRuleGVK is the Prometheus Operator's PrometheusRule kind.
var PrometheusRuleGVK = metav1.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}

// prometheusRule carries the shipped alert rules (monitoring/rules/onf.rules.yml) for one
// network: every selector restricted to the network's namespace and name, the labels its
// ServiceMonitor gives the series, so two networks' rules never see each other's nodes.
func prometheusRule(n *v1alpha1.SubstrateNetwork) (*unstructured.Unstructured, error) {
	groups, err := monitoring.Groups(monitoring.Scope{
		Matchers: map[string]string{"namespace": n.Namespace, "network": n.Name},
		Suffix:   "." + n.Namespace + "." + n.Name,
	})
	if err != nil {
		return nil, err
	}
	// Through JSON, so the groups are the plain maps and slices unstructured objects hold.
	data, err := json.Marshal(groups)
	if err != nil {
		return nil, err
	}
	var spec []any
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("prometheus rule: %w", err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": PrometheusRuleGVK.Group + "/" + PrometheusRuleGVK.Version,
		"kind":       PrometheusRuleGVK.Kind,
		"metadata":   map[string]any{"name": n.Name, "namespace": n.Namespace},
		"spec":       map[string]any{"groups": spec},
	}}
	u.SetLabels(NetworkLabels(n.Name))
	return u, nil
}

// relabel copies a discovered label to a target label of every scraped series.
func relabel(source, target string) map[string]any {
	return map[string]any{"sourceLabels": []any{source}, "targetLabel": target}
}

// promLabel is a Kubernetes label name as Prometheus service discovery spells it.
func promLabel(k8sLabel string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, k8sLabel)
}
