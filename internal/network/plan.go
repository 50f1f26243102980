package network

import (
	"fmt"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
)

// NodeRef identifies one node of a spec before it is planned.
type NodeRef struct {
	Name      string          `json:"name"` // <group>-<index>
	Group     string          `json:"group"`
	Index     int             `json:"index"`
	Role      v1alpha1.Role   `json:"role"`
	Flavor    v1alpha1.Flavor `json:"flavor"`
	Parachain string          `json:"parachain,omitempty"`
	// Identity is the HA identity a candidate node of an HA group signs for (<group>-<index>,
	// the key index being Index), and Candidate which of its nodes it is; empty without HA.
	Identity  string `json:"identity,omitempty"`
	Candidate int    `json:"candidate,omitempty"`
}

// RuntimeOverrideDir is where a node finds its groups[].runtimeOverride: a directory in its
// container (clusters fill it in an init step; local runs refuse the field).
const RuntimeOverrideDir = "/onf/runtime"

// RelayDataDir is where a collator's embedded relay chain node keeps its data when its
// parachain gives it a volume of its own (parachains[].relay.storage; clusters only).
const RelayDataDir = "/relay-data"

// Target is where plans run: it supplies the facts that differ between backends (a local
// machine allocates ports on loopback; a cluster uses fixed ports and DNS names).
type Target interface {
	// Ports are the ports of a node; the dialect decides which of them it uses.
	Ports(n NodeRef) flavor.Ports
	// Host is the address other nodes dial: an IP or a DNS name.
	Host(n NodeRef) string
	// BasePath is the node's data directory.
	BasePath(n NodeRef) string
	// PeerID is the libp2p peer ID of the node's persistent node key.
	PeerID(n NodeRef) (string, error)
	// ChainSpec is the --chain value for a chain source: a builtin name or a file path.
	ChainSpec(c v1alpha1.Chain, f v1alpha1.Flavor) (string, error)
	// SURIFile is the path at which the node finds its secret URI file.
	SURIFile(n NodeRef) string
	// KeystorePath is the node's session keystore directory, outside BasePath.
	KeystorePath(n NodeRef) string
	// External reports whether nodes listen on all interfaces (clusters) or loopback only.
	External() bool
	// Self is how the node refers to itself on its own command line, given the public host
	// the spec gives its group (if any). A backend that runs one command line for many nodes
	// (a StatefulSet's pods) answers with references its runtime resolves per node.
	Self(n NodeRef, publicHost string) Self
}

// Self is a node's own name and addresses on its command line.
type Self struct {
	Name       string // --name
	Host       string // the address it is reached at (Target.Host, or a per-node reference to it)
	PublicHost string // the address others should dial instead of Host, if any
	// PublicPort and RelayPublicPort are the ports others dial at PublicHost, when not the
	// node's own (per-pod NodePorts): text, for a reference the runtime resolves per node.
	PublicPort, RelayPublicPort string
}

// NodePlan is everything a backend needs to run one node.
type NodePlan struct {
	NodeRef
	Tier        int                 `json:"tier"` // start order: 0 relay seeds (boot, validators), 1 other relay nodes, 2 parachain nodes
	Binary      string              `json:"binary,omitempty"`
	Image       string              `json:"image,omitempty"`
	Ports       flavor.Ports        `json:"ports"`
	BasePath    string              `json:"basePath"`
	NodeKeyFile string              `json:"nodeKeyFile"`
	PeerID      string              `json:"peerId"`
	Multiaddr   string              `json:"multiaddr"`
	Bootnodes   []string            `json:"bootnodes,omitempty"`
	RPCMethods  v1alpha1.RPCMethods `json:"rpcMethods"`
	Keys        *KeyPlan            `json:"keys,omitempty"`
	Init        [][]string          `json:"init,omitempty"`
	Args        []string            `json:"args"`
	// PublicPorts are the ports a node on a loopback-only target may listen on beyond
	// loopback (P2P when the spec gives the node a public address); the local runtime
	// confines every other listening socket of the node to loopback.
	PublicPorts []int `json:"publicPorts,omitempty"`
	// Env is the node process's extra environment (NAME=value) from pod.env, for local
	// runs; clusters render pod.env into the pod as it is.
	Env []string `json:"env,omitempty"`
	// HA is the lease settings of an HA candidate (Identity set), nil for other nodes.
	HA *v1alpha1.HA `json:"ha,omitempty"`

	// KeystorePath is the session keystore's directory (signing nodes only), never inside
	// BasePath.
	KeystorePath string `json:"keystorePath,omitempty"`
	// InsertKeys are the commands that fill the keystore, run before every start.
	InsertKeys [][]string `json:"insertKeys,omitempty"`

	// StandbyArgs is the command line of an HA candidate while it does not hold its
	// identity's lease: a full node without keys (Init is rendered for it too, so that no
	// key is ever set up at init). Args is its command line as the authority.
	StandbyArgs []string `json:"standbyArgs,omitempty"`
}

