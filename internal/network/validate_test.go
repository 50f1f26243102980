package network

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// head is the document header every case shares unless it tests the header itself.
const head = "apiVersion: onf.dinfra.dev/v1alpha1\nkind: SubstrateNetwork\nmetadata: {name: dev}\n"

// gossamerDev is a valid one-validator gossamer network; relay is a valid polkadot-sdk relay
// chain with a parachain. Cases that need a valid rest of the spec start from them.
const (
	gossamerDev = head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`
	relayHead = head + `spec:
  chain: {builtin: rococo-local}
  node: {flavor: substrate, binary: polkadot}
`
)

// rejectCases are bad specs, each with every problem Parse must report, in report order.
var rejectCases = []struct {
	name string
	doc  string
	want problem.List
}{
	// Structure: the JSON Schema, closed against unknown fields.
	{"not YAML", "spec: [", problem.List{
		{Field: "(document)", Reason: "not valid YAML or JSON: yaml: line 1: did not find expected node content"},
	}},
	{"wrong apiVersion and kind", strings.Replace(strings.Replace(gossamerDev, "v1alpha1", "v1beta1", 1), "kind: SubstrateNetwork", "kind: Network", 1), problem.List{
		{Field: "apiVersion", Reason: `must be "onf.dinfra.dev/v1alpha1", got "onf.dinfra.dev/v1beta1"`},
		{Field: "kind", Reason: `must be "SubstrateNetwork", got "Network"`},
	}},
	{"no spec", head, problem.List{
		{Field: "spec", Reason: "required"},
	}},
	{"misspelt spec field", head + `spec:
  chain: {builtin: westend-dev}
  grups: []
`, problem.List{
		{Field: "spec.groups", Reason: "required"},
		{Field: "spec.grups", Reason: "unknown field"},
	}},
	{"unknown group field", head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: rpc, role: rpc, replica: 2}
`, problem.List{
		{Field: "spec.groups[0].replica", Reason: "unknown field"},
	}},
	{"unknown metadata field", strings.Replace(gossamerDev, "{name: dev}", "{name: dev, lables: {a: b}}", 1), problem.List{
		{Field: "metadata.lables", Reason: "unknown field"},
	}},
	// The pod fields of Kubernetes core types are opaque in the schema; the decoder names the path.
	{"unknown field in a sidecar", head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - name: rpc
    role: rpc
    pod:
      containers:
      - {name: api, image: api:1, ports: [{containerPort: 8080, protocl: TCP}]}
`, problem.List{
		{Field: "spec.groups[0].pod.containers[0].ports[0].protocl", Reason: "unknown field"},
	}},
	{"no groups", head + `spec:
  chain: {builtin: westend-dev}
  groups: []
`, problem.List{
		{Field: "spec.groups", Reason: "must not be empty"},
	}},
	{"bad role, flavor and replicas", head + `spec:
  chain: {builtin: westend-dev}
  node: {flavor: parity}
  groups:
  - {name: boot, role: king}
  - {name: rpc, role: rpc, replicas: -1}
  - {name: full, role: full, replicas: two}
`, problem.List{
		{Field: "spec.groups[0].role", Reason: `must be one of "validator", "collator", "full", "archive", "rpc", "bootnode", got "king"`},
		{Field: "spec.groups[1].replicas", Reason: "must be >= 0, got -1"},
		{Field: "spec.groups[2].replicas", Reason: "must be integer, got string"},
		{Field: "spec.node.flavor", Reason: `must be one of "substrate", "gossamer", got "parity"`},
	}},
	{"bad names and pruning", head + `spec:
  chain: {builtin: Westend_Dev}
  groups:
  - {name: Full_Nodes, role: full, pruning: some}
  - {name: rpc-, role: rpc, pruning: "-1"}
`, problem.List{
		{Field: "spec.chain.builtin", Reason: `must be a chain name of lowercase letters, digits, '.', '_' and '-', got "Westend_Dev"`},
		{Field: "spec.groups[0].name", Reason: `must be a name of 1 to 32 lowercase letters, digits and '-' that starts with a letter and does not end with '-', got "Full_Nodes"`},
		{Field: "spec.groups[0].pruning", Reason: `must be archive or a number of blocks, got "some"`},
		{Field: "spec.groups[1].name", Reason: `must be a name of 1 to 32 lowercase letters, digits and '-' that starts with a letter and does not end with '-', got "rpc-"`},
		{Field: "spec.groups[1].pruning", Reason: `must be archive or a number of blocks, got "-1"`},
	}},
	{"bad chain url, key type, rpc and autoscaling", head + `spec:
  chain: {url: "ftp://example.org/spec.json"}
  groups:
  - name: rpc
    role: rpc
    rpc: {methods: all, maxConnections: 0}
    autoscaling: {minReplicas: 0}
  - {name: validator, role: validator, keys: {dev: ["//Alice"], types: [babe]}}
`, problem.List{
		{Field: "spec.chain.url", Reason: `must be an http:// or https:// URL, got "ftp://example.org/spec.json"`},
		{Field: "spec.groups[0].autoscaling.maxReplicas", Reason: "required"},
		{Field: "spec.groups[0].autoscaling.minReplicas", Reason: "must be >= 1, got 0"},
		{Field: "spec.groups[0].rpc.maxConnections", Reason: "must be >= 1, got 0"},
		{Field: "spec.groups[0].rpc.methods", Reason: `must be one of "safe", "unsafe", "auto", got "all"`},
		{Field: "spec.groups[1].keys.types[0]", Reason: `must be a key type and scheme such as babe:sr25519 (scheme sr25519, ed25519 or ecdsa), got "babe"`},
	}},
	{"bad resources", head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: rpc, role: rpc, resources: {limits: {cpu: lots, memory: true}}}
