// Package console is the core of `onf console`: a cache that polls every site (the local ONF
// home, each cluster context) on an interval and keeps each network's recent history, and the
// HTTP server that serves that cache (JSON, server-sent events, the embedded page) and the
// day-2 action scale to callers with an API key. A page request never reaches a node or an API
// server: only the pollers do, once per interval per site. Sites (package site) are the only
// I/O; the views built here are pure functions of what the sites returned.
package console

import (
	"context"
	"errors"
	"slices"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/netstatus"
)

// Site is one place networks run: the local home or a cluster context.
type Site interface {
	// Poll returns every network of the site as `onf status` sees it.
	Poll(ctx context.Context) ([]Network, error)
	// Scale is `onf scale` of a group of one of the site's networks: it returns once the
	// network has converged, or with the reason it did not.
	Scale(ctx context.Context, namespace, name, group string, replicas int) error
	// Backup is `onf backup create` of a node: it returns the complete backup's manifest, or
	// ErrUnsupported where the site cannot back up.
	Backup(ctx context.Context, namespace, name, node string) (*backup.Manifest, error)
	// Restart is `onf restart` of a node: it returns once the node answers again, or
	// ErrUnsupported where the site cannot restart one.
	Restart(ctx context.Context, namespace, name, node string) error
}

// KeyRotator is `onf keys rotate` of a node of a site's network: new session keys made on the
// node and registered on chain with the controller's secret URI. It returns what `onf keys
// rotate` prints (the check of the registered keys).
type KeyRotator func(ctx context.Context, site, namespace, name, node, suri string) (string, error)

// ErrUnsupported marks an action a site does not have.
var ErrUnsupported = errors.New("not supported by this site")

// Network is one network as a site's poll found it.
type Network struct {
	Chain  string // the chain spec's name: builtin name, file, URL or ConfigMap
	Status *netstatus.Network
	// Alerts are the alerts firing in the network's Alertmanager (a local network's `onf
	// monitor up` stack), what `onf status` prints under the table.
	Alerts []monitor.Alert
	// Backups are the newest complete backup of each node that has one, newest first.
	Backups []backup.Manifest
	// SessionKeys are the public session keys registered on chain per node, as `onf keys`
	// recorded them (status.nodes[].sessionKeys in a cluster).
	SessionKeys map[string]*v1alpha1.RegisteredKeys
	// Gateway are the counters of the network's RPC gateway, nil when it has none whose
	// metrics the site can read.
	Gateway *GatewayCounts
	// History, when the site keeps its own (a Prometheus), replaces the console's samples of
	// the network for the plots.
	History []Sample
	// Notes say why some of the above could not be read (an Alertmanager that does not
	// answer, an unreadable backup destination): the network is still shown.
	Notes []string
}

// GatewayCounts are an RPC gateway's counters since it started: the calls it answered (or
// passed to a node) and the requests it refused (no or a wrong credential, a method its role
// denies, a rate or subscription limit, too large, malformed, too many connections).
type GatewayCounts struct{ Calls, Refused float64 }

// ID names a network within its site: namespace/name in a cluster, the name locally.
func ID(st *netstatus.Network) string {
	if st.Namespace != "" {
		return st.Namespace + "/" + st.Network
	}
	return st.Network
}

// Summary is a network's row in the overview.
type Summary struct {
	Site      string `json:"site"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Chain     string `json:"chain"`
	State     string `json:"state"`
	Error     string `json:"error,omitempty"`
	// Ready counts the nodes that run and answer (locally) or whose pod is Ready (in a
	// cluster); Desired counts the nodes of the spec.
	Ready     int    `json:"ready"`
	Desired   int    `json:"desired"`
	Best      uint64 `json:"best"`
	Finalized uint64 `json:"finalized"`
	// Lag is best minus finalized: how far finality trails the chain's head.
	Lag uint64 `json:"lag"`
	// Peers is the fewest peers of a ready node: the node closest to being cut off.
	Peers    int      `json:"peers"`
	Versions []string `json:"versions"`
	Gateway  string   `json:"gateway,omitempty"`
	// Alerts counts the firing alerts.
	Alerts int `json:"alerts"`
}

// Summarize is the overview row of a network.
func Summarize(site string, n Network) Summary {
	st := n.Status
	s := Summary{
		Site: site, ID: ID(st), Name: st.Network, Namespace: st.Namespace, Chain: n.Chain,
		State: st.State, Error: st.Error, Desired: len(st.Nodes), Gateway: st.Gateway, Versions: []string{},
		Alerts: len(n.Alerts),
	}
	for i := range st.Nodes {
		node := &st.Nodes[i]
		s.Best, s.Finalized = max(s.Best, node.Best), max(s.Finalized, node.Finalized)
		if node.State() != "up" {
			continue
		}
		if s.Ready == 0 || node.Peers < s.Peers {
			s.Peers = node.Peers
		}
		s.Ready++
		if node.Version != "" && !slices.Contains(s.Versions, node.Version) {
			s.Versions = append(s.Versions, node.Version)
		}
	}
	if s.Best > s.Finalized {
		s.Lag = s.Best - s.Finalized
	}
	slices.Sort(s.Versions)
	return s
}

// Group is a node group on the network page.
type Group struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	Nodes []Node `json:"nodes"`
}

// Node is a node's row on the network page: `onf status`'s, its registered session keys and
// its last backup.
type Node struct {
	netstatus.Node
	SessionKeys *v1alpha1.RegisteredKeys `json:"sessionKeys,omitempty"`
	LastBackup  *backup.Manifest         `json:"lastBackup,omitempty"`
}

// Groups are a network's nodes by group, in the spec's order.
func Groups(n Network) []Group {
	var out []Group
	for _, sn := range n.Status.Nodes {
		i := slices.IndexFunc(out, func(g Group) bool { return g.Name == sn.Group })
		if i < 0 {
			out = append(out, Group{Name: sn.Group, Role: string(sn.Role)})
			i = len(out) - 1
		}
		node := Node{Node: sn, SessionKeys: n.SessionKeys[sn.Name]}
		if b := slices.IndexFunc(n.Backups, func(m backup.Manifest) bool { return m.Node == sn.Name }); b >= 0 {
			node.LastBackup = &n.Backups[b]
		}
		out[i].Nodes = append(out[i].Nodes, node)
	}
	return out
}