// Standby is the plan of an HA candidate while it is a standby: its keyless command line and
// no keys to write or insert.
func (np NodePlan) Standby() NodePlan {
	np.Args, np.Keys, np.KeystorePath, np.InsertKeys = np.StandbyArgs, nil, "", nil
	return np
}

// KeyPlan says which session keys a node holds and where the secret comes from. It never holds
// a secret itself: Dev is a well-known public dev URI, File and Secret are references.
type KeyPlan struct {
	Types     []flavor.SessionKey `json:"types"`
	Dev       string              `json:"dev,omitempty"`
	File      string              `json:"file,omitempty"`
	Secret    string              `json:"secret,omitempty"`
	SecretKey string              `json:"secretKey,omitempty"`
}

// Plan is a whole network's node plans in start order.
type Plan struct {
	Network string     `json:"network"`
	Nodes   []NodePlan `json:"nodes"`
}

// Node returns the plan of the named node, or nil.
func (p *Plan) Node(name string) *NodePlan {
	for i := range p.Nodes {
		if p.Nodes[i].Name == name {
			return &p.Nodes[i]
		}
	}
	return nil
}

// Nodes lists the nodes of a defaulted spec in start order, before any planning.
func Nodes(n *v1alpha1.SubstrateNetwork) []NodeRef {
	var refs []NodeRef
	for tier := 0; tier <= 2; tier++ {
		for i := range n.Spec.Groups {
			g := &n.Spec.Groups[i]
			if tierOf(g.Role, g.Parachain) != tier {
				continue
			}
			sw := Software(&n.Spec, g)
			for r := 0; r < Replicas(g); r++ {
				ref := NodeRef{
					Name: fmt.Sprintf("%s-%d", g.Name, r), Group: g.Name, Index: r,
					Role: g.Role, Flavor: sw.Flavor, Parachain: g.Parachain,
				}
				if g.HA == nil {
					refs = append(refs, ref)
					continue
				}
				// An HA identity's nodes: <group>-<index>-<candidate>, all able to sign for it.
				ref.Identity = ref.Name
				for c := 0; c <= Standbys(g); c++ {
					ref.Name, ref.Candidate = fmt.Sprintf("%s-%d", ref.Identity, c), c
					refs = append(refs, ref)
				}
			}
		}
	}
	return refs
}

// tierOf orders starts: relay chain seeds first, then the relay chain's other nodes, then
// parachain nodes, which need a relay chain to follow.
func tierOf(r v1alpha1.Role, parachain string) int {
	if parachain != "" {
		return 2
	}
	switch r {
	case v1alpha1.RoleValidator, v1alpha1.RoleBootnode:
		return 0
	default:
		return 1
	}
}

// Build plans a defaulted, validated spec for a target. It is pure: the same spec and target
// facts always give the same plan.
func Build(n *v1alpha1.SubstrateNetwork, t Target) (*Plan, error) {
	refs := Nodes(n)
	nodes, err := build(n, t, refs, len(refs))
	if err != nil {
		return nil, err
	}
	return &Plan{Network: n.Name, Nodes: nodes}, nil
}