`, problem.List{
		{Field: "spec.groups[0].resources.limits.cpu", Reason: `must be a Kubernetes quantity such as 500m, 2 or 4Gi, got "lots"`},
		{Field: "spec.groups[0].resources.limits.memory", Reason: "must be integer or string, got boolean"},
	}},
	{"bad parachain fields", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  parachains:
  - {name: asset-hub, id: 0, chain: {configMap: {name: ""}}}
`, problem.List{
		{Field: "spec.parachains[0].chain.configMap.key", Reason: "required"},
		{Field: "spec.parachains[0].chain.configMap.name", Reason: "must not be empty"},
		{Field: "spec.parachains[0].id", Reason: "must be >= 1, got 0"},
	}},

	// Semantics: validate.go, on a structurally valid spec.
	{"bad metadata.name", strings.Replace(gossamerDev, "{name: dev}", "{name: Dev_Net}", 1), problem.List{
		{Field: "metadata.name", Reason: `must be a name of 1 to 42 lowercase letters, digits and '-' that starts with a letter and does not end with '-', got "Dev_Net"`},
	}},
	{"no metadata.name", strings.Replace(gossamerDev, "metadata: {name: dev}", "metadata: {}", 1), problem.List{
		{Field: "metadata.name", Reason: `must be a name of 1 to 42 lowercase letters, digits and '-' that starts with a letter and does not end with '-', got ""`},
	}},
	{"chain with no source", head + `spec:
  chain: {}
  groups:
  - {name: full, role: full}
`, problem.List{
		{Field: "spec.chain", Reason: "set exactly one of builtin, file, url, configMap (0 set)"},
	}},
	{"chain with two sources", head + `spec:
  chain: {builtin: westend-dev, file: ./westend.json}
  groups:
  - {name: full, role: full}
`, problem.List{
		{Field: "spec.chain", Reason: "set exactly one of builtin, file, url, configMap (2 set)"},
	}},
	{"duplicate group name", gossamerDev + `  - {name: rpc, role: rpc}
  - {name: rpc, role: full}
`, problem.List{
		{Field: "spec.groups[2].name", Reason: `duplicate group name "rpc"`},
	}},
	{"two gossamer validators", gossamerDev + `  - {name: second, role: validator, keys: {dev: ["//Bob"]}}
`, problem.List{
		{Field: "spec.groups", Reason: "a gossamer network supports at most one validator node (two gossamer validators fork and never finalise), got 2"},
	}},
	{"gossamer validator group of two", head + `spec:
  chain: {builtin: westend-local}
  groups:
  - {name: validator, role: validator, replicas: 2, keys: {dev: ["//Alice", "//Bob"]}}
`, problem.List{
		{Field: "spec.groups", Reason: "a gossamer network supports at most one validator node (two gossamer validators fork and never finalise), got 2"},
	}},
	{"keys missing", head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator}
`, problem.List{
		{Field: "spec.groups[0].keys", Reason: "required for validator groups: set dev, files or secret"},
	}},
	{"keys on a full node", gossamerDev + `  - {name: full, role: full, keys: {dev: ["//Bob"]}}
`, problem.List{
		{Field: "spec.groups[1].keys", Reason: "only validator and collator groups have session keys (role is full)"},
	}},
	{"too few keys", relayHead + `  groups:
  - {name: validator, role: validator, replicas: 3, keys: {dev: ["//Alice", "//Bob"]}}
