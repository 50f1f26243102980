package flavor

import (
	"cmp"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/dinfra/stack/api/v1alpha1"
)

// gossamer is the CLI of ChainSafe's gossamer. It reads its node key from <base>/node.key,
// serves WebSocket RPC on its own port, and takes well-known dev keys by name (--key alice).
type gossamer struct{}

func (gossamer) Args(n Node) []string {
	a := append(commonArgs(n), "--ws-port", itoa(n.Ports.WS),
		// Without --prometheus-external gossamer starts no metrics server at all.
		"--prometheus-external", "--no-mdns")
	if !n.External {
		// The WebSocket server forwards every call to the HTTP server at --rpc-host, which
		// locally listens on 127.0.0.1 only (not on localhost's ::1).
		a = append(a, "--rpc-host", "127.0.0.1")
	}
	if !n.P2PListenAll() {
		a = append(a, loopbackListen(n.Ports.P2P)...)
	}
	// Gossamer v0.9.0 binds its HTTP, WebSocket and metrics servers to every interface
	// whatever its flags say (--rpc-host only names the host WebSocket calls are forwarded
	// to): the "external" flags choose which methods it serves, not where it listens. Locally
	// the runtime moves those sockets to loopback (internal/local bindguard.go).
	// Gossamer starts no RPC server without one of these flags.
	if n.RPCMethods == v1alpha1.RPCUnsafe {
		a = append(a, "--unsafe-rpc", "--unsafe-ws-external")
		if n.External {
			a = append(a, "--unsafe-rpc-external")
		}
	} else {
		a = append(a, "--rpc-external", "--ws-external")
	}
	if n.Role == v1alpha1.RoleValidator {
		a = append(a, "--key", DevKeyName(n.DevKey), "--validator")
	} else {
		a = append(a, "--role", "full", "--babe-authority=false", "--grandpa-authority=false")
	}
	if n.Pruning == "archive" {
		a = append(a, "--state-pruning", "archive")
	}
	// Told no address to advertise, gossamer asks five public web services for the machine's
	// IP at start: always tell it, so no node calls out (or leaks where it runs) and peers get
	// an address they can dial.
	if advertise := cmp.Or(n.PublicHost, n.Host); advertise != "" {
		if _, err := netip.ParseAddr(advertise); err == nil {
			a = append(a, "--public-ip", advertise)
		} else {
			a = append(a, "--public-dns", advertise)
		}
	}
	if len(n.Bootnodes) > 0 {
		a = append(a, "--bootnodes", strings.Join(n.Bootnodes, ","))
	}
	return append(a, n.Extra...)
}

// Init creates the database from the chain spec; validators also get their dev key.
func (gossamer) Init(n Node) [][]string {
	cmd := []string{"init", "--force", "--chain", n.Chain, "--base-path", n.BasePath}
	if n.Role == v1alpha1.RoleValidator {
		cmd = append(cmd, "--key", DevKeyName(n.DevKey))
	}
	return [][]string{cmd}
}

// InsertKeys has no commands: gossamer v0.9.0 keeps its keystore in memory, loaded by name
// (--key) at start; other keys go in over RPC (author_insertKey) while it runs.
func (gossamer) InsertKeys(Node) [][]string { return nil }

func (gossamer) NodeKeyFile(basePath string) string { return nodeKeyIn(basePath, "node.key") }

func (gossamer) NodeKeyFileContent(_, privateKeyHex string) string { return privateKeyHex }

func (gossamer) SeparateWS() bool { return true }

func (gossamer) DefaultBinary(bool) string { return "gossamer" }

// BuiltinChainFile: gossamer has no chains compiled in; its release ships the westend specs
// in chain/<name>/<name>-spec-raw.json.
func (gossamer) BuiltinChainFile(builtin string) string {
	return filepath.Join("chain", builtin, builtin+"-spec-raw.json")
}

// HealthPaths: gossamer v0.9.0 serves no health endpoint.
func (gossamer) HealthPaths() (live, ready string) { return "", "" }

// GossamerDevKeys are the dev accounts gossamer accepts with --key.
var GossamerDevKeys = []string{"alice", "bob", "charlie", "dave", "eve", "ferdie", "george", "heather", "ian"}

// DevKeyName turns a dev URI (//Alice) into gossamer's key name (alice).
func DevKeyName(uri string) string { return strings.ToLower(strings.TrimPrefix(uri, "//")) }
