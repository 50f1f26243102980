package kube

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/dinfra/stack/api/v1alpha1"
)

// The gateway's ServiceMonitor selects the gateway's Service, and only it, on a port the
// Service has; the nodes' ServiceMonitor does not select it. Without a gateway there is one
// ServiceMonitor.
func TestGatewayServiceMonitor(t *testing.T) {
	n := loadSpec(t, "testdata/gateway.yaml")
	objs, err := Desired(n, testKeys(t, n), Options{ServiceMonitor: true})
	if err != nil {
		t.Fatal(err)
	}
	monitors := map[string]*unstructured.Unstructured{}
	var services []*corev1.Service
	for _, o := range objs {
		switch o := o.(type) {
		case *unstructured.Unstructured:
			if o.GetKind() == ServiceMonitorGVK.Kind {
				monitors[o.GetName()] = o
			}
		case *corev1.Service:
			services = append(services, o)
		}
	}
	selected := func(sm *unstructured.Unstructured) (names []string, port string) {
		match, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		port = endpoints[0].(map[string]any)["port"].(string)
		for _, s := range services {
			if labels.SelectorFromSet(match).Matches(labels.Set(s.Labels)) {
				for _, p := range s.Spec.Ports {
					if p.Name == port {
						names = append(names, s.Name)
					}
				}
			}
		}
		return names, port
	}
	gw := monitors[GatewayName(n.Name)]
	if gw == nil || len(monitors) != 2 {
		t.Fatalf("ServiceMonitors %v, want the nodes' and %s", monitors, GatewayName(n.Name))
	}
	if names, port := selected(gw); len(names) != 1 || names[0] != GatewayName(n.Name) {
		t.Errorf("the gateway ServiceMonitor scrapes port %s of %v, want the gateway Service", port, names)
	}
	relabel, _, _ := unstructured.NestedSlice(gw.Object, "spec", "endpoints")
	if r := relabel[0].(map[string]any)["relabelings"].([]any); len(r) != 1 || r[0].(map[string]any)["targetLabel"] != "network" {
		t.Errorf("gateway relabelings %v, want the network label the gateway alerts read", r)
	}
	names, _ := selected(monitors[n.Name])
	for _, name := range names {
		if name == GatewayName(n.Name) {
			t.Error("the nodes' ServiceMonitor scrapes the gateway too")
		}
	}

	n.Spec.Gateway = nil
	objs, err = Desired(n, testKeys(t, n), Options{ServiceMonitor: true})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GetKind() == ServiceMonitorGVK.Kind {
			count++
		}
	}
	if count != 1 {
		t.Errorf("without a gateway: %d ServiceMonitors, want 1", count)
	}
}

// spec.monitoring alone adds the scrape objects, with its interval, timeout, labels and
// relabelings on every endpoint (the user's after onf's own); kind PodMonitor scrapes the
// groups' pods, by a selector that matches every group's pod template and not the gateway's.
func TestMonitoringOptions(t *testing.T) {
	n := loadSpec(t, "testdata/gateway.yaml")
	monitorsOf := func(kind string) map[string]*unstructured.Unstructured {
		t.Helper()
		objs, err := Desired(n, testKeys(t, n), Options{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			if u, ok := o.(*unstructured.Unstructured); ok && (u.GetKind() == ServiceMonitorGVK.Kind || u.GetKind() == PodMonitorGVK.Kind) {
				if u.GetKind() != kind {
					t.Errorf("%s %s made, want %ss only", u.GetKind(), u.GetName(), kind)
				}
				out[u.GetName()] = u
			}
		}
		return out
	}
	if got := monitorsOf(""); len(got) != 0 {
		t.Fatalf("without spec.monitoring or Options.ServiceMonitor: %d monitors", len(got))
	}

	user := v1alpha1.RelabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_node_name"}, TargetLabel: "host"}
	drop := v1alpha1.RelabelConfig{SourceLabels: []string{"__name__"}, Regex: "substrate_sub_libp2p_.*", Action: "drop"}
	n.Spec.Monitoring = &v1alpha1.Monitoring{Interval: "1m", ScrapeTimeout: "20s", Labels: map[string]string{"release": "prometheus"},
		Relabelings: []v1alpha1.RelabelConfig{user}, MetricRelabelings: []v1alpha1.RelabelConfig{drop}}
	for _, kind := range []string{ServiceMonitorGVK.Kind, PodMonitorGVK.Kind} {
		n.Spec.Monitoring.Kind = v1alpha1.MonitorKind(kind)
		got := monitorsOf(kind)
		if len(got) != 2 {
			t.Fatalf("%d %ss, want the nodes' and the gateway's", len(got), kind)
		}
		field := "endpoints"
		if kind == PodMonitorGVK.Kind {
			field = "podMetricsEndpoints"
		}
		for name, m := range got {
			if m.GetLabels()["release"] != "prometheus" || m.GetLabels()[LabelNetwork] != n.Name {
				t.Errorf("%s %s labels %v, want release=prometheus beside onf's", kind, name, m.GetLabels())
			}
			endpoints, _, _ := unstructured.NestedSlice(m.Object, "spec", field)
			if len(endpoints) != 1 {
				t.Fatalf("%s %s: spec.%s %v", kind, name, field, endpoints)
			}
			e := endpoints[0].(map[string]any)
			relabelings := e["relabelings"].([]any)
			last := relabelings[len(relabelings)-1].(map[string]any)
			if e["interval"] != "1m" || e["scrapeTimeout"] != "20s" || last["targetLabel"] != "host" || len(relabelings) < 2 {
				t.Errorf("%s %s endpoint %v: want interval 1m, scrapeTimeout 20s, the user's relabeling after onf's", kind, name, e)
			}
			if mr := e["metricRelabelings"].([]any); len(mr) != 1 || mr[0].(map[string]any)["action"] != "drop" {
				t.Errorf("%s %s metricRelabelings %v", kind, name, mr)
			}
		}
	}

	// The PodMonitor of the nodes selects every group's pods and not the gateway's.
	objs, err := Desired(n, testKeys(t, n), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var selector *metav1.LabelSelector
	pods := map[string]labels.Set{}
	for _, o := range objs {
		switch o := o.(type) {
		case *unstructured.Unstructured:
			if o.GetKind() == PodMonitorGVK.Kind && o.GetName() == n.Name {
				sel, _, _ := unstructured.NestedMap(o.Object, "spec", "selector")
				selector = &metav1.LabelSelector{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, selector); err != nil {
					t.Fatal(err)
				}
			}
		case *appsv1.StatefulSet:
			pods[o.Name] = o.Spec.Template.Labels
		case *appsv1.Deployment:
			pods[o.Name] = o.Spec.Template.Labels
		}
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range pods {
		if want := name != GatewayName(n.Name); s.Matches(l) != want {
			t.Errorf("the nodes' PodMonitor selects the pods of %s: %v, want %v", name, !want, want)
		}
	}
}
