package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/rpc"
)

// Runtime is the client side of local networks: it applies specs, starts supervisors and
// reads status. Every method works from any shell; the state directory is the interface.
type Runtime struct {
	// Home holds every network's state directory.
	Home string
	// Supervisor is the command that runs `supervise` for a network: the onf binary and its
	// arguments before the network name.
	Supervisor []string
}

// Dir is a network's state directory.
func (r *Runtime) Dir(name string) Dir { return NetworkDir(r.Home, name) }

// Networks lists the networks that have state under Home.
func (r *Runtime) Networks() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(r.Home, "networks"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// UpOptions says when Up returns.
type UpOptions struct {
	// UntilBlock: return once every node reports a best block at least this high (0: once
	// every node answers RPC).
	UntilBlock uint64
	// Timeout bounds the wait; the network keeps running when it expires.
	Timeout time.Duration
}

// Apply stores a spec as the network's desired state (see Prepare) and makes the supervisor
// converge on it, starting the supervisor if none runs. It does not wait.
func (r *Runtime) Apply(ctx context.Context, n *v1alpha1.SubstrateNetwork) (int64, error) {
	gen, err := r.Prepare(ctx, n)
	if err != nil {
		return 0, err
	}
	if pid := r.supervisorPID(n.Name); pid != 0 {
		return gen, syscall.Kill(pid, syscall.SIGHUP)
	}
	return gen, r.startSupervisor(n.Name)
}

// Prepare validates a spec, checks that it can run here (binaries, chain specs), allocates
// ports and node keys, and stores it as the network's desired state with its generation.
// Nothing is stored when a check fails, so a running network never sees a bad spec.
func (r *Runtime) Prepare(ctx context.Context, n *v1alpha1.SubstrateNetwork) (int64, error) {
	n = n.DeepCopy()
	network.Default(n)
	if err := network.Validate(n); err != nil {
		return 0, err
	}
	if err := resolveBinaries(n); err != nil {
		return 0, err
	}
	dir := r.Dir(n.Name)
	p, err := plan(ctx, r.Home, dir, n)
	if err != nil {
		return 0, err
	}
	if gw := n.Spec.Gateway; gw != nil {
		if err := absGatewayConfig(gw); err != nil {
			return 0, err
		}
		if _, err := loadGatewayConfig(gw, gatewayUpstreams(p, gw.Group)); err != nil {
			return 0, err
		}
	}
	prev, gen, err := readApplied(dir)
	switch {
	case err != nil:
		n.Generation = 1
	case reflect.DeepEqual(prev.Spec, n.Spec):
		n.Generation = gen
	default:
		n.Generation = gen + 1
	}
	return n.Generation, writeJSON(dir.Spec(), n, 0o600)
}

// Up applies a spec and waits until the network is up.
func (r *Runtime) Up(ctx context.Context, n *v1alpha1.SubstrateNetwork, opts UpOptions) error {
	gen, err := r.Apply(ctx, n)
	if err != nil {
		return err
	}
	return r.WaitReady(ctx, n.Name, gen, opts)
}

// Scale sets a group's replica count and waits for the network to converge.
func (r *Runtime) Scale(ctx context.Context, name, group string, replicas int, opts UpOptions) error {
	n, _, err := readApplied(r.Dir(name))
	if err != nil {
		return fmt.Errorf("network %q: %w", name, err)
	}
	g := network.FindGroup(&n.Spec, group)
	if g == nil {
		return fmt.Errorf("network %q has no group %q", name, group)
	}
	rep := int32(replicas)
	g.Replicas = &rep
	return r.Up(ctx, n, opts)
}

// WaitReady waits until the supervisor has reconciled generation gen, every planned node runs
// and answers RPC, and every node's best block reaches opts.UntilBlock.
func (r *Runtime) WaitReady(ctx context.Context, name string, gen int64, opts UpOptions) error {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	var last string
	for {
		st, err := r.Status(ctx, name)
		switch {
		case err != nil:
			last = err.Error()
		case st.Error != "":
			return fmt.Errorf("network %s: %s", name, st.Error)
		case st.Supervisor == 0:
			return fmt.Errorf("network %s: supervisor is not running (see %s)", name, r.Dir(name).SupervisorLog())
		case st.Generation < gen:
			last = "waiting for the supervisor to apply the spec"
		default:
			last = st.notReady(opts.UntilBlock)
			if last == "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("network %s not ready: %s: %w", name, last, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Down stops the supervisor, which stops every node, and waits until no process is left.
// With purge it also deletes the network's state and releases its ports.
func (r *Runtime) Down(ctx context.Context, name string, purge bool) error {
	dir := r.Dir(name)
	if _, err := os.Stat(string(dir)); err != nil {
		return fmt.Errorf("network %q: no state in %s", name, dir)
	}
	if pid := r.supervisorPID(name); pid != 0 {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop supervisor: %w", err)
		}
		if err := waitGone(ctx, pid, stopTimeout+5*time.Second); err != nil {
			return fmt.Errorf("supervisor %d: %w", pid, err)
		}
	}
	// Belt and braces: no node may outlive its network.
	var st Status
	if _, err := readJSON(dir.Status(), &st); err != nil {
		return err
	}
	for node, ns := range st.Nodes {
		if ns.PID != 0 && alive(ns.PID) {
			_ = syscall.Kill(-ns.PID, syscall.SIGKILL)
			if err := waitGone(ctx, ns.PID, 5*time.Second); err != nil {
				return fmt.Errorf("node %s (pid %d): %w", node, ns.PID, err)
			}
		}
	}
	if !purge {
		return nil
	}
	if err := os.RemoveAll(string(dir)); err != nil {
		return err
	}
	return releasePorts(r.Home, name)
}

func (r *Runtime) startSupervisor(name string) error {
	dir := r.Dir(name)
	logFile, err := os.OpenFile(dir.SupervisorLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := append(slices.Clone(r.Supervisor[1:]), "--home", r.Home, name)
	cmd := exec.Command(r.Supervisor[0], args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own session: the supervisor outlives the shell that ran `onf up`.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(10 * time.Second)
	for r.supervisorPID(name) == 0 {
		select {
		case err := <-done:
			return fmt.Errorf("supervisor exited at once (%v): see %s", err, dir.SupervisorLog())
		case <-deadline:
			return fmt.Errorf("supervisor did not start: see %s", dir.SupervisorLog())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// supervisorPID is the pid of the network's running supervisor, or 0.
func (r *Runtime) supervisorPID(name string) int {
	data, err := os.ReadFile(r.Dir(name).SupervisorPID())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil || !alive(pid) {
		return 0
	}
	return pid
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func waitGone(ctx context.Context, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("still running after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// NodeInfo is one node's line in `onf status`.
type NodeInfo struct {
	Name      string        `json:"name"`
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
	RPCError  string        `json:"rpcError,omitempty"`
}

// NetworkStatus is `onf status` for one network.
type NetworkStatus struct {
	Network    string     `json:"network"`
	Supervisor int        `json:"supervisor"` // pid, 0 when stopped
	Generation int64      `json:"generation"`
	Error      string     `json:"error,omitempty"`
	Gateway    string     `json:"gateway,omitempty"` // the RPC gateway's URL, when one runs
	Nodes      []NodeInfo `json:"nodes"`
}

// notReady says why the network is not yet ready, or "" when it is.
func (s *NetworkStatus) notReady(untilBlock uint64) string {
	for _, n := range s.Nodes {
		switch {
		case !n.Running:
			return n.Name + " is not running"
		case n.RPCError != "":
			return n.Name + " does not answer RPC yet"
		case n.Best < untilBlock:
			return fmt.Sprintf("%s is at block %d, waiting for %d", n.Name, n.Best, untilBlock)
		}
	}
	return ""
}

// Status reads the supervisor's view and asks every node about itself over RPC.
func (r *Runtime) Status(ctx context.Context, name string) (*NetworkStatus, error) {
	dir := r.Dir(name)
	n, _, err := readApplied(dir)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	var st Status
	if _, err := readJSON(dir.Status(), &st); err != nil {
		return nil, err
	}
	p, err := plan(ctx, r.Home, dir, n)
	if err != nil {
		return nil, err
	}
	out := &NetworkStatus{Network: name, Supervisor: r.supervisorPID(name), Generation: st.Generation, Error: st.Error}
	if st.Gateway != "" && out.Supervisor != 0 {
		out.Gateway = "http://" + st.Gateway
	}
	out.Nodes = make([]NodeInfo, len(p.Nodes))
	var wg sync.WaitGroup
	for i, np := range p.Nodes {
		ns := st.Nodes[np.Name]
		info := &out.Nodes[i]
		*info = NodeInfo{
			Name: np.Name, Group: np.Group, Role: np.Role, PeerID: np.PeerID,
			Running: ns.Running && out.Supervisor != 0, PID: ns.PID, Restarts: ns.Restarts, LastExit: ns.LastExit,
			RPC:     fmt.Sprintf("http://127.0.0.1:%d", np.Ports.RPC),
			WS:      fmt.Sprintf("ws://127.0.0.1:%d", wsPort(np)),
			Metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", np.Ports.Prometheus),
		}
		if !info.Running {
			info.PID = 0
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			askNode(ctx, info)
		}()
	}
	wg.Wait()
	return out, nil
}

func wsPort(np network.NodePlan) int {
	if np.Ports.WS != 0 {
		return np.Ports.WS
	}
	return np.Ports.RPC
}

func askNode(ctx context.Context, info *NodeInfo) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, info.RPC)
	if err == nil {
		defer c.Close()
		var s *rpc.Status
		if s, err = c.Status(ctx); err == nil {
			info.Version, info.Peers, info.Syncing = s.Version, s.Health.Peers, s.Health.IsSyncing
			info.Best, info.BestHash, info.Finalized = uint64(s.Best), s.BestHash, uint64(s.Finalized)
			return
		}
	}
	info.RPCError = err.Error()
}