// Templates plans a spec for a backend that runs one command line for every node of a group
// (a StatefulSet's pods, whose per-node values its Target leaves to the runtime): per group,
// the plan of its first node. A group scaled to zero is planned as if it had that node, which
// no other node counts as a seed, so the other groups' plans are Build's.
func Templates(n *v1alpha1.SubstrateNetwork, t Target) (map[string]*NodePlan, error) {
	refs := Nodes(n)
	real := len(refs)
	for i := range n.Spec.Groups {
		if g := &n.Spec.Groups[i]; Replicas(g) == 0 {
			sw := Software(&n.Spec, g)
			refs = append(refs, NodeRef{Name: g.Name + "-0", Group: g.Name, Role: g.Role, Flavor: sw.Flavor, Parachain: g.Parachain})
		}
	}
	nodes, err := build(n, t, refs, real)
	if err != nil {
		return nil, err
	}
	out := map[string]*NodePlan{}
	for i := range nodes {
		if np := &nodes[i]; out[np.Group] == nil {
			out[np.Group] = np
		}
	}
	return out, nil
}

// build plans refs, of which the first real are the network's nodes: only those are seeds.
func build(n *v1alpha1.SubstrateNetwork, t Target, refs []NodeRef, real int) ([]NodePlan, error) {
	nodes := make([]NodePlan, 0, len(refs))
	for _, ref := range refs {
		np, err := planNode(n, t, ref)
		if err != nil {
			return nil, fmt.Errorf("plan node %s: %w", ref.Name, err)
		}
		nodes = append(nodes, np)
	}
	relaySeeds := seeds(nodes[:real], func(p *NodePlan) bool { return p.Tier == 0 })
	for i := range nodes {
		np := &nodes[i]
		if np.Parachain != "" {
			np.Bootnodes = others(seeds(nodes[:real], func(p *NodePlan) bool {
				return p.Parachain == np.Parachain && (p.Role == v1alpha1.RoleCollator || p.Role == v1alpha1.RoleBootnode)
			}), np.Multiaddr)
		} else {
			np.Bootnodes = others(relaySeeds, np.Multiaddr)
		}
		if err := render(n, t, np, others(relaySeeds, "")); err != nil {
			return nil, fmt.Errorf("plan node %s: %w", np.Name, err)
		}
	}
	return nodes, nil
}

func planNode(n *v1alpha1.SubstrateNetwork, t Target, ref NodeRef) (NodePlan, error) {
	g := FindGroup(&n.Spec, ref.Group)
	sw := Software(&n.Spec, g)
	d, err := flavor.For(sw.Flavor)
	if err != nil {
		return NodePlan{}, err
	}
	peerID, err := t.PeerID(ref)
	if err != nil {
		return NodePlan{}, err
	}
	ports := t.Ports(ref)
	if !d.SeparateWS() {
		ports.WS = 0
	}
	if p := FindParachain(&n.Spec, ref.Parachain); p == nil {
		ports.RelayP2P, ports.RelayRPC, ports.RelayPrometheus = 0, 0, 0
	} else if !p.Relay.Metrics {
		ports.RelayPrometheus = 0
	}
	base := t.BasePath(ref)
	np := NodePlan{
		NodeRef: ref, Tier: tierOf(ref.Role, ref.Parachain), Binary: sw.Binary, Image: sw.Image,
		Ports: ports, BasePath: base, NodeKeyFile: d.NodeKeyFile(base), PeerID: peerID,
		Multiaddr:  flavor.Multiaddr(t.Host(ref), ports.P2P, peerID),
		RPCMethods: g.RPC.Methods,
	}
	if g.Pod != nil {
		for _, e := range g.Pod.Env {
			np.Env = append(np.Env, e.Name+"="+e.Value)
		}
	}
	if ref.Identity != "" {
		np.HA = g.HA
	}
	if g.Keys != nil {
		np.Keys = planKeys(g.Keys, ref, t)
		np.KeystorePath = t.KeystorePath(ref)
	}
	return np, nil
}

func planKeys(k *v1alpha1.Keys, ref NodeRef, t Target) *KeyPlan {
	kp := &KeyPlan{}
	for _, typ := range k.Types {
		name, scheme, _ := strings.Cut(string(typ), ":")
		kp.Types = append(kp.Types, flavor.SessionKey{Type: name, Scheme: scheme, SURIFile: t.SURIFile(ref)})
	}
	switch {
	case len(k.Dev) > ref.Index:
		kp.Dev = k.Dev[ref.Index]
	case len(k.Files) > ref.Index:
		kp.File = k.Files[ref.Index]
	case k.Secret != "":
		kp.Secret, kp.SecretKey = k.Secret, fmt.Sprint(ref.Index)
	}
	return kp
}