`, problem.List{
		{Field: "spec.groups[0].keys", Reason: "keys for 2 of 3 replicas: every replica needs its own key"},
	}},
	{"two key sources", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"], files: [alice.suri]}}
`, problem.List{
		{Field: "spec.groups[0].keys", Reason: "set exactly one of dev, files, secret (2 set)"},
	}},
	{"key types but no source", relayHead + `  groups:
  - {name: validator, role: validator, keys: {types: ["babe:sr25519"]}}
`, problem.List{
		{Field: "spec.groups[0].keys", Reason: "set exactly one of dev, files, secret (0 set)"},
	}},
	{"bad dev URI", relayHead + `  groups:
  - {name: validator, role: validator, replicas: 2, keys: {dev: ["//Alice", "Bob"]}}
`, problem.List{
		{Field: "spec.groups[0].keys.dev[1]", Reason: `must be a dev URI such as //Alice, got "Bob"`},
	}},
	{"one key for two nodes of a chain", relayHead + `  groups:
  - {name: validator, role: validator, replicas: 2, keys: {dev: ["//Alice", "//Bob"]}}
  - {name: backup, role: validator, keys: {dev: ["//Bob"]}}
  - {name: signer, role: validator, replicas: 2, keys: {files: [a.suri, a.suri]}}
  - {name: vault, role: validator, keys: {secret: keys}}
  - {name: vault-2, role: validator, keys: {secret: keys}}
`, problem.List{
		{Field: "spec.groups[1].keys.dev[0]", Reason: "same key as spec.groups[0].keys.dev[1]: two nodes signing with one key equivocate"},
		{Field: "spec.groups[2].keys.files[1]", Reason: "same key as spec.groups[2].keys.files[0]: two nodes signing with one key equivocate"},
		{Field: "spec.groups[4].keys.secret", Reason: "same key as spec.groups[3].keys.secret: two nodes signing with one key equivocate"},
	}},
	{"gossamer dev key it does not know", head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Zed"]}}
`, problem.List{
		{Field: "spec.groups[0].keys.dev[0]", Reason: `gossamer knows the dev keys alice, bob, charlie, dave, eve, ferdie, george, heather, ian, not "//Zed"`},
	}},
	{"gossamer key files", head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {files: [alice.suri]}}
`, problem.List{
		{Field: "spec.groups[0].keys", Reason: "gossamer validator groups take dev keys only (keys.dev): gossamer loads its authority key by name at start"},
	}},
	{"reserved args", gossamerDev + `  - name: rpc
    role: rpc
    args: ["--node-key=0123", "--base-path", /tmp/x, "--rpc-methods=unsafe", "--", "--log=sync=debug"]
`, problem.List{
		{Field: "spec.groups[1].args[0]", Reason: "--node-key is not allowed: would put a secret key on the command line"},
		{Field: "spec.groups[1].args[1]", Reason: "--base-path is not allowed: the data directory is set by onf"},
		{Field: "spec.groups[1].args[3]", Reason: "--rpc-methods is not allowed: set from rpc.methods"},
		{Field: "spec.groups[1].args[4]", Reason: "-- is not allowed: onf puts the embedded relay chain node's arguments (spec.parachains[].relay.args) after --"},
	}},
	// Issue 11 item 7: every count and length has a bound in the schema.
	{"counts and lengths over the schema's bounds", relayHead + `  groups:
  - {name: validator, role: validator, replicas: 1001, keys: {dev: ["//Alice"]}, args: ["--log=` + strings.Repeat("x", 4100) + `"]}
  - {name: rpc, role: rpc, autoscaling: {minReplicas: 1, maxReplicas: 100000}, rpc: {cors: [` + strings.Repeat(`"https://a.example",`, 33) + `]}}
`, problem.List{
		{Field: "spec.groups[0].args[0]", Reason: "must be at most 4096 characters long, got 4106"},
		{Field: "spec.groups[0].replicas", Reason: "must be <= 1000, got 1001"},
		{Field: "spec.groups[1].autoscaling.maxReplicas", Reason: "must be <= 1000, got 100000"},
		{Field: "spec.groups[1].rpc.cors", Reason: "must have at most 32 items, got 33"},
	}},
	// Issue 11 item 8: flags that widen exposure, bring keys or debug servers, in every spelling.
	{"gossamer args that widen exposure", gossamerDev + `  - name: full
    role: full
    args: ["--unsafe-rpc-external", "--rpc-external", "--ws-external", "--unsafe-ws-external", "--unsafe-rpc",
      "--rpc-host=0.0.0.0", "--pprof.enabled", "--pprof.listening-address", "0.0.0.0:6060", "--bob", "--unlock=0",
      "--babe-authority=true", "--prometheus-external", "--listen-addr", "/ip4/0.0.0.0/tcp/1", "--public-ip=203.0.113.7",
      "--telemetry-url=wss://telemetry.example.org/submit", "--RPC-EXTERNAL", "-rpc-external", "--rpc_external",
      "--max-peers", "5", "init", "--maxpeers=5"]
`, problem.List{
		{Field: "spec.groups[1].args[0]", Reason: "--unsafe-rpc-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[1]", Reason: "--rpc-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[2]", Reason: "--ws-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[3]", Reason: "--unsafe-ws-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[4]", Reason: "--unsafe-rpc is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[5]", Reason: "--rpc-host is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[6]", Reason: "--pprof.enabled is not allowed: would start a debug server"},
		{Field: "spec.groups[1].args[7]", Reason: "--pprof.listening-address is not allowed: would start a debug server"},
		{Field: "spec.groups[1].args[9]", Reason: "--bob is not allowed: would make the node sign with a well-known dev key: session keys come from keys"},
		{Field: "spec.groups[1].args[10]", Reason: "--unlock is not allowed: would unlock a keystore account"},
		{Field: "spec.groups[1].args[11]", Reason: "--babe-authority is not allowed: set from the group role"},
		{Field: "spec.groups[1].args[12]", Reason: "--prometheus-external is not allowed: metrics exposure is set by onf"},
		{Field: "spec.groups[1].args[13]", Reason: "--listen-addr is not allowed: P2P listen and public addresses are set by onf and p2p.publicHost"},
		{Field: "spec.groups[1].args[15]", Reason: "--public-ip is not allowed: P2P listen and public addresses are set by onf and p2p.publicHost"},
		{Field: "spec.groups[1].args[16]", Reason: "--telemetry-url is not allowed: would send node data to another server"},
		{Field: "spec.groups[1].args[17]", Reason: "--RPC-EXTERNAL is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[18]", Reason: "-rpc-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[19]", Reason: "--rpc_external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[1].args[22]", Reason: "a bare word that is not a flag's value would be read as a subcommand"},
		{Field: "spec.groups[1].args[23]", Reason: "--maxpeers is not allowed: gossamer takes only --discovery-interval, --grandpa-interval, --log, --max-peers, --min-peers, --no-bootstrap, --persistent-peers, --wasm-interpreter, -l as extra arguments"},
	}},
	{"polkadot-sdk args that widen exposure, in groups and relay args", relayHead + `  groups:
  - name: validator
    role: validator
    keys: {dev: ["//Alice"]}
    args: ["--unsafe-rpc-external", "--rpc-external", "--prometheus-external", "--listen-addr=/ip4/0.0.0.0/tcp/1",
      "--public-addr", "/ip4/203.0.113.7/tcp/1", "--telemetry-url", "wss://t.example.org/submit 0", "--bob", "-d/tmp/x",
      "--dev", "--experimental-rpc-endpoint=listen-addr=0.0.0.0:9944", "--rpc-methods=Unsafe", "--in-peers", "50", "--no-mdns", "purge-chain"]
  - {name: collator, role: collator, parachain: asset-hub, keys: {dev: ["//Alice"]}}
  parachains:
  - name: asset-hub
    id: 1000
    chain: {builtin: asset-hub-rococo-local}
    relay: {args: ["purge-chain", "--unsafe-rpc-external", "--Alice", "--node-key", "00"]}
`, problem.List{
		{Field: "spec.groups[0].args[0]", Reason: "--unsafe-rpc-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[0].args[1]", Reason: "--rpc-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[0].args[2]", Reason: "--prometheus-external is not allowed: metrics exposure is set by onf"},
		{Field: "spec.groups[0].args[3]", Reason: "--listen-addr is not allowed: P2P listen and public addresses are set by onf and p2p.publicHost"},
		{Field: "spec.groups[0].args[4]", Reason: "--public-addr is not allowed: P2P listen and public addresses are set by onf and p2p.publicHost"},
		{Field: "spec.groups[0].args[6]", Reason: "--telemetry-url is not allowed: would send node data to another server"},
		{Field: "spec.groups[0].args[8]", Reason: "--bob is not allowed: would make the node sign with a well-known dev key: session keys come from keys"},
		{Field: "spec.groups[0].args[9]", Reason: "-d/tmp/x is not allowed: the data directory is set by onf"},
		{Field: "spec.groups[0].args[10]", Reason: "--dev is not allowed: sets --chain, --tmp, --alice and --rpc-cors all"},
		{Field: "spec.groups[0].args[11]", Reason: "--experimental-rpc-endpoint is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.groups[0].args[12]", Reason: "--rpc-methods is not allowed: set from rpc.methods"},
		{Field: "spec.groups[0].args[16]", Reason: `"purge-chain" is a subcommand: it would run instead of the node`},
		{Field: "spec.parachains[0].relay.args[0]", Reason: "a bare word that is not a flag's value would be read as a subcommand"},
		{Field: "spec.parachains[0].relay.args[1]", Reason: "--unsafe-rpc-external is not allowed: RPC exposure is set from rpc.methods and where the node runs (loopback locally)"},
		{Field: "spec.parachains[0].relay.args[2]", Reason: "--Alice is not allowed: would make the node sign with a well-known dev key: session keys come from keys"},
		{Field: "spec.parachains[0].relay.args[3]", Reason: "--node-key is not allowed: would put a secret key on the command line"},
	}},
	{"autoscaling a validator, min above max", relayHead + `  groups:
  - name: validator
    role: validator
    keys: {dev: ["//Alice"]}
    autoscaling: {minReplicas: 3, maxReplicas: 2}
`, problem.List{
		{Field: "spec.groups[0].autoscaling", Reason: "only rpc groups autoscale (role is validator)"},
		{Field: "spec.groups[0].autoscaling.minReplicas", Reason: "must be <= maxReplicas (2)"},
	}},
	{"NodePort without publicHost", gossamerDev + `  - {name: boot, role: bootnode, p2p: {expose: NodePort}}
`, problem.List{
		{Field: "spec.groups[1].p2p.publicHost", Reason: "required with expose NodePort: peers must know the node's public address"},
	}},
	{"maxConnections on gossamer", gossamerDev + `  - {name: rpc, role: rpc, rpc: {maxConnections: 100}}
`, problem.List{
		{Field: "spec.groups[1].rpc.maxConnections", Reason: "not supported by gossamer"},
	}},
	{"gateway in front of an unknown group", gossamerDev + `  gateway: {group: api, config: gw.yaml}
`, problem.List{
		{Field: "spec.gateway.group", Reason: `no group named "api" in spec.groups`},
	}},
	{"settings gossamer ignores", gossamerDev + `  - {name: rpc, role: rpc, pruning: "256", rpc: {cors: [all]}}
`, problem.List{
		{Field: "spec.groups[1].pruning", Reason: `gossamer supports archive only, got "256"`},
		{Field: "spec.groups[1].rpc.cors", Reason: "not supported by gossamer (its --rpc-cors is a no-op)"},
	}},
	{"chain checksum without url, database and runtime override on gossamer", head + `spec:
  chain: {builtin: westend-dev, sha256: "abababababababababababababababababababababababababababababababab"}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, database: paritydb, runtimeOverride: {url: "https://example.org/r.wasm", sha256: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}}
`, problem.List{
		{Field: "spec.chain.sha256", Reason: "sha256 is the checksum of url: set url"},
		{Field: "spec.groups[1].database", Reason: `gossamer has a database of its own and no --database: leave it unset (got "paritydb")`},
		{Field: "spec.groups[1].runtimeOverride", Reason: "gossamer has no --wasm-runtime-overrides: use flavor substrate"},
	}},
	{"credentials in download URLs", head + `spec:
  chain: {url: "https://user:token@specs.example.org/relay.json"}
  node: {flavor: substrate, binary: polkadot}
  groups:
  - {name: rpc, role: rpc, runtimeOverride: {url: "https://:token@example.org/r.wasm", sha256: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}}
`, problem.List{
		{Field: "spec.chain.url", Reason: "credentials do not belong in the URL"},
		{Field: "spec.groups[0].runtimeOverride.url", Reason: "credentials do not belong in the URL"},
	}},
	{"database and runtime override set by hand", relayHead + `  groups:
  - {name: rpc, role: rpc, args: [--db=paritydb, --wasm-runtime-overrides, /tmp]}
`, problem.List{
		{Field: "spec.groups[0].args[0]", Reason: "--db is not allowed: set from database"},
		{Field: "spec.groups[0].args[1]", Reason: "--wasm-runtime-overrides is not allowed: onf sets it from the spec"},
	}},
	{"bad storage size", gossamerDev + `  - {name: archive, role: archive, storage: 2TB}
`, problem.List{
		{Field: "spec.groups[1].storage", Reason: `must be a Kubernetes quantity such as 10Gi, got "2TB"`},
	}},

	// Parachains.
	{"collator without parachain", relayHead + `  groups:
  - {name: collator, role: collator, keys: {dev: ["//Alice"]}}
`, problem.List{
		{Field: "spec.groups[0].parachain", Reason: "collator groups must name their parachain"},
	}},
	{"unknown parachain", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: asset-hub, keys: {dev: ["//Alice"]}}
