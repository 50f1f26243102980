package kube

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// A group exposed through per-pod LoadBalancers without a publicHost announces each pod's own
// load balancer address, read from its P2P Service's status: nothing until there is one, an
// IP as ip4 or ip6, a name as dns, and never what is neither.
func TestAnnounceLoadBalancerAddress(t *testing.T) {
	lb := &v1alpha1.NodeGroup{P2P: &v1alpha1.P2P{Expose: v1alpha1.ExposeLoadBalancer}}
	svc := func(ingress ...corev1.LoadBalancerIngress) *corev1.Service {
		s := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: portP2P, Port: 30333, NodePort: 31000}}}}
		s.Status.LoadBalancer.Ingress = ingress
		return s
	}
	for _, tc := range []struct {
		name    string
		ingress []corev1.LoadBalancerIngress
		want    string
	}{
		{"no address yet", nil, ""},
		{"IPv4", []corev1.LoadBalancerIngress{{IP: "203.0.113.9"}}, "ip4/203.0.113.9"},
		{"IPv6", []corev1.LoadBalancerIngress{{IP: "2001:db8::9"}}, "ip6/2001:db8::9"},
		{"a name", []corev1.LoadBalancerIngress{{Hostname: "a1b2.elb.example.com"}}, "dns/a1b2.elb.example.com"},
		{"the first usable entry", []corev1.LoadBalancerIngress{{Hostname: "not a name/x"}, {IP: "198.51.100.4"}}, "ip4/198.51.100.4"},
		{"nothing usable", []corev1.LoadBalancerIngress{{Hostname: "$(HOME)"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AnnounceAnnotations(lb, svc(tc.ingress...))
			var want map[string]string
			if tc.want != "" {
				want = map[string]string{AnnotationP2PPublicAddr: tc.want}
			}
			if !maps.Equal(got, want) {
				t.Errorf("AnnounceAnnotations = %v, want %v", got, want)
			}
		})
	}
	// With a publicHost the group announces it, and its pods wait for nothing.
	fixed := &v1alpha1.NodeGroup{P2P: &v1alpha1.P2P{Expose: v1alpha1.ExposeLoadBalancer, PublicHost: "boot.example.org"}}
	if Announces(fixed) {
		t.Error("a LoadBalancer group with a publicHost waits for an address")
	}
	// Node ports are still read from the Service's ports.
	np := &v1alpha1.NodeGroup{P2P: &v1alpha1.P2P{Expose: v1alpha1.ExposeNodePort, PublicHost: "203.0.113.7"}}
	if got := AnnounceAnnotations(np, svc(corev1.LoadBalancerIngress{IP: "203.0.113.9"})); !maps.Equal(got, map[string]string{AnnotationP2PNodePort: "31000"}) {
		t.Errorf("node port group: %v", got)
	}
}

// Gossamer must know when the pod is built whether it announces an IP or a name, which a load
// balancer's address does not say yet.
func TestGossamerNeedsPublicHostBehindLoadBalancers(t *testing.T) {
	n := loadSpec(t, "testdata/dev.yaml")
	n.Spec.Groups[1].P2P = &v1alpha1.P2P{Expose: v1alpha1.ExposeLoadBalancer}
	if _, err := Desired(n, testKeys(t, n), Options{}); err == nil || !strings.HasPrefix(err.Error(), "spec.groups[1].p2p.publicHost: required for gossamer with expose LoadBalancer") {
		t.Fatalf("Desired = %v", err)
	}
	n.Spec.Groups[1].P2P.PublicHost = "203.0.113.7"
	if _, err := Desired(n, testKeys(t, n), Options{}); err != nil {
		t.Fatal(err)
	}
}
