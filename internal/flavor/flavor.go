// Package flavor renders node command lines. polkadot-sdk binaries and gossamer take different
// flags for the same intent; this table is the one place that difference lives.
package flavor

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Ports are the TCP ports a node listens on. WS is separate only for dialects that serve
// WebSocket RPC on its own port (gossamer); polkadot-sdk serves HTTP and WS on RPC.
type Ports struct {
	P2P        int `json:"p2p"`
	RPC        int `json:"rpc"`
	WS         int `json:"ws,omitempty"`
	Prometheus int `json:"prometheus"`
	// RelayP2P and RelayRPC are the embedded relay chain node's ports (collators only), and
	// RelayPrometheus its metrics port when it serves metrics (0: --no-prometheus).
	RelayP2P        int `json:"relayP2p,omitempty"`
	RelayRPC        int `json:"relayRpc,omitempty"`
	RelayPrometheus int `json:"relayPrometheus,omitempty"`
}

// SessionKey is one key to put into a node's keystore before it starts.
type SessionKey struct {
	Type   string `json:"type"`   // four-letter key type, e.g. babe
	Scheme string `json:"scheme"` // sr25519, ed25519 or ecdsa
	// SURIFile is the path of a 0600 file holding the secret URI; secrets never go on a
	// command line, only this path does.
	SURIFile string `json:"suriFile"`
}

// Node is what a dialect needs to render one node's command lines.
type Node struct {
	Name        string
	Role        v1alpha1.Role
	Chain       string // the --chain value: a builtin name or a spec file path
	BasePath    string
	Ports       Ports
	Bootnodes   []string // multiaddrs with /p2p/ peer IDs
	NodeKeyFile string   // the node key file as this dialect reads it
	Host        string   // the address this node is reached at: loopback locally, the pod's DNS name in clusters
	PublicHost  string   // IP or DNS name others should dial, if not Host
	External    bool     // listen on all interfaces (clusters) rather than loopback
	RPCMethods  v1alpha1.RPCMethods
	CORS        []string
	MaxConns    int32
	Pruning     string
	Database    v1alpha1.Database // --database; "" leaves the node's default
	// RuntimeOverrides is a directory of WASM runtimes replacing on-chain ones of the same
	// spec version (--wasm-runtime-overrides); "" for none.
	RuntimeOverrides string
	DevKey           string // a well-known dev URI such as //Alice
	SessionKeys      []SessionKey
	Parachain        *Parachain
	Extra            []string
	Telemetry        []v1alpha1.TelemetryEndpoint // none: --no-telemetry
	JaegerAgent      string                       // --jaeger-agent HOST:PORT; "" for none

	// KeystorePath is the session keystore's directory, apart from BasePath so that no copy
	// of the chain database (backup, snapshot, migration) ever holds a private key.
	KeystorePath string

	// PublicPort and RelayPublicPort are the ports others dial at PublicHost for the node and
	// its embedded relay chain node, when not the ones they listen on (per-pod NodePorts);
	// text, so that a backend can pass a reference its runtime resolves ($(VAR)).
	PublicPort      string
	RelayPublicPort string
}

// Parachain is the collator side of a parachain node.
type Parachain struct {
	ID             int32
	RelayChain     string   // --chain of the embedded relay chain node
	RelayBootnodes []string // relay chain boot nodes for the embedded node
	RelayRPCURLs   []string // external relay chain RPC instead of an embedded node
	RelayPruning   string   // the embedded node's pruning, as Node.Pruning
	RelayDatabase  v1alpha1.Database
	RelayArgs      []string
	// RelayBasePath is the embedded node's own data directory (a volume of its own); "":
	// the node's default, inside the collator's base path.
	RelayBasePath string
}

