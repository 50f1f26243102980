package network

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// validateServices checks how a defaulted network's nodes and gateway are reached from
// outside: the groups' RPC Services (groups[].rpc.service), per-pod P2P Services
// (groups[].p2p.service), own node key Secrets and the gateway's Ingress, with the API
// server's rules and onf's security rule: node RPC leaves the cluster only with safe methods,
// and never around the gateway that guards a group.
func validateServices(ps *problem.List, s *v1alpha1.SubstrateNetworkSpec) {
	for i := range s.Groups {
		g := &s.Groups[i]
		at := path("spec").key("groups").index(i)
		if g.RPC != nil && g.RPC.Service != nil {
			validateRPCService(ps, at.key("rpc.service"), s, g)
		}
		if p := g.P2P; p != nil {
			if p.Service != nil {
				if p.Expose == "" || p.Expose == v1alpha1.ExposeNone {
					ps.Add(at.key("p2p.service").String(), "shapes the per-pod P2P Services of an exposed group: set p2p.expose to NodePort or LoadBalancer")
				}
				typ := corev1.ServiceTypeNodePort
				if p.Expose == v1alpha1.ExposeLoadBalancer {
					typ = corev1.ServiceTypeLoadBalancer
				}
				validateServiceOptions(ps, at.key("p2p.service"), typ, p.Service)
			}
			if p.NodeKeySecret != "" {
				for _, msg := range validation.IsDNS1123Subdomain(p.NodeKeySecret) {
					ps.Add(at.key("p2p.nodeKeySecret").String(), "%s", msg)
				}
			}
		}
	}
	if gw := s.Gateway; gw != nil && gw.Ingress != nil {
		validateIngress(ps, path("spec").key("gateway.ingress"), gw.Ingress)
	}
}

// validateRPCService: only groups whose RPC serves clients have the Service, and one that
// leaves the cluster serves safe methods only, never for the gateway's group (whose API keys
// and rate limits it would bypass).
func validateRPCService(ps *problem.List, at path, s *v1alpha1.SubstrateNetworkSpec, g *v1alpha1.NodeGroup) {
	o := g.RPC.Service
	switch g.Role {
	case v1alpha1.RoleRPC, v1alpha1.RoleFull, v1alpha1.RoleArchive:
	default:
		ps.Add(at.String(), "only rpc, full and archive groups have an RPC Service; a %s keeps its RPC private", g.Role)
		return
	}
	typ := o.Type
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	if typ != corev1.ServiceTypeClusterIP {
		if g.RPC.Methods != v1alpha1.RPCSafe {
			ps.Add(at.key("type").String(), "%s publishes the nodes' RPC outside the cluster, which needs rpc.methods: safe (it is %s): set it, or keep ClusterIP and publish the gateway (spec.gateway.ingress)", typ, g.RPC.Methods)
		}
		if gw := s.Gateway; gw != nil && gw.Group == g.Name {
			ps.Add(at.key("type").String(), "%s would let clients around the gateway in front of this group (spec.gateway.group), past its API keys and rate limits: keep ClusterIP and publish the gateway (spec.gateway.ingress)", typ)
		}
	}
	validateServiceOptions(ps, at, typ, &o.ServiceOptions)
}

// validateServiceOptions refuses what the API server refuses for a Service of type typ, and
// annotations under onf's own prefix.
func validateServiceOptions(ps *problem.List, at path, typ corev1.ServiceType, o *v1alpha1.ServiceOptions) {
	validateAnnotations(ps, at.key("annotations"), o.Annotations)
	if o.ExternalTrafficPolicy != "" && typ == corev1.ServiceTypeClusterIP {
		ps.Add(at.key("externalTrafficPolicy").String(), "only for NodePort and LoadBalancer Services (type is ClusterIP)")
	}
	if len(o.LoadBalancerSourceRanges) > 0 && typ != corev1.ServiceTypeLoadBalancer {
		ps.Add(at.key("loadBalancerSourceRanges").String(), "only for LoadBalancer Services (type is %s)", typ)
	}
	for i, r := range o.LoadBalancerSourceRanges {
		if _, err := netip.ParsePrefix(strings.TrimSpace(r)); err != nil {
			ps.Add(at.key("loadBalancerSourceRanges").index(i).String(), "must be a CIDR such as 203.0.113.0/24, got %q", r)
		}
	}
}

// validateIngress checks the gateway's Ingress as the API server checks an Ingress.
func validateIngress(ps *problem.List, at path, in *v1alpha1.GatewayIngress) {
	if len(in.Hosts) == 0 {
		ps.Add(at.key("hosts").String(), "required: the DNS names clients reach the gateway at")
	}
	for i, h := range in.Hosts {
		check := validation.IsDNS1123Subdomain
		if strings.HasPrefix(h, "*.") {
			check = validation.IsWildcardDNS1123Subdomain
		}
		for _, msg := range check(h) {
			ps.Add(at.key("hosts").index(i).String(), "%s", msg)
		}
		if slices.Contains(in.Hosts[:i], h) {
			ps.Add(at.key("hosts").index(i).String(), "duplicate host %q", h)
		}
	}
	for _, name := range []struct {
		field, value string
	}{{"className", in.ClassName}, {"tlsSecretName", in.TLSSecretName}} {
		if name.value == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(name.value) {
			ps.Add(at.key(name.field).String(), "%s", msg)
		}
	}
	if in.Path != "" && (!strings.HasPrefix(in.Path, "/") || strings.ContainsAny(in.Path, " \t\n{}*")) {
		ps.Add(at.key("path").String(), "must be an absolute URL path prefix without spaces or wildcards, got %q", in.Path)
	}
	validateAnnotations(ps, at.key("annotations"), in.Annotations)
}

// validateAnnotations refuses bad annotation keys and onf's own.
func validateAnnotations(ps *problem.List, at path, kv map[string]string) {
	for _, e := range apivalidation.ValidateAnnotations(kv, field.NewPath(at.String())) {
		ps.Add(e.Field, "%s", e.ErrorBody())
	}
	for k := range kv {
		if strings.HasPrefix(k, ownPrefix) {
			ps.Add(at.String()+"["+k+"]", "onf sets annotations under %s itself", ownPrefix)
		}
	}
}