`, problem.List{
		{Field: "spec.groups[1].parachain", Reason: `no parachain named "asset-hub" in spec.parachains`},
	}},
	{"validator of a parachain", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: para-validator, role: validator, parachain: asset-hub, keys: {dev: ["//Bob"]}}
  - {name: collator, role: collator, parachain: asset-hub, keys: {dev: ["//Alice"]}}
  parachains:
  - {name: asset-hub, id: 1000, chain: {builtin: asset-hub-rococo-local}}
`, problem.List{
		{Field: "spec.groups[1].parachain", Reason: `validators belong to the relay chain, not to parachain "asset-hub"`},
	}},
	{"parachain without relay chain or collators", relayHead + `  groups:
  - {name: asset-rpc, role: rpc, parachain: asset-hub}
  parachains:
  - {name: asset-hub, id: 1000, chain: {builtin: asset-hub-rococo-local}}
`, problem.List{
		{Field: "spec.parachains[0]", Reason: `parachain "asset-hub" has no collator group`},
		{Field: "spec.parachains[0].relay", Reason: `parachain "asset-hub" has no relay chain: add relay chain groups to the network or set relay.rpcUrls`},
	}},
	{"duplicate parachain name and para id, chain with no source", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: asset-hub, keys: {dev: ["//Alice"]}}
  parachains:
  - {name: asset-hub, id: 1000, chain: {builtin: asset-hub-rococo-local}}
  - {name: asset-hub, id: 1000, chain: {}}
