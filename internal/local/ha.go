package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/problem"
)

// haNode is an HA candidate's side of the supervisor: which command line it runs (authority
// or keyless standby) and the agent that decides it (internal/ha). Its methods are safe on a
// nil haNode (a node without HA), so the supervisor's hooks stay one line each.
type haNode struct {
	s        *Supervisor
	name     string
	identity string
	agent    *ha.Agent
	cancel   context.CancelFunc

	mu        sync.Mutex // held while the node's process starts, so a fence never misses it
	authority bool
	pgid      int  // the running process group, 0 when none
	restart   bool // the agent stopped the node: restart it at once
	unhealthy time.Time
}

// haStartupGrace is how long a starting node may take to answer before it counts as not
// answering.
const haStartupGrace = 2 * time.Minute

// attachHA starts the agent of an HA candidate; nothing for other nodes.
func (s *Supervisor) attachHA(pr *proc) {
	np := pr.plan
	if np.Identity == "" || np.HA == nil {
		return
	}
	h := &haNode{s: s, name: np.Name, identity: np.Identity}
	pr.ha = h
	spec := np.HA
	if spec.Etcd == nil {
		s.log.Error("ha: no lease store: spec.groups[].ha.etcd is required locally; the node stays a keyless standby", "node", np.Name)
		return
	}
	t := network.Timing(spec)
	var identity [32]byte
	if secret, err := sessionSecret(np.Keys); err == nil {
		if pair, err := keyring.FromURI(keyring.Sr25519, secret); err == nil {
			identity = pair.Public().Bytes
		}
	}
	cli, err := ha.NewEtcdClient(spec.Etcd.Endpoints)
	if err != nil {
		s.log.Error("ha: etcd client; the node stays a keyless standby", "node", np.Name, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	h.cancel = cancel
	w := &ha.Watch{Endpoint: rpcURL(np), Identity: identity, Poll: max(t.Margin/4, 100*time.Millisecond)}
	h.agent = &ha.Agent{Name: np.Name, Store: leaseOf(cli, filepath.Base(string(s.dir)), np),
		Timing: ha.Timing{TTL: t.TTL, Margin: t.Margin}, Node: h, Watch: w, Log: s.log}
	go w.Run(ctx)
	go h.watchHealth(ctx, rpcURL(np), w.Poll)
	go func(cli *clientv3.Client) {
		h.agent.Run(ctx)
		cli.Close()
	}(cli)
}

// detach stops the agent (which fences an authority and releases its lease).
func (h *haNode) detach() {
	if h != nil && h.cancel != nil {
		h.cancel()
	}
}

// plan is the command line the node starts with now; the caller holds h.mu until the
// process has started (unlock). The node's role puts the identity's keys in place for a
// signing start and removes them for a keyless one: gossamer's saved config, or a
// polkadot-sdk keystore the agent writes itself (the plan's key insert commands are not run,
// so the keys come from the 0600 secret URI source only, never from the node binary or RPC).
func (h *haNode) plan(np network.NodePlan) (network.NodePlan, func()) {
	if h == nil {
		return np, func() {}
	}
	h.mu.Lock()
	role := haRole(np)
	if h.authority {
		np.InsertKeys = nil
	} else {
		np = np.Standby()
	}
	if role != nil {
		if err := role.Prepare(h.authority); err != nil {
			h.s.log.Error("ha: node keys", "node", h.name, "err", err)
		}
	}
	return np, h.mu.Unlock
}

// haRole is how a candidate's keys follow its role (ha.Role), from its authority plan.
func haRole(np network.NodePlan) ha.Role {
	if np.Keys == nil {
		return nil
	}
	if np.Flavor == v1alpha1.FlavorGossamer {
		return ha.Gossamer{BasePath: np.BasePath, StandbyKey: ha.GossamerStandbyKey(np.Keys.Dev)}
	}
	ks := ha.Keystore{Dir: np.KeystorePath, Secret: func() (string, error) { return sessionSecret(np.Keys) }}
	for _, t := range np.Keys.Types {
		ks.Types = append(ks.Types, ha.KeyType{ID: t.Type, Scheme: keyring.Scheme(t.Scheme)})
	}
	return ks
}

// started and exited track the process group a fence must kill; the caller of started
// holds h.mu (from plan).
func (h *haNode) started(pgid int) {
	if h != nil {
		h.pgid, h.unhealthy = pgid, time.Time{}
	}
}

func (h *haNode) exited(pgid int) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pgid == pgid {
		h.pgid = 0
	}
}

// restartNow reports (once) that the agent stopped the node, so it restarts without backoff.
func (h *haNode) restartNow() bool {
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.restart
	h.restart = false
	return r
}

// Fence kills the authority's process group at once (SIGKILL: a node told to stop politely
// could still sign on its way out), then removes its keys; the supervisor restarts it as a
// keyless standby.
func (h *haNode) Fence(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.authority = false
	if h.pgid != 0 {
		_ = syscall.Kill(-h.pgid, syscall.SIGKILL)
		h.restart = true
	}
	if err := os.RemoveAll(h.s.dir.Keystore(h.name)); err != nil {
		h.s.log.Error("ha: removing the keystore", "node", h.name, "err", err)
	}
	if err := os.Remove(h.s.dir.SURI(h.name)); err != nil && !os.IsNotExist(err) {
		h.s.log.Error("ha: removing the secret URI file", "node", h.name, "err", err)
	}
	h.s.log.Warn("ha: fenced", "node", h.name, "reason", reason)
}

// Promote restarts the keyless standby as the authority.
func (h *haNode) Promote() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.authority = true
	if h.pgid != 0 {
		_ = syscall.Kill(-h.pgid, syscall.SIGTERM)
		h.restart = true
	}
}

