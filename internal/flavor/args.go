package flavor

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Extra arguments (spec.groups[].args, spec.parachains[].relay.args) go onto a node's command
// line after the flags onf renders. They must not override what onf sets from the spec (node
// CLIs let the last occurrence win or refuse a repeated flag), widen what the node exposes,
// bring in keys or secrets, start debug servers, send data elsewhere, or turn the run into
// another subcommand. Each flavor has a policy: every flag its dialect renders plus a reviewed
// list of dangerous ones is refused; gossamer, one known binary, also takes only the flags on a
// reviewed allow-list. polkadot-sdk nodes are many binaries with flags of their own (a
// solochain's, a parachain's), so for them everything not refused passes.

// ArgRefusal is one refused extra argument: its index in the list and why.
type ArgRefusal struct {
	Index  int
	Reason string
}

// Reasons, one per kind of harm.
const (
	whyOnf       = "onf sets it from the spec"
	whyData      = "the data directory is set by onf"
	whyPorts     = "ports are allocated by onf"
	whyRole      = "set from the group role"
	whyRPC       = "RPC exposure is set from rpc.methods and where the node runs (loopback locally)"
	whyMetrics   = "metrics exposure is set by onf"
	whyP2P       = "P2P listen and public addresses are set by onf and p2p.publicHost"
	whyPruning   = "set from pruning"
	whyBootnodes = "boot nodes are wired by onf"
	whyDevKey    = "would make the node sign with a well-known dev key: session keys come from keys"
	whyKeys      = "node and session keys are managed by onf"
	whySecret    = "would put a secret on the command line"
	whyTelemetry = "would send node data to another server"
	whyDebug     = "would start a debug server"
	whyExits     = "prints and exits instead of running the node"
)

// Flags refused for both flavors where the node has them.
var commonRefused = map[string]string{
	"--chain":               "set from spec.chain",
	"--base-path":           whyData,
	"--name":                "set from the node name",
	"--port":                whyPorts,
	"--rpc-port":            whyPorts,
	"--prometheus-port":     whyPorts,
	"--validator":           whyRole,
	"--rpc-methods":         "set from rpc.methods",
	"--rpc-cors":            "set from rpc.cors",
	"--listen-addr":         whyP2P,
	"--state-pruning":       whyPruning,
	"--bootnodes":           whyBootnodes,
	"--node-key":            "would put a secret key on the command line",
	"--password":            whySecret,
	"--alice":               whyDevKey,
	"--bob":                 whyDevKey,
	"--charlie":             whyDevKey,
	"--telemetry-url":       whyTelemetry,
	"--no-telemetry":        whyOnf,
	"--prometheus-external": whyMetrics,
	"--rpc-external":        whyRPC,
	"--unsafe-rpc-external": whyRPC,
	"--help":                whyExits,
	"-h":                    whyExits,
}

// gossamerRefused are gossamer's own dangerous flags (as its --help names them).
var gossamerRefused = map[string]string{
	"--key":                      whyKeys,
	"--unlock":                   "would unlock a keystore account",
	"--role":                     whyRole,
	"--babe-authority":           whyRole,
	"--grandpa-authority":        whyRole,
	"--ws-port":                  whyPorts,
	"--unsafe-rpc":               whyRPC,
	"--ws-external":              whyRPC,
	"--unsafe-ws-external":       whyRPC,
	"--rpc-host":                 whyRPC,
	"--public-ip":                whyP2P,
	"--public-dns":               whyP2P,
	"--no-mdns":                  whyOnf,
	"--retain-blocks":            whyPruning,
	"--id":                       "would load another built-in node configuration than spec.chain's",
	"--protocol-id":              "would take the node off its chain's network protocol",
	"--rewind":                   "would rewind the chain head at every start",
	"--pprof.enabled":            whyDebug,
	"--pprof.listening-address":  whyDebug,
	"--pprof.block-profile-rate": whyDebug,
	"--pprof.mutex-profile-rate": whyDebug,
}

// gossamerAllowed are the gossamer flags extra arguments may set, each with whether it takes
// a value: tuning that neither exposes the node nor fights onf.
var gossamerAllowed = map[string]bool{
	"--discovery-interval": true,
	"--grandpa-interval":   true,
	"--log":                true,
	"-l":                   true,
	"--max-peers":          true,
	"--min-peers":          true,
	"--no-bootstrap":       false,
	"--persistent-peers":   true,
	"--wasm-interpreter":   true,
}