`, problem.List{
		{Field: "spec.parachains[1].chain", Reason: "set exactly one of builtin, file, url, configMap (0 set)"},
		{Field: "spec.parachains[1].id", Reason: `para id 1000 is already used by parachain "asset-hub"`},
		{Field: "spec.parachains[1].name", Reason: `duplicate parachain name "asset-hub"`},
	}},
	{"bad relay rpc URL and relay args", relayHead + `  groups:
  - {name: collator, role: collator, parachain: asset-hub, keys: {dev: ["//Alice"]}}
  parachains:
  - name: asset-hub
    id: 1000
    chain: {builtin: asset-hub-rococo-local}
    relay:
      rpcUrls: ["wss://rpc.example.org", "http://127.0.0.1:9944"]
      args: ["--chain=westend", "--sync=warp"]
`, problem.List{
		{Field: "spec.parachains[0].relay.args[0]", Reason: "--chain is not allowed: set from spec.chain"},
		{Field: "spec.parachains[0].relay.rpcUrls[1]", Reason: `must be a ws:// or wss:// URL, got "http://127.0.0.1:9944"`},
	}},
	{"gossamer collator and parachain node", head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: para, node: {flavor: gossamer}, keys: {dev: ["//Bob"]}}
  - {name: para-rpc, role: rpc, parachain: other}
  parachains:
  - {name: para, id: 2000, chain: {file: para.json}}
  - {name: other, id: 2001, chain: {file: other.json}, node: {flavor: gossamer}}
  - {name: third, id: 2002, chain: {file: third.json}}
