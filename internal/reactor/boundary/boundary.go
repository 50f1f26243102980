// Package boundary is what a DINFRA provider accepts from consumers in a substrate-network
// descriptor, for every reactor driver: an explicit allow-list of fields (anything not on it
// is refused, so a field added to the API later stays provider-only until it is listed
// here), the size the units paid for buy, and the chain URLs the provider agrees to fetch.
// Reactors check it before a deployment is booked and again when a booked deployment is
// loaded, so a descriptor that reaches into the provider's machine never runs.
package boundary

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/problem"
)

// DefaultNodesPerUnit is how many nodes one unit buys unless the provider says otherwise
// (the kubernetes driver's default unit holds 4 pods).
const DefaultNodesPerUnit = 4

// Policy is what a provider lets consumers ask for.
type Policy struct {
	// NodesPerUnit bounds a deployment at units × NodesPerUnit nodes (replicas, or an
	// autoscaled group's maxReplicas); 0 means DefaultNodesPerUnit.
	NodesPerUnit int64
	// ChainHosts are the host names (or IP literals) consumers may name in spec.chain.url,
	// a parachain's chain.url and relay.rpcUrls. Empty: consumer URLs are refused, and
	// consumers use built-in chains.
	ChainHosts []string
}

func (p Policy) nodesPerUnit() int64 {
	if p.NodesPerUnit > 0 {
		return p.NodesPerUnit
	}
	return DefaultNodesPerUnit
}

// MaxNodes is how many nodes units buy.
func (p Policy) MaxNodes(units int64) int64 {
	if units > math.MaxInt64/p.nodesPerUnit() {
		return math.MaxInt64
	}
	return units * p.nodesPerUnit()
}

// fields is a tree of allowed field names; a nil subtree allows the field and everything
// under it. "[]" stands for every element of a list.
type fields map[string]fields

var (
	software  = fields{"flavor": nil, "image": nil}
	chainFrom = fields{"builtin": nil, "url": nil}
	// consumerFields is every field a consumer may set.
	consumerFields = fields{
		"apiVersion": nil,
		"kind":       nil,
		"metadata":   {"name": nil},
		"spec": {
			"chain": chainFrom,
			"node":  software,
			"groups": {"[]": {
				"name": nil, "role": nil, "replicas": nil, "node": software, "parachain": nil,
				"keys":    {"dev": nil, "types": nil},
				"pruning": nil, "resources": nil, "storage": nil, "autoscaling": nil,
				"rpc": {"methods": nil, "cors": nil, "maxConnections": nil},
				"p2p": {"expose": nil, "publicHost": nil, "bootnodes": nil},
			}},
			"parachains": {"[]": {
				"name": nil, "id": nil, "chain": chainFrom, "node": software, "relay": {"rpcUrls": nil},
			}},
		},
	}
)

// refusedBecause explains the provider-only fields consumers are most likely to try; any
// other field off the list gets a generic reason.
var refusedBecause = map[string]string{
	"binary":    "the provider chooses the node binaries",
	"file":      "a path on the provider's machine",
	"files":     "paths on the provider's machine; consumers use keys.dev",
	"secret":    "a provider-side secret; consumers use keys.dev",
	"configMap": "a provider-side ConfigMap",
	"args":      "extra node arguments reach into the provider's machine (paths, ports, keys)",
	"gateway":   "the provider runs RPC gateways; spec.gateway.config is a path on its machine",
	"status":    "reported by the provider",
	// Services that publish nodes and keys from the provider's namespace stay its choice.
	"service":       "the provider shapes the Services that publish nodes",
	"nodeKeySecret": "a provider-side secret; node keys are generated for consumers",
}