// Dialect renders a flavor's command lines and knows its file layout.
type Dialect interface {
	// Args is the command line that runs the node.
	Args(n Node) []string
	// Init lists commands (argument vectors for the same binary) that prepare a new data
	// directory. They run once, before the first start.
	Init(n Node) [][]string
	// InsertKeys lists commands that put the node's session keys into its keystore. They
	// run before every start: inserting a key again is harmless, and a keystore held only
	// in memory (a pod's) is empty at each start.
	InsertKeys(n Node) [][]string
	// NodeKeyFile is where the node's p2p key lives for a base path.
	NodeKeyFile(basePath string) string
	// NodeKeyFileContent renders a node key for that file, from its hex seed and hex
	// 64-byte private key.
	NodeKeyFileContent(seedHex, privateKeyHex string) string
	// SeparateWS reports whether WebSocket RPC needs its own port.
	SeparateWS() bool
	// DefaultBinary is the executable run when a spec names none, for a relay or solo chain
	// node or for a parachain node.
	DefaultBinary(parachain bool) string
	// BuiltinChainFile is where a release of the binary ships the spec of a builtin chain,
	// relative to the binary's directory; "" when the binary has it compiled in.
	BuiltinChainFile(builtin string) string
	// HealthPaths are the HTTP paths on the RPC port that answer whether the node lives and
	// is ready; "" when it serves none (a probe then checks that the RPC port accepts
	// connections).
	HealthPaths() (live, ready string)
}

var table = map[v1alpha1.Flavor]Dialect{
	v1alpha1.FlavorSubstrate: substrate{},
	v1alpha1.FlavorGossamer:  gossamer{},
}

// Flavors lists the flavors of the table, sorted.
func Flavors() []v1alpha1.Flavor {
	return slices.Sorted(maps.Keys(table))
}

// For returns the dialect of a flavor.
func For(f v1alpha1.Flavor) (Dialect, error) {
	d, ok := table[f]
	if !ok {
		return nil, fmt.Errorf("unknown node flavor %q (want substrate or gossamer)", f)
	}
	return d, nil
}

// MustFor is For for flavors already validated.
func MustFor(f v1alpha1.Flavor) Dialect {
	d, err := For(f)
	if err != nil {
		panic(err)
	}
	return d
}

// commonArgs are the flags both dialects spell the same way.
func commonArgs(n Node) []string {
	a := []string{
		"--name", n.Name,
		"--chain", n.Chain,
		"--base-path", n.BasePath,
		"--port", itoa(n.Ports.P2P),
		"--rpc-port", itoa(n.Ports.RPC),
		"--prometheus-port", itoa(n.Ports.Prometheus),
	}
	if len(n.Telemetry) == 0 {
		// Telemetry is opt-in: a node reports to no server unless the spec names one.
		a = append(a, "--no-telemetry")
	}
	return a
}

// P2PListenAll reports whether the node's P2P port listens on every interface: in clusters,
// and elsewhere only when the spec names a public address for others to reach it at. Every
// other port of a local node listens on loopback only.
func (n Node) P2PListenAll() bool { return n.External || n.PublicHost != "" }

// loopbackListen binds a P2P port to loopback with the multiaddr both dialects take.
func loopbackListen(port int) []string {
	return []string{"--listen-addr", Multiaddr("127.0.0.1", port, "")}
}

// nodeKeyIn is the conventional node key path inside a base path.
func nodeKeyIn(basePath, name string) string { return filepath.Join(basePath, name) }

// Multiaddr is a libp2p TCP address: /ip4|/ip6|/dns/<host>/tcp/<port>[/p2p/<peer id>].
func Multiaddr(host string, port int, peerID string) string {
	return multiaddr(host, itoa(port), peerID)
}

// publicAddr is the address a node announces: at its public host, on the public port when
// one is given, else on the port it listens on.
func publicAddr(host, publicPort string, port int) string {
	if publicPort == "" {
		publicPort = itoa(port)
	}
	return multiaddr(host, publicPort, "")
}

// multiaddr is /PROTO/HOST/tcp/PORT[/p2p/PEER]; a host that starts with a slash is a
// multiaddr prefix already (/ip4/..., or a variable the kubelet fills with one).
func multiaddr(host, port, peerID string) string {
	a := host + "/tcp/" + port
	if !strings.HasPrefix(host, "/") {
		proto := "dns"
		if ip, err := netip.ParseAddr(host); err == nil {
			proto = "ip4"
			if ip.Is6() {
				proto = "ip6"
			}
		}
		a = fmt.Sprintf("/%s/%s/tcp/%s", proto, host, port)
	}
	if peerID != "" {
		a += "/p2p/" + peerID
	}
	return a
}