`, problem.List{
		{Field: "spec.groups[1].parachain", Reason: "gossamer cannot run parachain nodes: use flavor substrate"},
		{Field: "spec.groups[2].parachain", Reason: "gossamer cannot run parachain nodes: use flavor substrate"},
		{Field: "spec.parachains[1]", Reason: `parachain "other" has no collator group`},
		{Field: "spec.parachains[1].node.flavor", Reason: "gossamer cannot run collators: use substrate"},
		{Field: "spec.parachains[2]", Reason: `parachain "third" has no collator group`},
	}},
	{"embedded relay node settings without an embedded relay node", relayHead + `  groups:
  - {name: collator, role: collator, parachain: asset-hub, keys: {secret: collator-keys}}
  parachains:
  - name: asset-hub
    id: 1000
    chain: {builtin: asset-hub-rococo-local}
    relay: {rpcUrls: ["wss://rococo-rpc.example.org"], metrics: true, pruning: "256", database: paritydb}
`, problem.List{
		{Field: "spec.parachains[0].relay.database", Reason: "no embedded relay chain node runs when relay.rpcUrls is set: it has no database"},
		{Field: "spec.parachains[0].relay.metrics", Reason: "no embedded relay chain node runs when relay.rpcUrls is set: there is nothing to scrape"},
		{Field: "spec.parachains[0].relay.pruning", Reason: "no embedded relay chain node runs when relay.rpcUrls is set: there is nothing to prune"},
	}},
	{"monitoring", gossamerDev + `  monitoring:
    interval: 15s
    scrapeTimeout: 1m
    labels: {onf.dinfra.dev/network: other, release: prometheus}
    relabelings:
    - {sourceLabels: [__meta_kubernetes_pod_node_name], targetLabel: node}
    - {sourceLabels: [__address__], action: hashmod, targetLabel: shard}
    - {sourceLabels: [__meta_kubernetes_pod_node_name], targetLabel: "1host"}
    metricRelabelings:
    - {sourceLabels: [__name__], regex: "substrate_(", action: drop}
    - {sourceLabels: [__name__], regex: "substrate_.*"}
`, problem.List{
		{Field: "spec.monitoring.labels[onf.dinfra.dev/network]", Reason: "onf sets this label itself"},
		{Field: "spec.monitoring.metricRelabelings[0].regex", Reason: "not a valid RE2 regular expression: error parsing regexp: missing closing ): `substrate_(`"},
		{Field: "spec.monitoring.metricRelabelings[1].targetLabel", Reason: "required with action replace"},
		{Field: "spec.monitoring.relabelings[0].targetLabel", Reason: `"node" is set by onf and read by the alert rules`},
		{Field: "spec.monitoring.relabelings[1].modulus", Reason: "required with action hashmod"},
		{Field: "spec.monitoring.relabelings[2].targetLabel", Reason: `not a valid label name: "1host"`},
		{Field: "spec.monitoring.scrapeTimeout", Reason: "must not exceed the interval (15s), got 1m"},
	}},

	// Everything at once: one report, not one problem per run.
	{"several semantic problems", `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: Dev}
