// Package local runs a SubstrateNetwork on one machine as supervised processes: the embedded
// default backend of `onf up`. Each network has a state directory holding its spec, allocated
// ports, node keys, data, logs and the supervisor's status, so every command works from any
// shell and a restarted supervisor picks up where the last one stopped.
package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
)

// Home is the root of all local networks: $ONF_HOME, or ~/.local/state/onf.
func Home() string {
	if h := os.Getenv("ONF_HOME"); h != "" {
		return h
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".local", "state", "onf")
	}
	return filepath.Join(os.TempDir(), "onf")
}

// Dir is the layout of one network's state directory.
type Dir string

// NetworkDir is the state directory of a network under a home. The name becomes a path, so
// it must be a network name (network.CheckName): never "..", "/x" or "a/b".
func NetworkDir(home, name string) (Dir, error) {
	if err := network.CheckName(name); err != nil {
		return "", fmt.Errorf("network name: %w", err)
	}
	return Dir(filepath.Join(home, "networks", name)), nil
}

func (d Dir) path(parts ...string) string {
	return filepath.Join(append([]string{string(d)}, parts...)...)
}

// Spec is the applied spec: the supervisor's desired state.
func (d Dir) Spec() string { return d.path("spec.json") }

// Plan is the applied spec's plan (storedPlan): written with the spec, read by the supervisor,
// status and every command that needs a node's facts, so a network is planned once per apply.
func (d Dir) Plan() string { return d.path("plan.json") }

// Facts holds what the runtime allocated: ports per node.
func (d Dir) Facts() string { return d.path("facts.json") }

// Status is the supervisor's view of its processes.
func (d Dir) Status() string { return d.path("status.json") }

// SupervisorLog is the supervisor's own log.
func (d Dir) SupervisorLog() string { return d.path("supervisor.log") }

// NodeDir is a node's base path: its chain database, and never its session keys.
func (d Dir) NodeDir(node string) string { return d.path("nodes", node) }

// Keystore is a node's session keystore (0700, key files 0600), apart from its chain
// database so that no backup or copy of NodeDir ever holds a private session key.
func (d Dir) Keystore(node string) string { return d.path("keystore", node) }

// NodeKey holds a node's p2p key seed (hex, 0600); the dialect's own key file is written from it.
func (d Dir) NodeKey(node string) string { return d.path("keys", node+".nodekey") }

// SURI holds a node's session key secret URI (0600).
func (d Dir) SURI(node string) string { return d.path("keys", node+".suri") }

// FetchedChain is where the chain spec fetched from a URL is kept.
func (d Dir) FetchedChain(url string) string {
	sum := sha256.Sum256([]byte(url))
	return d.path("chains", hex.EncodeToString(sum[:8])+".json")
}

// Log is a node's log file.
func (d Dir) Log(node string) string { return d.path("logs", node+".log") }

// Facts are the allocations that must stay stable for a node's lifetime.
type Facts struct {
	Ports map[string]flavor.Ports `json:"ports"`
}

// storedPlan is the plan of the applied spec of one generation.
type storedPlan struct {
	Generation int64 `json:"generation"`
	network.Plan
}

// readPlan reads the stored plan of a network; it neither plans nor allocates anything.
func readPlan(dir Dir) (*storedPlan, error) {
	var p storedPlan
	ok, err := readJSON(dir.Plan(), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no applied spec in %s: apply one with onf up", dir) // the plan is stored with the spec
	}
	return &p, nil
}

// NodeState is what the supervisor knows about one node's process.
type NodeState struct {
	PID      int    `json:"pid,omitempty"`
	Running  bool   `json:"running"`
	Started  string `json:"started,omitempty"` // RFC 3339
	Restarts int    `json:"restarts"`
	LastExit string `json:"lastExit,omitempty"`
	// Conflict names a port of the node that another process holds; the node is not started
	// until the port is free.
	Conflict string `json:"conflict,omitempty"`
	// Held: stopped for a backup or restore until released (hold.go).
	Held bool `json:"held,omitempty"`
	// HA is an HA candidate's role and lease (ha.go).
	HA *NodeHA `json:"ha,omitempty"`
}

// Status is the supervisor's status file.
type Status struct {
	Supervisor int                  `json:"supervisor"`
	Generation int64                `json:"generation"` // spec generation last reconciled, successfully or not
	Nodes      map[string]NodeState `json:"nodes"`
	Gateway    string               `json:"gateway,omitempty"` // listen address of the running gateway
	Error      string               `json:"error,omitempty"`   // why reconciling Generation failed
}

// readJSON reads a JSON file into v; a missing file leaves v as is and returns false.
func readJSON(file string, v any) (bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	return true, nil
}

// writeJSON replaces a file atomically, so readers never see half a file.
func writeJSON(file string, v any, mode os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(file, append(data, '\n'), mode)
}

func writeFile(file string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
