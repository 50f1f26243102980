package kube

import (
	"encoding/json"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
)

// The Prometheus Operator's scrape kinds.
var (
	ServiceMonitorGVK = metav1.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}
	PodMonitorGVK     = metav1.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"}
)

// MonitorKinds are the kinds monitors makes, one of them per network.
var MonitorKinds = []metav1.GroupVersionKind{ServiceMonitorGVK, PodMonitorGVK}

// defaultScrapeInterval is spec.monitoring.interval's default.
const defaultScrapeInterval = "30s"

// monitors ask a Prometheus Operator to scrape every node of the network (and the embedded
// relay chain nodes that serve metrics) and, when the network has one, the RPC gateway (its
// alerts read its series by network): through the groups' headless Services and the
// gateway's Service (ServiceMonitors), or the pods themselves (PodMonitors), as
// spec.monitoring says. They are unstructured: the operator does not link the Prometheus
// Operator's types for two kinds.
func monitors(n *v1alpha1.SubstrateNetwork) ([]client.Object, error) {
	m := n.Spec.Monitoring
	if m == nil {
		m = &v1alpha1.Monitoring{}
	}
	gvk, endpointsField, meta := ServiceMonitorGVK, "endpoints", "__meta_kubernetes_service_label_"
	if m.Kind == v1alpha1.MonitorPod {
		gvk, endpointsField, meta = PodMonitorGVK, "podMetricsEndpoints", "__meta_kubernetes_pod_label_"
	}
	from := func(label, target string) any { return relabel(meta+promLabel(label), target) }
	user, err := asJSON(m.Relabelings)
	if err != nil {
		return nil, err
	}
	metricRelabelings, err := asJSON(m.MetricRelabelings)
	if err != nil {
		return nil, err
	}
	endpoint := func(port string, own ...any) map[string]any {
		e := map[string]any{
			"port": port, "path": "/metrics", "interval": defaultScrapeInterval,
			"relabelings": slices.Concat(own, user),
		}
		if m.Interval != "" {
			e["interval"] = m.Interval
		}
		if m.ScrapeTimeout != "" {
			e["scrapeTimeout"] = m.ScrapeTimeout
		}
		if len(metricRelabelings) > 0 {
			e["metricRelabelings"] = metricRelabelings
		}
		return e
	}
	object := func(name string, selector map[string]any, endpoints ...any) client.Object {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": gvk.Group + "/" + gvk.Version,
			"kind":       gvk.Kind,
			"metadata":   map[string]any{"name": name, "namespace": n.Namespace},
			"spec":       map[string]any{"selector": selector, endpointsField: endpoints},
		}}
		u.SetLabels(merged(m.Labels, NetworkLabels(n.Name)))
		spec := u.Object["spec"].(map[string]any)
		if len(m.TargetLabels) > 0 { // ServiceMonitors only (network.validateMonitoring)
			spec["targetLabels"] = stringsAsJSON(m.TargetLabels)
		}
		if len(m.PodTargetLabels) > 0 {
			spec["podTargetLabels"] = stringsAsJSON(m.PodTargetLabels)
		}
		return u
	}

	// The alert rules (monitoring/rules) read every node series by network and node.
	node := []any{from(LabelNetwork, "network"), from(LabelGroup, "group"), relabel("__meta_kubernetes_pod_name", "node")}
	endpoints := []any{endpoint(portMetrics, node...)}
	if relayMetrics(n) {
		// An embedded relay chain node's series are its collator's, told apart as <pod>-relay
		// so that no rule mixes the two chains' heights under one node.
		relayNode := map[string]any{"sourceLabels": []any{"__meta_kubernetes_pod_name"}, "targetLabel": "node", "replacement": "${1}-relay"}
		endpoints = append(endpoints, endpoint(portRelayMetrics, node[0], node[1], relayNode))
	}
	nodeSelector := map[string]any{"matchLabels": map[string]any{LabelNetwork: n.Name, LabelService: "headless"}}
	if gvk == PodMonitorGVK { // the groups' pods: the gateway's carry no group label
		nodeSelector = map[string]any{
			"matchLabels":      map[string]any{LabelNetwork: n.Name},
			"matchExpressions": []any{map[string]any{"key": LabelGroup, "operator": "Exists"}},
		}
	}
	out := []client.Object{object(n.Name, nodeSelector, endpoints...)}
	if n.Spec.Gateway != nil {
		gateway := map[string]any{}
		for k, v := range gatewaySelector(n.Name) {
			gateway[k] = v
		}
		out = append(out, object(GatewayName(n.Name), map[string]any{"matchLabels": gateway}, endpoint(portMetrics, from(LabelNetwork, "network"))))
	}
	return out, nil
}

// relayMetrics reports whether any parachain's embedded relay chain nodes serve metrics.
func relayMetrics(n *v1alpha1.SubstrateNetwork) bool {
	for _, p := range n.Spec.Parachains {
		if p.Relay.Metrics && len(p.Relay.RPCURLs) == 0 {
			return true
		}
	}
	return false
}

// stringsAsJSON is a list of strings as an unstructured object holds it.
func stringsAsJSON(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
}

// asJSON turns relabel configs into the JSON values an unstructured object holds.
func asJSON(rs []v1alpha1.RelabelConfig) ([]any, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(rs)
	if err != nil {
		return nil, fmt.Errorf("relabel configs: %w", err)
	}
	var out []any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("relabel configs: %w", err)
	}
	return out, nil
}