// Network checks a substrate-network descriptor against the allow-list, the units paid for
// and the policy's chain hosts, and returns the network decoded and defaulted
// (network.Default). A rejection is a *problem.Error naming every field at fault.
func Network(doc []byte, units int64, p Policy) (*v1alpha1.SubstrateNetwork, error) {
	var ps problem.List
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		ps.Add(problem.Document, "not a JSON document: %v", err)
		return nil, invalid(ps)
	}
	allowed(&ps, "", tree, consumerFields)
	if len(ps) > 0 {
		return nil, invalid(ps)
	}
	var n v1alpha1.SubstrateNetwork
	if err := json.Unmarshal(doc, &n); err != nil {
		ps.Add(problem.Document, "not a SubstrateNetwork: %v", err)
		return nil, invalid(ps)
	}
	network.Default(&n)
	checkSize(&ps, &n.Spec, units, p)
	checkURLs(&ps, &n.Spec, p)
	return &n, invalid(ps)
}

// allowed walks a decoded JSON value and refuses every field the tree does not list.
func allowed(ps *problem.List, at string, v any, tree fields) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			path := k
			if at != "" {
				path = at + "." + k
			}
			sub, ok := tree[k]
			switch {
			case !ok:
				reason, known := refusedBecause[k]
				if !known {
					reason = "not accepted from consumers (set by the provider)"
				}
				ps.Add(path, "%s", reason)
			case sub != nil:
				allowed(ps, path, v[k], sub)
			}
		}
	case []any:
		if sub, ok := tree["[]"]; ok && sub != nil {
			for i, e := range v {
				allowed(ps, fmt.Sprintf("%s[%d]", at, i), e, sub)
			}
		}
	}
}

// checkSize bounds the nodes the network may ever run (an autoscaled group counts at its
// maximum) by the units paid for.
func checkSize(ps *problem.List, s *v1alpha1.SubstrateNetworkSpec, units int64, p Policy) {
	limit := p.MaxNodes(units)
	var total int64
	for i := range s.Groups {
		g := &s.Groups[i]
		path, nodes := fmt.Sprintf("spec.groups[%d].replicas", i), int64(network.Replicas(g))
		if g.Autoscaling != nil && int64(g.Autoscaling.MaxReplicas) > nodes {
			path, nodes = fmt.Sprintf("spec.groups[%d].autoscaling.maxReplicas", i), int64(g.Autoscaling.MaxReplicas)
		}
		total += nodes
		if total > limit {
			ps.Add(path, "%d nodes bring the network to %d nodes; %d unit(s) buy at most %d (%d nodes per unit)",
				nodes, total, units, limit, p.nodesPerUnit())
			return
		}
	}
}

// checkURLs refuses consumer URLs the provider has not agreed to: the provider's machine
// would fetch or connect to them.
func checkURLs(ps *problem.List, s *v1alpha1.SubstrateNetworkSpec, p Policy) {
	check := func(path, raw string, schemes ...string) {
		if raw == "" {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !slices.Contains(schemes, u.Scheme) || u.Hostname() == "" || u.User != nil {
			ps.Add(path, "want a %s URL with a host and no user information", strings.Join(schemes, " or "))
			return
		}
		if len(p.ChainHosts) == 0 {
			ps.Add(path, "this provider fetches no consumer URLs; use a builtin chain")
			return
		}
		if !slices.ContainsFunc(p.ChainHosts, func(h string) bool { return strings.EqualFold(h, u.Hostname()) }) {
			ps.Add(path, "host %q is not one this provider fetches from (%s)", u.Hostname(), strings.Join(p.ChainHosts, ", "))
		}
	}
	check("spec.chain.url", s.Chain.URL, "https", "http")
	for i, pc := range s.Parachains {
		at := fmt.Sprintf("spec.parachains[%d]", i)
		check(at+".chain.url", pc.Chain.URL, "https", "http")
		for j, r := range pc.Relay.RPCURLs {
			check(fmt.Sprintf("%s.relay.rpcUrls[%d]", at, j), r, "wss", "ws")
		}
	}
}

// invalid is the rejection of a substrate-network descriptor for ps, nil for none.
func invalid(ps problem.List) error { return descriptor.Invalid(descriptor.TypeSubstrateNetwork, ps) }