func (h *haNode) Authority() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.authority
}

func (h *haNode) Unhealthy() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.unhealthy
}

// watchHealth records since when the node's current process has not answered.
func (h *haNode) watchHealth(ctx context.Context, url string, poll time.Duration) {
	ha.WatchHealth(ctx, url, poll, haStartupGrace, func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.pgid
	}, func(pgid int, missed time.Time) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.pgid == pgid {
			h.unhealthy = missed
		}
	})
}

// status is the node's HA part of the status file.
func (h *haNode) status() *NodeHA {
	if h == nil {
		return nil
	}
	st := &NodeHA{Identity: h.identity, Role: "standby"}
	if h.Authority() {
		st.Role = "authority"
	}
	if h.agent != nil {
		if a := h.agent.Status(); a.Holding {
			st.Lease, st.Expires = true, a.Expires.UTC().Format(time.RFC3339Nano)
		}
	}
	return st
}

// NodeHA is an HA candidate's role and lease in the status file.
type NodeHA struct {
	Identity string `json:"identity"`
	Role     string `json:"role"` // authority or standby
	// Lease: this node holds the identity's lease, which the store cannot expire before
	// Expires (RFC 3339).
	Lease   bool   `json:"lease,omitempty"`
	Expires string `json:"expires,omitempty"`
}

// checkHA refuses HA groups without a lease store before anything starts (locally the
// leases live in etcd).
func checkHA(n *v1alpha1.SubstrateNetwork) error {
	var ps problem.List
	for i, g := range n.Spec.Groups {
		if g.HA != nil && g.HA.Etcd == nil {
			ps.Add(fmt.Sprintf("spec.groups[%d].ha.etcd", i), "required locally: the leases live in etcd (clusters use Kubernetes Leases)")
		}
	}
	return network.Invalid(ps)
}

// haStatus reads each HA identity's lease from its store (a short timeout: status must not
// hang on a store that is down) beside which node the supervisor runs as its authority.
func haStatus(ctx context.Context, name string, p *network.Plan, st Status) []netstatus.HAIdentity {
	var out []netstatus.HAIdentity
	index := map[string]int{}
	for _, np := range p.Nodes {
		if np.Identity == "" || np.HA == nil {
			continue
		}
		i, ok := index[np.Identity]
		if !ok {
			i = len(out)
			index[np.Identity] = i
			out = append(out, readLease(ctx, name, np))
		}
		if h := st.Nodes[np.Name].HA; h != nil && h.Role == "authority" {
			out[i].Authority = np.Name
		}
	}
	return out
}

func readLease(ctx context.Context, name string, np network.NodePlan) netstatus.HAIdentity {
	id := netstatus.HAIdentity{Identity: np.Identity}
	e := np.HA.Etcd
	if e == nil {
		id.Error = "no lease store (spec.groups[].ha.etcd)"
		return id
	}
	cli, err := ha.NewEtcdClient(e.Endpoints)
	if err != nil {
		id.Error = err.Error()
		return id
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h, err := leaseOf(cli, name, np).Holder(ctx)
	if err != nil {
		id.Error = err.Error()
		return id
	}
	id.Holder = h.Holder
	if h.Holder != "" {
		id.Expires = time.Now().Add(h.Left).UTC().Format(time.RFC3339)
	}
	return id
}

// leaseOf is the etcd lease of a candidate's identity: <prefix><network>/<identity>.
func leaseOf(cli *clientv3.Client, name string, np network.NodePlan) *ha.Etcd {
	return ha.NewEtcd(cli, np.HA.Etcd.Prefix, name+"/"+np.Identity)
}
