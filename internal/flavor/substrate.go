package flavor

import (
	"strconv"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
)

// substrate is the CLI of polkadot-sdk nodes (polkadot, polkadot-parachain, solochain nodes).
type substrate struct{}

func (substrate) Args(n Node) []string {
	a := append(commonArgs(n), "--node-key-file", n.NodeKeyFile)
	switch n.Role {
	case v1alpha1.RoleValidator:
		a = append(a, "--validator")
	case v1alpha1.RoleCollator:
		a = append(a, "--collator")
	}
	if len(n.SessionKeys) > 0 {
		a = append(a, "--keystore-path", n.KeystorePath)
	}
	a = append(a, "--rpc-methods", string(n.RPCMethods))
	// Without the -external flags RPC and metrics listen on loopback; P2P needs its own flag.
	if !n.P2PListenAll() {
		a = append(a, loopbackListen(n.Ports.P2P)...)
	}
	if n.External {
		a = append(a, "--prometheus-external")
		if n.RPCMethods == v1alpha1.RPCUnsafe {
			a = append(a, "--unsafe-rpc-external")
		} else {
			a = append(a, "--rpc-external")
		}
	}
	if len(n.CORS) > 0 {
		a = append(a, "--rpc-cors", strings.Join(n.CORS, ","))
	}
	if n.MaxConns > 0 {
		a = append(a, "--rpc-max-connections", itoa(int(n.MaxConns)))
	}
	if n.PublicHost != "" {
		a = append(a, "--public-addr", publicAddr(n.PublicHost, n.PublicPort, n.Ports.P2P))
	}
	a = append(a, pruningArgs(n.Pruning)...)
	a = append(a, databaseArgs(n.Database)...)
	if n.RuntimeOverrides != "" {
		a = append(a, "--wasm-runtime-overrides", n.RuntimeOverrides)
	}
	for _, b := range n.Bootnodes {
		a = append(a, "--bootnodes", b)
	}
	for _, e := range n.Telemetry {
		a = append(a, "--telemetry-url", e.URL+" "+itoa(int(e.Verbosity)))
	}
	if n.JaegerAgent != "" {
		a = append(a, "--jaeger-agent", n.JaegerAgent)
	}
	a = append(a, n.Extra...)
	if p := n.Parachain; p != nil {
		if len(p.RelayRPCURLs) > 0 {
			a = append(a, "--relay-chain-rpc-urls")
			a = append(a, p.RelayRPCURLs...)
		}
		// Everything after -- configures the embedded relay chain node.
		a = append(a, "--", "--chain", p.RelayChain,
			"--port", itoa(n.Ports.RelayP2P), "--rpc-port", itoa(n.Ports.RelayRPC))
		if p.RelayBasePath != "" {
			a = append(a, "--base-path", p.RelayBasePath)
		}
		switch {
		case n.Ports.RelayPrometheus == 0:
			a = append(a, "--no-prometheus")
		case n.External:
			a = append(a, "--prometheus-port", itoa(n.Ports.RelayPrometheus), "--prometheus-external")
		default:
			a = append(a, "--prometheus-port", itoa(n.Ports.RelayPrometheus))
		}
		if !n.P2PListenAll() {
			a = append(a, loopbackListen(n.Ports.RelayP2P)...)
		}
		if n.PublicHost != "" {
			// Exposed with the node (groups[].p2p.expose), announced at the same host.
			a = append(a, "--public-addr", publicAddr(n.PublicHost, n.RelayPublicPort, n.Ports.RelayP2P))
		}
		a = append(a, pruningArgs(p.RelayPruning)...)
		a = append(a, databaseArgs(p.RelayDatabase)...)
		for _, b := range p.RelayBootnodes {
			a = append(a, "--bootnodes", b)
		}
		a = append(a, p.RelayArgs...)
	}
	return a
}

// pruningArgs renders a pruning setting (groups[].pruning, relay.pruning).
func pruningArgs(pruning string) []string {
	switch pruning {
	case "":
		return nil
	case "archive":
		return []string{"--state-pruning", "archive", "--blocks-pruning", "archive"}
	default:
		return []string{"--state-pruning", pruning}
	}
}

// databaseArgs renders a database backend (groups[].database, relay.database).
func databaseArgs(db v1alpha1.Database) []string {
	if db == "" {
		return nil
	}
	return []string{"--database", string(db)}
}

// Init has nothing to prepare: polkadot-sdk nodes create their database at first start.
func (substrate) Init(Node) [][]string { return nil }

// InsertKeys inserts session keys with `key insert`, which reads the secret URI from a file.
func (substrate) InsertKeys(n Node) [][]string {
	var cmds [][]string
	for _, k := range n.SessionKeys {
		cmds = append(cmds, []string{"key", "insert",
			"--base-path", n.BasePath, "--keystore-path", n.KeystorePath, "--chain", n.Chain,
			"--key-type", k.Type, "--scheme", k.Scheme, "--suri", k.SURIFile})
	}
	return cmds
}

func (substrate) NodeKeyFile(basePath string) string { return nodeKeyIn(basePath, "node-key") }

func (substrate) NodeKeyFileContent(seedHex, _ string) string { return seedHex }

func (substrate) SeparateWS() bool { return false }

func itoa(i int) string { return strconv.Itoa(i) }

func (substrate) DefaultBinary(parachain bool) string {
	if parachain {
		return "polkadot-parachain"
	}
	return "polkadot"
}

// BuiltinChainFile: polkadot-sdk binaries have their builtin chains compiled in.
func (substrate) BuiltinChainFile(string) string { return "" }

func (substrate) HealthPaths() (live, ready string) { return "/health", "/health/readiness" }
