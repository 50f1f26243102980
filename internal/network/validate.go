package network

import (
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/problem"
)

var dnsLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$`)

// Size bounds of a network. The JSON Schema (api/v1alpha1 markers) holds these and every other
// count and length; Validate checks the node counts again because specs reach it without the
// schema too (`onf scale`, a running network's stored spec), and everything that plans or
// writes per node (Build, node keys, manifests) runs only after Validate.
const (
	// MaxReplicas bounds a group's replicas and its autoscaler's maxReplicas.
	MaxReplicas = 1000
	// MaxNodes bounds a network's nodes, every group counted at its largest (autoscaling
	// maxReplicas included).
	MaxNodes = 5000
)

// Validate runs the semantic checks the JSON Schema cannot express, on a defaulted spec.
// It returns a *problem.Error listing every reason, or nil.
func Validate(n *v1alpha1.SubstrateNetwork) error {
	var ps problem.List
	if n.APIVersion != v1alpha1.GroupVersion.String() {
		ps.Add("apiVersion", "must be %s", v1alpha1.GroupVersion)
	}
	if n.Kind != v1alpha1.Kind {
		ps.Add("kind", "must be %s", v1alpha1.Kind)
	}
	if err := CheckName(n.Name); err != nil {
		ps.Add("metadata.name", "%v", err)
	}
	s := &n.Spec
	spec := path("spec")
	if nodes := maxNodes(s); nodes > MaxNodes {
		ps.Add(spec.key("groups").String(), "must have at most %d nodes, every group at its largest (replicas or autoscaling.maxReplicas), got %d", MaxNodes, nodes)
	}
	validateChain(&ps, spec.key("chain"), s.Chain)
	if _, err := flavor.For(s.Node.Flavor); err != nil {
		ps.Add(spec.key("node.flavor").String(), "%v", err)
	}
	validateParachains(&ps, s)
	validateGroups(&ps, s)
	validateBackup(&ps, s)
	validateMonitoring(&ps, s.Monitoring)
	validateServices(&ps, s)
	if gw := s.Gateway; gw != nil && FindGroup(s, gw.Group) == nil {
		ps.Add(spec.key("gateway.group").String(), "no group named %q in spec.groups", gw.Group)
	}
	return Invalid(ps)
}

func validateChain(ps *problem.List, at path, c v1alpha1.Chain) {
	set := 0
	for _, v := range []bool{c.Builtin != "", c.File != "", c.URL != "", c.ConfigMap != nil} {
		if v {
			set++
		}
	}
	if set != 1 {
		ps.Add(at.String(), "set exactly one of builtin, file, url, configMap (%d set)", set)
	}
	if c.URL != "" {
		checkDownloadURL(ps, at.key("url"), c.URL, "a chain spec")
	} else if c.SHA256 != "" {
		ps.Add(at.key("sha256").String(), "sha256 is the checksum of url: set url")
	}
	checkSHA256(ps, at.key("sha256"), c.SHA256)
}

// checkSHA256 refuses a checksum that is not 64 lower-case hex digits (when set).
func checkSHA256(ps *problem.List, at path, sum string) {
	if sum != "" && !sha256Hex.MatchString(sum) {
		ps.Add(at.String(), "must be 64 lower-case hex digits (a sha256), got %q", sum)
	}
}

func validateParachains(ps *problem.List, s *v1alpha1.SubstrateNetworkSpec) {
	names, ids := map[string]bool{}, map[int32]string{}
	hasRelay := slices.ContainsFunc(s.Groups, func(g v1alpha1.NodeGroup) bool { return g.Parachain == "" })
	for i, p := range s.Parachains {
		at := path("spec").key("parachains").index(i)
		if names[p.Name] {
			ps.Add(at.key("name").String(), "duplicate parachain name %q", p.Name)
		}
		names[p.Name] = true
		if other, dup := ids[p.ID]; dup {
			ps.Add(at.key("id").String(), "para id %d is already used by parachain %q", p.ID, other)
		}
		ids[p.ID] = p.Name
		validateChain(ps, at.key("chain"), p.Chain)
		if p.Node != nil && p.Node.Flavor == v1alpha1.FlavorGossamer {
			ps.Add(at.key("node.flavor").String(), "gossamer cannot run collators: use substrate")
		}
		if len(p.Relay.RPCURLs) == 0 && !hasRelay {
			ps.Add(at.key("relay").String(), "parachain %q has no relay chain: add relay chain groups to the network or set relay.rpcUrls", p.Name)
		}
		// The embedded relay chain node is a polkadot-sdk node.
		checkArgs(ps, at.key("relay.args"), v1alpha1.FlavorSubstrate, p.Relay.Args)
		checkDatabase(ps, at.key("relay.database"), p.Relay.Database)
		if len(p.Relay.RPCURLs) > 0 {
			// Collators then follow the relay chain over RPC: its own node settings would
			// be dropped without a word.
			if p.Relay.Metrics {
				ps.Add(at.key("relay.metrics").String(), "no embedded relay chain node runs when relay.rpcUrls is set: there is nothing to scrape")
			}
			if p.Relay.Pruning != "" {
				ps.Add(at.key("relay.pruning").String(), "no embedded relay chain node runs when relay.rpcUrls is set: there is nothing to prune")
			}
			if p.Relay.Database != "" {
				ps.Add(at.key("relay.database").String(), "no embedded relay chain node runs when relay.rpcUrls is set: it has no database")
			}
			if p.Relay.Storage != "" {
				ps.Add(at.key("relay.storage").String(), "no embedded relay chain node runs when relay.rpcUrls is set: it keeps no data")
			}
		}
		if p.Relay.Storage != "" {
			if _, err := resource.ParseQuantity(p.Relay.Storage); err != nil {
				ps.Add(at.key("relay.storage").String(), "must be a Kubernetes quantity such as 100Gi, got %q", p.Relay.Storage)
			}
		} else if p.Relay.StorageClassName != "" {
			ps.Add(at.key("relay.storageClassName").String(), "is the class of the relay chain's own volume: set relay.storage too")
		}
		for j, u := range p.Relay.RPCURLs {
			if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
				ps.Add(at.key("relay.rpcUrls").index(j).String(), "must be a ws:// or wss:// URL, got %q", u)
			}
		}
		if !slices.ContainsFunc(s.Groups, func(g v1alpha1.NodeGroup) bool { return g.Parachain == p.Name && g.Role == v1alpha1.RoleCollator }) {
			ps.Add(at.String(), "parachain %q has no collator group", p.Name)
		}
	}
}

func validateGroups(ps *problem.List, s *v1alpha1.SubstrateNetworkSpec) {
	names := map[string]bool{}
	keys := keyUse{}
	gossamerValidators := 0
	for i := range s.Groups {
		g := &s.Groups[i]
		at := path("spec").key("groups").index(i)
		if names[g.Name] {
			ps.Add(at.key("name").String(), "duplicate group name %q", g.Name)
		}
		names[g.Name] = true
		replicas := Replicas(g)
		if replicas < 0 || replicas > MaxReplicas {
			ps.Add(at.key("replicas").String(), "must be between 0 and %d, got %d", MaxReplicas, replicas)
		}
		sw := Software(s, g)
		if g.Node != nil && g.Node.Flavor != "" {
			if _, err := flavor.For(g.Node.Flavor); err != nil {
				ps.Add(at.key("node.flavor").String(), "%v", err)
			}
		}
		gossamer := sw.Flavor == v1alpha1.FlavorGossamer

		switch {
		case g.Role == v1alpha1.RoleCollator && g.Parachain == "":
			ps.Add(at.key("parachain").String(), "collator groups must name their parachain")
		case g.Role == v1alpha1.RoleValidator && g.Parachain != "":
			ps.Add(at.key("parachain").String(), "validators belong to the relay chain, not to parachain %q", g.Parachain)
		case g.Parachain != "" && FindParachain(s, g.Parachain) == nil:
			ps.Add(at.key("parachain").String(), "no parachain named %q in spec.parachains", g.Parachain)
		}
		if gossamer && g.Parachain != "" {
			ps.Add(at.key("parachain").String(), "gossamer cannot run parachain nodes: use flavor substrate")
		}
		if g.Role == v1alpha1.RoleValidator && gossamer {
			gossamerValidators += max(replicas, 0)
		}
		validateKeys(ps, at.key("keys"), g, replicas, gossamer, keys)
		validateHA(ps, at.key("ha"), g)
		if g.Autoscaling != nil {
			a := at.key("autoscaling")
			if g.Role != v1alpha1.RoleRPC {
				ps.Add(a.String(), "only rpc groups autoscale (role is %s)", g.Role)
			}
			if g.Autoscaling.MinReplicas > g.Autoscaling.MaxReplicas {
				ps.Add(a.key("minReplicas").String(), "must be <= maxReplicas (%d)", g.Autoscaling.MaxReplicas)
			}
			if g.Autoscaling.MaxReplicas > MaxReplicas {
				ps.Add(a.key("maxReplicas").String(), "must be <= %d, got %d", MaxReplicas, g.Autoscaling.MaxReplicas)
			}
		}
		if g.P2P != nil && g.P2P.Expose == v1alpha1.ExposeNodePort && g.P2P.PublicHost == "" {
			ps.Add(at.key("p2p.publicHost").String(), "required with expose NodePort: peers must know the node's public address")
		}
		if g.Storage != "" {
			if _, err := resource.ParseQuantity(g.Storage); err != nil {
				ps.Add(at.key("storage").String(), "must be a Kubernetes quantity such as 10Gi, got %q", g.Storage)
			}
		}
		if gossamer {
			// Gossamer ignores these settings; refusing them beats silently dropping them.
			if g.RPC != nil && g.RPC.MaxConnections != nil {
				ps.Add(at.key("rpc.maxConnections").String(), "not supported by gossamer")
			}
			if g.RPC != nil && len(g.RPC.CORS) > 0 {
				ps.Add(at.key("rpc.cors").String(), "not supported by gossamer (its --rpc-cors is a no-op)")
			}
			if g.Pruning != "" && g.Pruning != "archive" {
				ps.Add(at.key("pruning").String(), "gossamer supports archive only, got %q", g.Pruning)
			}
			if g.Database != "" {
				ps.Add(at.key("database").String(), "gossamer has a database of its own and no --database: leave it unset (got %q)", g.Database)
			}
			if g.RuntimeOverride != nil {
				ps.Add(at.key("runtimeOverride").String(), "gossamer has no --wasm-runtime-overrides: use flavor substrate")
			}
		}
		checkArgs(ps, at.key("args"), sw.Flavor, g.Args)
		checkDatabase(ps, at.key("database"), g.Database)
		if o := g.RuntimeOverride; o != nil {
			checkDownloadURL(ps, at.key("runtimeOverride.url"), o.URL, "a WASM runtime")
			if !sha256Hex.MatchString(o.SHA256) {
				ps.Add(at.key("runtimeOverride.sha256").String(), "the runtime's sha256 is required: 64 lower-case hex digits (the runtime replaces the chain's own, so it must be exactly the file reviewed)")
			}
		}
		validateUpgrade(ps, at.key("upgrade"), g)
		validatePod(ps, at, g)
		_, growth := StorageGrowth(at.key("storageGrowth").String(), g)
		*ps = append(*ps, growth...)
		validateBootnodes(ps, at.key("p2p"), g.P2P)
		validateTelemetry(ps, at.key("telemetry"), g, gossamer)
		validateTracing(ps, at.key("tracing"), g, gossamer)
		validateMetrics(ps, at.key("autoscaling"), g.Autoscaling)
	}
	if gossamerValidators > 1 {
		ps.Add("spec.groups", "a gossamer network supports at most one validator node (two gossamer validators fork and never finalise), got %d", gossamerValidators)
	}
}

// maxNodes counts a network's nodes with every group at its largest, in int64 so that no
// count of int32 replicas overflows.
func maxNodes(s *v1alpha1.SubstrateNetworkSpec) int64 {
	var n int64
	for i := range s.Groups {
		g := &s.Groups[i]
		largest := int64(Replicas(g))
		if g.Autoscaling != nil {
			largest = max(largest, int64(g.Autoscaling.MaxReplicas))
		}
		n += max(largest, 0)
	}
	return n
}

// checkArgs refuses extra arguments by the flavor's policy (internal/flavor/args.go): flags
// onf sets, and flags that widen exposure, carry keys or secrets, or start debug servers.
func checkArgs(ps *problem.List, at path, f v1alpha1.Flavor, args []string) {
	for _, r := range flavor.CheckArgs(f, args) {
		ps.Add(at.index(r.Index).String(), "%s", r.Reason)
	}
}

// keyUse remembers, per chain, where each session key source is first used: two nodes of one
// chain signing with the same key equivocate.
type keyUse map[[2]string]string

func (u keyUse) claim(ps *problem.List, at path, chain, source string) {
	k := [2]string{chain, source}
	if first, used := u[k]; used {
		ps.Add(at.String(), "same key as %s: two nodes signing with one key equivocate", first)
		return
	}
	u[k] = at.String()
}

func validateKeys(ps *problem.List, at path, g *v1alpha1.NodeGroup, replicas int, gossamer bool, used keyUse) {
	signs := g.Role == v1alpha1.RoleValidator || g.Role == v1alpha1.RoleCollator
	k := g.Keys
	if !signs {
		if k != nil {
			ps.Add(at.String(), "only validator and collator groups have session keys (role is %s)", g.Role)
		}
		return
	}
	if k == nil {
		if replicas > 0 {
			ps.Add(at.String(), "required for %s groups: set dev, files or secret", g.Role)
		}
		return
	}
	sources := 0
	count := 0
	for _, n := range []int{len(k.Dev), len(k.Files)} {
		if n > 0 {
			sources++
			count = n
		}
	}
	if k.Secret != "" {
		sources++
		count = replicas // a Secret holds one key per replica; checked by the cluster backend
	}
	if sources != 1 {
		ps.Add(at.String(), "set exactly one of dev, files, secret (%d set)", sources)
		return
	}
	if count < replicas {
		ps.Add(at.String(), "keys for %d of %d replicas: every replica needs its own key", count, replicas)
	}
	for i, uri := range k.Dev {
		if !strings.HasPrefix(uri, "//") {
			ps.Add(at.key("dev").index(i).String(), "must be a dev URI such as //Alice, got %q", uri)
		} else if gossamer && !slices.Contains(flavor.GossamerDevKeys, flavor.DevKeyName(uri)) {
			ps.Add(at.key("dev").index(i).String(), "gossamer knows the dev keys %s, not %q", strings.Join(flavor.GossamerDevKeys, ", "), uri)
		} else if i < replicas {
			used.claim(ps, at.key("dev").index(i), g.Parachain, "dev:"+uri)
		}
	}
	for i, file := range k.Files[:min(len(k.Files), replicas)] {
		used.claim(ps, at.key("files").index(i), g.Parachain, "file:"+file)
	}
	if k.Secret != "" {
		used.claim(ps, at.key("secret"), g.Parachain, "secret:"+k.Secret)
	}
	if gossamer && len(k.Dev) == 0 {
		ps.Add(at.String(), "gossamer %s groups take dev keys only (keys.dev): gossamer loads its authority key by name at start", g.Role)
	}
}

// checkDatabase refuses a database backend polkadot-sdk does not know (specs reach Validate
// without the schema's enum too).
func checkDatabase(ps *problem.List, at path, db v1alpha1.Database) {
	switch db {
	case "", v1alpha1.DatabaseRocksDB, v1alpha1.DatabaseParityDB:
	default:
		ps.Add(at.String(), "must be rocksdb or paritydb, got %q", db)
	}
}