// substrateRefused are polkadot-sdk's own dangerous flags (testdata/polkadot-flags.txt
// records where each comes from), aliases included: clap accepts them like the flag.
var substrateRefused = map[string]string{
	"-d":                                   whyData,
	"--tmp":                                whyData,
	"--dev":                                "sets --chain, --tmp, --alice and --rpc-cors all",
	"--collator":                           whyRole,
	"--dave":                               whyDevKey,
	"--eve":                                whyDevKey,
	"--ferdie":                             whyDevKey,
	"--one":                                whyDevKey,
	"--two":                                whyDevKey,
	"--rpc-max-connections":                "set from rpc.maxConnections",
	"--experimental-rpc-endpoint":          whyRPC,
	"--rpc-listen-addrs":                   whyRPC,
	"--rpc-rate-limit-trust-proxy-headers": "would let clients pick the address rate limits apply to",
	"--no-prometheus":                      whyOnf,
	"--public-addr":                        whyP2P,
	"--allow-private-ip":                   "would let peers steer the node to private addresses",
	"--allow-private-ipv4":                 "would let peers steer the node to private addresses",
	"--ipfs-server":                        "would serve transactions to the IPFS network",
	"--db":                                 "set from database",
	"--pruning":                            whyPruning,
	"--blocks-pruning":                     whyPruning,
	"--keep-blocks":                        whyPruning,
	"--relay-chain-rpc-urls":               "set from the parachain's relay.rpcUrls",
	"--relay-chain-rpc-url":                "set from the parachain's relay.rpcUrls",
	"--node-key-file":                      whyKeys,
	"--node-key-type":                      whyKeys,
	"--unsafe-force-node-key-generation":   whyKeys,
	"--keystore-path":                      whyKeys,
	"--password-filename":                  whyKeys,
	"--password-interactive":               whyKeys,
	"--jaeger-agent":                       "set from the group's tracing.jaegerAgent",
	"--pyroscope-server":                   whyTelemetry,
	"--workers-path":                       "would run worker executables from another path",
	"--version":                            whyExits,
	"-v":                                   whyExits,
}

// substrateSubcommands are the polkadot-sdk subcommands a bare word among the extra
// arguments would start instead of the node.
var substrateSubcommands = []string{
	"benchmark", "build-spec", "chain-info", "check-block", "export-blocks", "export-chain-spec",
	"export-genesis-head", "export-genesis-state", "export-genesis-wasm", "export-state", "help",
	"host-perf-check", "import-blocks", "key", "purge-chain", "revert", "try-runtime",
}

// argPolicy is one flavor's rule for extra arguments.
type argPolicy struct {
	refused map[string]string // normalised flag -> why
	// allowed lists the only flags passed on, with whether each takes a value; nil passes
	// every flag not refused.
	allowed     map[string]bool
	subcommands []string
}

var argPolicies = map[v1alpha1.Flavor]*argPolicy{
	v1alpha1.FlavorSubstrate: newArgPolicy(substrate{}, substrateRefused, nil, substrateSubcommands),
	v1alpha1.FlavorGossamer:  newArgPolicy(gossamer{}, gossamerRefused, gossamerAllowed, nil),
}

// newArgPolicy refuses the common and the flavor's listed flags, and every flag the dialect
// renders for any kind of node, so a flag the dialect starts rendering is refused without
// anyone remembering to list it.
func newArgPolicy(d Dialect, refused map[string]string, allowed map[string]bool, subcommands []string) *argPolicy {
	p := &argPolicy{refused: map[string]string{}, allowed: allowed, subcommands: subcommands}
	for _, flag := range RenderedFlags(d) {
		p.refused[flag] = whyOnf
	}
	maps.Copy(p.refused, commonRefused)
	maps.Copy(p.refused, refused)
	return p
}

