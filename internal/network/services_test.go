package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

func TestServiceOptionsAccepted(t *testing.T) {
	doc := relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - name: rpc
    role: rpc
    rpc:
      service:
        type: LoadBalancer
        annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}
        externalTrafficPolicy: Local
        loadBalancerSourceRanges: [203.0.113.0/24, "2001:db8::/32"]
  - name: archive
    role: archive
    rpc: {service: {annotations: {example.org/team: infra}}}
  - name: boot
    role: bootnode
    p2p:
      expose: LoadBalancer
      nodeKeySecret: boot-node-keys
      service: {externalTrafficPolicy: Cluster, loadBalancerSourceRanges: [0.0.0.0/0], annotations: {example.org/lb: p2p}}
  gateway:
    group: archive
    keysSecret: {name: gw, key: keys.yaml}
    ingress:
      className: nginx
      hosts: [rpc.example.org, "*.rpc.example.org"]
      path: /ws
      tlsSecretName: rpc-tls
      annotations: {cert-manager.io/cluster-issuer: letsencrypt}
  monitoring:
    targetLabels: [onf.dinfra.dev/group]
    podTargetLabels: [app.kubernetes.io/component]
`
	if _, err := Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
}

func TestServiceOptionsRejected(t *testing.T) {
	cases := []struct {
		name, doc string
		want      problem.List
	}{
		{"RPC leaves the cluster only with safe methods, never around the gateway", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, rpc: {service: {type: NodePort}}}
  - {name: full, role: full, rpc: {service: {type: LoadBalancer}}}
  - {name: rpc, role: rpc, rpc: {service: {type: NodePort}}}
  gateway: {group: rpc, keysSecret: {name: gw, key: keys.yaml}}
`, problem.List{
			{Field: "spec.groups[0].rpc.service", Reason: "only rpc, full and archive groups have an RPC Service; a validator keeps its RPC private"},
			{Field: "spec.groups[1].rpc.service.type", Reason: "LoadBalancer publishes the nodes' RPC outside the cluster, which needs rpc.methods: safe (it is unsafe): set it, or keep ClusterIP and publish the gateway (spec.gateway.ingress)"},
			{Field: "spec.groups[2].rpc.service.type", Reason: "NodePort would let clients around the gateway in front of this group (spec.gateway.group), past its API keys and rate limits: keep ClusterIP and publish the gateway (spec.gateway.ingress)"},
		}},
		{"Service options the API server refuses", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - name: rpc
    role: rpc
    rpc: {service: {externalTrafficPolicy: Local, loadBalancerSourceRanges: [10.0.0.0/8], annotations: {onf.dinfra.dev/x: v}}}
  - name: boot
    role: bootnode
    p2p:
      nodeKeySecret: Boot_Keys
      service: {loadBalancerSourceRanges: [not-a-cidr]}
`, problem.List{
			{Field: "spec.groups[1].rpc.service.annotations[onf.dinfra.dev/x]", Reason: "onf sets annotations under onf.dinfra.dev/ itself"},
			{Field: "spec.groups[1].rpc.service.externalTrafficPolicy", Reason: "only for NodePort and LoadBalancer Services (type is ClusterIP)"},
			{Field: "spec.groups[1].rpc.service.loadBalancerSourceRanges", Reason: "only for LoadBalancer Services (type is ClusterIP)"},
			{Field: "spec.groups[2].p2p.nodeKeySecret", Reason: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
			{Field: "spec.groups[2].p2p.service", Reason: "shapes the per-pod P2P Services of an exposed group: set p2p.expose to NodePort or LoadBalancer"},
			{Field: "spec.groups[2].p2p.service.loadBalancerSourceRanges", Reason: "only for LoadBalancer Services (type is NodePort)"},
			{Field: "spec.groups[2].p2p.service.loadBalancerSourceRanges[0]", Reason: `must be a CIDR such as 203.0.113.0/24, got "not-a-cidr"`},
		}},
		{"the gateway's Ingress and the scrape objects' target labels", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc}
  gateway:
    group: rpc
    keysSecret: {name: gw, key: keys.yaml}
    ingress: {className: Nginx, hosts: [rpc.example.org, rpc.example.org, "bad host"], path: "/a b", annotations: {onf.dinfra.dev/x: v}}
  monitoring: {kind: PodMonitor, targetLabels: [team], podTargetLabels: ["bad label!"]}
`, problem.List{
			{Field: "spec.gateway.ingress.annotations[onf.dinfra.dev/x]", Reason: "onf sets annotations under onf.dinfra.dev/ itself"},
			{Field: "spec.gateway.ingress.className", Reason: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
			{Field: "spec.gateway.ingress.hosts[1]", Reason: `duplicate host "rpc.example.org"`},
			{Field: "spec.gateway.ingress.hosts[2]", Reason: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
			{Field: "spec.gateway.ingress.path", Reason: `must be an absolute URL path prefix without spaces or wildcards, got "/a b"`},
			{Field: "spec.monitoring.podTargetLabels[0]", Reason: `Invalid value: "bad label!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
			{Field: "spec.monitoring.targetLabels", Reason: "copies Service labels, which a PodMonitor does not see: use podTargetLabels"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			var got problem.List
			if !errors.As(err, &got) {
				t.Fatalf("Parse = %v; want problems", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(tc.want))
			}
		})
	}
}
