// Package netstatus is what `onf status` shows of a network, whichever backend runs it: the
// local runtime fills it from its state directory and the nodes' RPC, the cluster backend from
// the SubstrateNetwork's status and its pods. One type keeps the table and the -o json schema
// the same for both.
package netstatus

import "github.com/dinfra/stack/api/v1alpha1"

// Node is one node's line in `onf status`.
type Node struct {
	Name      string        `json:"name"` // <group>-<index>, locally and in clusters
	Group     string        `json:"group"`
	Role      v1alpha1.Role `json:"role"`
	Running   bool          `json:"running"`
	PID       int           `json:"pid,omitempty"`
	Restarts  int           `json:"restarts"`
	LastExit  string        `json:"lastExit,omitempty"`
	Version   string        `json:"version,omitempty"`
	PeerID    string        `json:"peerId"`
	Peers     int           `json:"peers"`
	Best      uint64        `json:"best"`
	BestHash  string        `json:"bestHash,omitempty"`
	Finalized uint64        `json:"finalized"`
	Syncing   bool          `json:"syncing"`
	RPC       string        `json:"rpc"`
	WS        string        `json:"ws"`
	Metrics   string        `json:"metrics"`
	// RPCError says why the node's facts are missing: its RPC does not answer yet (locally), or
	// its pod is not Ready (in a cluster).
	RPCError string `json:"rpcError,omitempty"`
	// Conflict says which of the node's ports another process holds: the supervisor could not
	// reserve it, or something other than this node answers on it (local networks only).
	Conflict string `json:"conflict,omitempty"`
}

// State is the node's STATE column: conflict, starting, up or stopped.
func (n *Node) State() string {
	switch {
	case n.Conflict != "":
		return "conflict"
	case n.Running && n.RPCError != "":
		return "starting"
	case n.Running:
		return "up"
	}
	return "stopped"
}

// Network is `onf status` for one network.
type Network struct {
	Network string `json:"network"`
	// Namespace is the network's namespace in a cluster; empty for a local network.
	Namespace string `json:"namespace,omitempty"`
	// State is running or stopped for a local network (its supervisor), and the Ready
	// condition (ready, or not ready with its message) for a network in a cluster.
	State      string `json:"state"`
	Supervisor int    `json:"supervisor"` // local supervisor's pid, 0 when stopped or in a cluster
	Generation int64  `json:"generation"`
	Error      string `json:"error,omitempty"`
	Gateway    string `json:"gateway,omitempty"` // the RPC gateway's URL, when one runs
	Nodes      []Node `json:"nodes"`
	// HA are the identities of HA groups: authority, lease holder and expiry.
	HA []HAIdentity `json:"ha,omitempty"`
	// Rollouts are the groups' canary rollouts: running, or the last one's outcome.
	Rollouts []v1alpha1.RolloutStatus `json:"rollouts,omitempty"`
}
