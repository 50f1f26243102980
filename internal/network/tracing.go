package network

import (
	"net"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// validateTracing checks spec.groups[].tracing: a HOST:PORT Jaeger agent, for a node whose
// command line has --jaeger-agent (polkadot's own; neither gossamer nor the parachain nodes
// of polkadot-sdk take it).
func validateTracing(ps *problem.List, at path, g *v1alpha1.NodeGroup, gossamer bool) {
	if g.Tracing == nil {
		return
	}
	switch {
	case gossamer:
		ps.Add(at.String(), "not supported by gossamer (it has no Jaeger tracing)")
		return
	case g.Parachain != "":
		ps.Add(at.String(), "not supported by parachain nodes (polkadot-parachain has no --jaeger-agent; only the relay chain's polkadot does)")
		return
	}
	f := at.key("jaegerAgent").String()
	host, port, err := net.SplitHostPort(g.Tracing.JaegerAgent)
	if err != nil {
		ps.Add(f, "must be HOST:PORT (an IP address or DNS name and a UDP port), got %q", g.Tracing.JaegerAgent)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		ps.Add(f, "port must be 1 to 65535, got %q", port)
	}
	if net.ParseIP(host) == nil && len(validation.IsDNS1123Subdomain(host)) > 0 {
		ps.Add(f, "host must be an IP address or a lower-case DNS name, got %q", host)
	}
}