spec:
  chain: {builtin: westend-dev, url: "https://example.org/spec.json"}
  groups:
  - {name: validator, role: validator, replicas: 2, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, keys: {dev: ["//Bob"]}, args: ["--rpc-port=9944"]}
  - {name: rpc, role: full}
`, problem.List{
		{Field: "metadata.name", Reason: `must be a name of 1 to 42 lowercase letters, digits and '-' that starts with a letter and does not end with '-', got "Dev"`},
		{Field: "spec.chain", Reason: "set exactly one of builtin, file, url, configMap (2 set)"},
		{Field: "spec.groups", Reason: "a gossamer network supports at most one validator node (two gossamer validators fork and never finalise), got 2"},
		{Field: "spec.groups[0].keys", Reason: "keys for 1 of 2 replicas: every replica needs its own key"},
		{Field: "spec.groups[1].args[0]", Reason: "--rpc-port is not allowed: ports are allocated by onf"},
		{Field: "spec.groups[1].keys", Reason: "only validator and collator groups have session keys (role is rpc)"},
		{Field: "spec.groups[2].name", Reason: `duplicate group name "rpc"`},
	}},
}

func TestParseRejects(t *testing.T) {
	for _, tc := range rejectCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.doc))
			var got problem.List
			if !errors.As(err, &got) {
				t.Fatalf("Parse = %v, %v; want problems", n, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(tc.want))
			}
		})
	}
}

func lines(ps problem.List) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

// Specs that look close to a rule but are fine.
func TestParseAccepts(t *testing.T) {
	cases := map[string]string{
		"validator scaled to zero needs no keys": head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, replicas: 0}
  - {name: full, role: full}
`,
		"one dev key on the relay chain and on a parachain": relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: asset-hub, keys: {dev: ["//Alice"]}}
  parachains:
  - {name: asset-hub, id: 1000, chain: {builtin: asset-hub-rococo-local}}
`,
		"spare keys for scaling up, args that are not reserved": relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice", "//Bob"]}, args: ["--log=babe=debug", "--in-peers", "50"]}
`,
		"embedded relay node with metrics and pruning, scraped by PodMonitors": relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: asset-hub, keys: {dev: ["//Alice"]}}
  parachains:
  - {name: asset-hub, id: 1000, chain: {builtin: asset-hub-rococo-local}, relay: {metrics: true, pruning: archive}}
  monitoring:
    kind: PodMonitor
    interval: 1m
    scrapeTimeout: 50s
    labels: {release: prometheus}
    relabelings: [{sourceLabels: [__meta_kubernetes_pod_node_name], targetLabel: host}]
    metricRelabelings: [{sourceLabels: [__name__], regex: "substrate_sub_libp2p_.*", action: drop}]
`,
		"parachain following an external relay chain": relayHead + `  groups:
  - {name: collator, role: collator, parachain: asset-hub, keys: {secret: collator-keys}}
  parachains:
  - {name: asset-hub, id: 1000, chain: {url: "https://example.org/asset-hub.json"}, relay: {rpcUrls: ["wss://rococo-rpc.example.org"]}}
