package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
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