// render fills in a node's init commands and command line through its flavor's dialect.
func render(n *v1alpha1.SubstrateNetwork, t Target, np *NodePlan, relaySeeds []string) error {
	g := FindGroup(&n.Spec, np.Group)
	sw := Software(&n.Spec, g)
	d := flavor.MustFor(sw.Flavor)
	chainSrc := n.Spec.Chain
	var para *flavor.Parachain
	if np.Parachain != "" {
		p := FindParachain(&n.Spec, np.Parachain)
		chainSrc = p.Chain
		relayChain, err := t.ChainSpec(n.Spec.Chain, v1alpha1.FlavorSubstrate)
		if err != nil {
			return fmt.Errorf("relay chain spec: %w", err)
		}
		para = &flavor.Parachain{ID: p.ID, RelayChain: relayChain, RelayRPCURLs: p.Relay.RPCURLs, RelayPruning: p.Relay.Pruning, RelayDatabase: p.Relay.Database, RelayArgs: p.Relay.Args}
		if len(p.Relay.RPCURLs) == 0 {
			para.RelayBootnodes = relaySeeds
		}
		if p.Relay.Storage != "" {
			para.RelayBasePath = RelayDataDir
		}
	}
	chain, err := t.ChainSpec(chainSrc, sw.Flavor)
	if err != nil {
		return fmt.Errorf("chain spec: %w", err)
	}
	var publicHost string
	if g.P2P != nil {
		publicHost = g.P2P.PublicHost
	}
	self := t.Self(np.NodeRef, publicHost)
	fn := flavor.Node{
		Name: self.Name, Role: np.Role, Chain: chain, BasePath: np.BasePath,
		Ports: np.Ports, Bootnodes: np.Bootnodes, NodeKeyFile: np.NodeKeyFile, Host: self.Host, PublicHost: self.PublicHost,
		PublicPort: self.PublicPort, RelayPublicPort: self.RelayPublicPort,
		External: t.External(), RPCMethods: np.RPCMethods, CORS: g.RPC.CORS,
		Pruning: g.Pruning, Database: g.Database, Parachain: para, Extra: g.Args, Telemetry: g.Telemetry,
	}
	if g.RuntimeOverride != nil {
		fn.RuntimeOverrides = RuntimeOverrideDir
	}
	if g.Tracing != nil {
		fn.JaegerAgent = g.Tracing.JaegerAgent
	}
	if g.RPC.MaxConnections != nil {
		fn.MaxConns = *g.RPC.MaxConnections
	}
	if g.P2P != nil && len(g.P2P.Bootnodes) > 0 {
		// Boot nodes outside the network (another cluster or onf network of the same chain)
		// come after the ones onf wires.
		np.Bootnodes = append(append([]string(nil), np.Bootnodes...), g.P2P.Bootnodes...)
		fn.Bootnodes = np.Bootnodes
	}
	if k := np.Keys; k != nil {
		fn.DevKey = k.Dev
		fn.SessionKeys = k.Types
		fn.KeystorePath = np.KeystorePath
	}
	np.Init = d.Init(fn)
	np.InsertKeys = d.InsertKeys(fn)
	np.Args = d.Args(fn)
	if np.Identity != "" {
		standby := fn
		standby.Role, standby.DevKey, standby.SessionKeys, standby.KeystorePath = v1alpha1.RoleFull, "", nil, ""
		np.Init = d.Init(standby)
		np.StandbyArgs = d.Args(standby)
	}
	if !fn.External && fn.P2PListenAll() {
		np.PublicPorts = []int{np.Ports.P2P}
		if np.Ports.RelayP2P != 0 {
			np.PublicPorts = append(np.PublicPorts, np.Ports.RelayP2P)
		}
	}
	return nil
}

func seeds(nodes []NodePlan, keep func(*NodePlan) bool) []string {
	var out []string
	for i := range nodes {
		if keep(&nodes[i]) {
			out = append(out, nodes[i].Multiaddr)
		}
	}
	return out
}

// others is addrs without self.
func others(addrs []string, self string) []string {
	var out []string
	for _, a := range addrs {
		if a != self {
			out = append(out, a)
		}
	}
	return out
}