// RenderedFlags lists every flag a dialect puts on a node command line, over every role, RPC
// setting, exposure, public address, pruning and parachain setting.
func RenderedFlags(d Dialect) []string {
	seen := map[string]bool{}
	for _, n := range sampleNodes() {
		for _, a := range d.Args(n) {
			if strings.HasPrefix(a, "-") && a != "--" {
				seen[normalFlag(a)] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// sampleNodes are nodes with every setting a dialect renders differently.
func sampleNodes() []Node {
	var nodes []Node
	for _, role := range []v1alpha1.Role{v1alpha1.RoleValidator, v1alpha1.RoleCollator, v1alpha1.RoleFull} {
		for _, methods := range []v1alpha1.RPCMethods{v1alpha1.RPCSafe, v1alpha1.RPCUnsafe, v1alpha1.RPCAuto} {
			for _, external := range []bool{false, true} {
				for _, host := range []string{"", "203.0.113.7", "boot.example.org"} {
					for _, pruning := range []string{"", "archive", "256"} {
						n := Node{
							Name: "n", Role: role, Chain: "dev", BasePath: "/data",
							Ports:     Ports{P2P: 1, RPC: 2, WS: 3, Prometheus: 4, RelayP2P: 5, RelayRPC: 6},
							Bootnodes: []string{"/ip4/127.0.0.1/tcp/1/p2p/x"}, NodeKeyFile: "/data/key",
							PublicHost: host, External: external, RPCMethods: methods,
							CORS: []string{"all"}, MaxConns: 10, Pruning: pruning, DevKey: "//Alice",
							Database: v1alpha1.DatabaseParityDB, RuntimeOverrides: "/runtimes",
							JaegerAgent: "127.0.0.1:6831",
						}
						if role == v1alpha1.RoleCollator {
							n.Parachain = &Parachain{ID: 1000, RelayChain: "dev", RelayBootnodes: n.Bootnodes, RelayDatabase: v1alpha1.DatabaseRocksDB, RelayBasePath: "/relay-data"}
							nodes = append(nodes, n)
							withRPC := n
							withRPC.Parachain = &Parachain{ID: 1000, RelayChain: "dev", RelayRPCURLs: []string{"ws://relay"}}
							n = withRPC
						}
						nodes = append(nodes, n)
					}
				}
			}
		}
	}
	return nodes
}

// normalFlag is a flag's name as refusals are looked up: without its =value, lower case, with
// '_' as '-' (what a lenient parser might accept is refused too).
func normalFlag(arg string) string {
	name, _, _ := strings.Cut(arg, "=")
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// CheckArgs returns every extra argument of a node of flavor f that is refused, and why. A flag
// is refused in every spelling a node might accept: --flag value, --flag=value, other case,
// and single-dash (-flag, or a refused short flag with its value attached, -d/tmp). A bare word
// is a value only right after a flag; anywhere else it would be read as a subcommand.
func CheckArgs(f v1alpha1.Flavor, args []string) []ArgRefusal {
	p, ok := argPolicies[f]
	if !ok {
		return nil // an unknown flavor is reported on its own field
	}
	var out []ArgRefusal
	refuse := func(i int, format string, a ...any) {
		out = append(out, ArgRefusal{Index: i, Reason: fmt.Sprintf(format, a...)})
	}
	valueMayFollow := false
	for i, arg := range args {
		if !strings.HasPrefix(arg, "-") {
			switch {
			case !valueMayFollow:
				refuse(i, "a bare word that is not a flag's value would be read as a subcommand")
			case slices.Contains(p.subcommands, arg):
				refuse(i, "%q is a subcommand: it would run instead of the node", arg)
			}
			// polkadot-sdk flags may take several values (--reserved-nodes A B).
			valueMayFollow = valueMayFollow && p.allowed == nil
			continue
		}
		// Only the flag is shown: its value may be a secret (--node-key=...).
		flag, _, _ := strings.Cut(arg, "=")
		why, refused := p.refusal(arg)
		if refused {
			refuse(i, "%s is not allowed: %s", flag, why)
			valueMayFollow = !strings.Contains(arg, "=")
			continue
		}
		takesValue, known := p.allowedFlag(arg)
		if !known {
			refuse(i, "%s is not allowed: %s takes only %s as extra arguments", flag, f, strings.Join(slices.Sorted(maps.Keys(p.allowed)), ", "))
		}
		valueMayFollow = !strings.Contains(arg, "=") && (takesValue || p.allowed == nil)
	}
	return out
}

// refusal says why arg is refused, if it is. A single-dash argument is looked up both as a
// short flag with anything attached (-d/tmp) and as a long flag (-rpc-external).
func (p *argPolicy) refusal(arg string) (string, bool) {
	if arg == "--" {
		return "onf puts the embedded relay chain node's arguments (spec.parachains[].relay.args) after --", true
	}
	flag := normalFlag(arg)
	candidates := []string{flag}
	if !strings.HasPrefix(flag, "--") && len(flag) > 2 {
		candidates = append(candidates, flag[:2], "-"+flag)
	}
	for _, c := range candidates {
		if why, ok := p.refused[c]; ok {
			return why, true
		}
	}
	return "", false
}

// allowedFlag reports whether an allow-list (if any) takes arg as it is spelt, and whether it
// takes a value after it.
func (p *argPolicy) allowedFlag(arg string) (takesValue, ok bool) {
	if p.allowed == nil {
		return true, true
	}
	name, _, _ := strings.Cut(arg, "=")
	if !strings.HasPrefix(name, "--") && len(name) > 2 {
		// A short flag with its value attached (-ldebug) takes nothing after it.
		_, ok := p.allowed[name[:2]]
		return false, ok && p.allowed[name[:2]]
	}
	takesValue, ok = p.allowed[name]
	return takesValue, ok
}