`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Validate also guards specs that reach it as Go values without the schema (the operator
// receives objects the API server admitted, tests build them in code).
func TestValidateGoValue(t *testing.T) {
	minus := int32(-1)
	n := &v1alpha1.SubstrateNetwork{Spec: v1alpha1.SubstrateNetworkSpec{
		Chain: v1alpha1.Chain{Builtin: "westend-dev"},
		Groups: []v1alpha1.NodeGroup{
			{Name: "full", Role: v1alpha1.RoleFull, Replicas: &minus, Node: &v1alpha1.NodeSoftware{Flavor: "parity"}},
		},
	}}
	n.Name = "dev"
	n.APIVersion = "onf.dinfra.dev/v1"
	Default(n)
	var got problem.List
	if !errors.As(Validate(n), &got) {
		t.Fatal("Validate accepted a bad spec")
	}
	want := problem.List{
		{Field: "apiVersion", Reason: "must be onf.dinfra.dev/v1alpha1"},
		{Field: "spec.groups[0].node.flavor", Reason: `unknown node flavor "parity" (want substrate or gossamer)`},
		{Field: "spec.groups[0].replicas", Reason: "must be between 0 and 1000, got -1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(want))
	}
}

// Every pattern of the spec's schema is explained in words; a new pattern without help fails
// here. (Status patterns are left out: users do not write status.)
func TestPatternHelp(t *testing.T) {
	var schema struct {
		Properties struct {
			Spec any `json:"spec"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(v1alpha1.JSONSchema, &schema); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	found := 0
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if p, ok := v["pattern"].(string); ok {
				found++
				if _, ok := patternHelp[p]; !ok {
					t.Errorf("pattern %s has no entry in patternHelp", p)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(schema.Properties.Spec)
	if found == 0 {
		t.Fatal("no patterns found in the schema")
	}
}

// Issue 11 item 7: node counts are bounded before anything is planned per node, for specs
// that did not come through the schema too (onf scale, Go values).
func TestValidateBoundsNodes(t *testing.T) {
	int32p := func(v int32) *int32 { return &v }
	spec := func(groups ...v1alpha1.NodeGroup) *v1alpha1.SubstrateNetwork {
		n := &v1alpha1.SubstrateNetwork{Spec: v1alpha1.SubstrateNetworkSpec{Chain: v1alpha1.Chain{Builtin: "westend-dev"}, Groups: groups}}
		n.Name, n.APIVersion, n.Kind = "dev", v1alpha1.GroupVersion.String(), v1alpha1.Kind
		Default(n)
		return n
	}
	full := func(name string, replicas int32) v1alpha1.NodeGroup {
		return v1alpha1.NodeGroup{Name: name, Role: v1alpha1.RoleFull, Replicas: int32p(replicas)}
	}
	rpc := full("rpc", 2)
	rpc.Role, rpc.Autoscaling = v1alpha1.RoleRPC, &v1alpha1.Autoscaling{MinReplicas: 1, MaxReplicas: 100000}
	var many []v1alpha1.NodeGroup
	for i := range 6 {
		many = append(many, full(fmt.Sprintf("full-%d", i), MaxReplicas))
	}
	for _, c := range []struct {
		name string
		n    *v1alpha1.SubstrateNetwork
		want problem.List
	}{
		{"a hundred million replicas", spec(full("full", 100_000_000)), problem.List{
			{Field: "spec.groups", Reason: "must have at most 5000 nodes, every group at its largest (replicas or autoscaling.maxReplicas), got 100000000"},
			{Field: "spec.groups[0].replicas", Reason: "must be between 0 and 1000, got 100000000"},
		}},
		{"an autoscaler's maximum", spec(rpc), problem.List{
			{Field: "spec.groups", Reason: "must have at most 5000 nodes, every group at its largest (replicas or autoscaling.maxReplicas), got 100000"},
			{Field: "spec.groups[0].autoscaling.maxReplicas", Reason: "must be <= 1000, got 100000"},
		}},
		{"groups within bounds, too many together", spec(many...), problem.List{
			{Field: "spec.groups", Reason: "must have at most 5000 nodes, every group at its largest (replicas or autoscaling.maxReplicas), got 6000"},
		}},
	} {
		var got problem.List
		if !errors.As(Validate(c.n), &got) || !slices.Equal(got, c.want) {
			t.Errorf("%s: problems:\n%s\nwant:\n%s", c.name, lines(got), lines(c.want))
		}
	}
	if err := Validate(spec(many[:5]...)); err != nil {
		t.Errorf("5 groups of %d nodes: %v", MaxReplicas, err)
	}
}

// The schema's maxima are the ones Validate checks again.
func TestSchemaBoundsMatchValidate(t *testing.T) {
	var schema any
	if err := json.Unmarshal(v1alpha1.JSONSchema, &schema); err != nil {
		t.Fatal(err)
	}
	at := func(keys ...string) any {
		v := schema
		for _, k := range keys {
			v = v.(map[string]any)[k]
		}
		return v
	}
	group := []string{"properties", "spec", "properties", "groups", "items", "properties"}
	for _, p := range [][]string{
		append(slices.Clone(group), "replicas", "maximum"),
		append(slices.Clone(group), "autoscaling", "properties", "maxReplicas", "maximum"),
	} {
		if got := at(p...); got != float64(MaxReplicas) {
			t.Errorf("schema %s = %v, want %d", strings.Join(p, "."), got, MaxReplicas)
		}
	}
}

// A document over MaxSpecBytes is refused before it is parsed, and Read stops reading there.
func TestOversizedDocument(t *testing.T) {
	want := problem.List{{Field: "(document)", Reason: "larger than the limit of 1048576 bytes (1 MiB)"}}
	big := append([]byte(gossamerDev), bytes.Repeat([]byte("#"), MaxSpecBytes)...)
	var got problem.List
	if _, err := Parse(big); !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("Parse of %d bytes: %v, want %v", len(big), err, want)
	}
	endless := &countingReader{}
	if _, err := Read(endless); !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("Read of an endless stream: %v, want %v", err, want)
	}
	if endless.n > MaxSpecBytes+1 {
		t.Errorf("Read took %d bytes of an endless stream, want at most %d", endless.n, MaxSpecBytes+1)
	}
	if data, err := Read(strings.NewReader(gossamerDev)); err != nil || string(data) != gossamerDev {
		t.Errorf("Read of a small spec: %q, %v", data, err)
	}
}

// countingReader is an endless stream of spaces that counts what was read.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	r.n += len(p)
	return len(p), nil
}
