package network

import (
	"net/url"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// validateTelemetry checks spec.groups[].telemetry: WebSocket URLs without credentials (a URL
// lands on the node's command line), each once; and a node that can take them.
func validateTelemetry(ps *problem.List, at path, g *v1alpha1.NodeGroup, gossamer bool) {
	if len(g.Telemetry) == 0 {
		return
	}
	if gossamer {
		// Gossamer v0.9.0 splits each --telemetry-url entry at ':' and wants two parts, so no
		// ws:// or wss:// URL ever parses.
		ps.Add(at.String(), "not supported by gossamer (v0.9.0 cannot parse a telemetry URL that has a scheme)")
		return
	}
	seen := map[string]bool{}
	for i, e := range g.Telemetry {
		f := at.index(i).key("url").String()
		u, err := url.Parse(e.URL)
		switch {
		case err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "":
			ps.Add(f, "must be a ws:// or wss:// URL with a host, got %q", e.URL)
		case u.User != nil:
			ps.Add(f, "must not carry credentials: the URL is on the node's command line")
		case strings.ContainsAny(e.URL, " \t\n"):
			ps.Add(f, "must not contain spaces, got %q", e.URL)
		case seen[e.URL]:
			ps.Add(f, "duplicate telemetry URL %q", e.URL)
		}
		seen[e.URL] = true
	}
}
