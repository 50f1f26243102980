package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/netstatus"
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
	// Gateways makes spec.gateway's RPC gateway; nil refuses specs with a gateway.
	Gateways Gateways
}

// Dir is a network's state directory; name must be a network name (network.CheckName).
func (r *Runtime) Dir(name string) (Dir, error) { return NetworkDir(r.Home, name) }

// LogFile is a node's log file; both names must be names (network.CheckName), never paths.
func (r *Runtime) LogFile(name, node string) (string, error) {
	dir, err := r.Dir(name)
	if err != nil {
		return "", err
	}
	if err := network.CheckName(node); err != nil {
		return "", fmt.Errorf("node name: %w", err)
	}
	return dir.Log(node), nil
}

// Networks lists the networks that have an applied spec under Home.
func (r *Runtime) Networks() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(r.Home, "networks"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var names []string
	for _, e := range entries {
		if dir, err := r.Dir(e.Name()); err == nil && exists(dir.Spec()) {
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
	// Timeout bounds Up as a whole (checks, chain spec downloads and the wait); the network
	// keeps running when it expires during the wait.
	Timeout time.Duration
}

// Apply stores a spec as the network's desired state (see Prepare) and makes the supervisor
// converge on it, starting the supervisor if none runs. It does not wait. When it fails for a
// network that had no state, it leaves none: no state directory, no ports, no keys.
func (r *Runtime) Apply(ctx context.Context, n *v1alpha1.SubstrateNetwork) (int64, error) {
	gen, fresh, err := r.prepare(ctx, n)
	if err != nil {
		return 0, err
	}
	if pid := r.supervisorPID(n.Name); pid != 0 {
		return gen, syscall.Kill(pid, syscall.SIGHUP)
	}
	if err := r.startSupervisor(n.Name); err != nil {
		if fresh {
			err = errors.Join(err, r.purge(n.Name))
		}
		return 0, err
	}
	return gen, nil
}

// Prepare validates a spec, checks that it can run here (binaries, chain specs, session key
// sources), allocates ports and node keys, plans it, and stores the spec and its plan as the
// network's desired state with the next generation:
// every apply is a generation of its own, so waiting for it never reads an older attempt's
// result. Nothing is stored when a check fails, so a running network never sees a bad spec,
// and a network that had no state is left with none.
func (r *Runtime) Prepare(ctx context.Context, n *v1alpha1.SubstrateNetwork) (int64, error) {
	gen, _, err := r.prepare(ctx, n)
	return gen, err
}

// prepare is Prepare; fresh says the network had no applied spec before.
func (r *Runtime) prepare(ctx context.Context, n *v1alpha1.SubstrateNetwork) (gen int64, fresh bool, err error) {
	n = n.DeepCopy()
	network.Default(n)
	if err := network.Validate(n); err != nil {
		return 0, false, err
	}
	dir, err := r.Dir(n.Name)
	if err != nil {
		return 0, false, err
	}
	fresh = !exists(dir.Spec())
	if pid := r.supervisorPID(n.Name); pid != 0 && fresh {
		return 0, false, fmt.Errorf("network %s: its supervisor (pid %d) still runs but its state in %s is gone; it stops its nodes within %s, then run up again", n.Name, pid, dir, stateDirPoll*2)
	}
	if err := refuseClusterOnly(n); err != nil {
		return 0, false, err
	}
	if err := resolveBinaries(n); err != nil {
		return 0, false, err
	}
	if err := checkBindGuard(); err != nil {
		return 0, false, err
	}
	if err := checkHA(n); err != nil {
		return 0, false, err
	}
	if err := checkKeys(n); err != nil {
		return 0, false, err
	}
	if err := absGatewayConfig(n.Spec.Gateway); err != nil {
		return 0, false, err
	}
	fetched, err := checkChains(ctx, dir, n)
	if err != nil {
		return 0, false, err
	}
	// From here on files are written: a failure takes back what this apply added.
	var before Facts
	if _, err := readJSON(dir.Facts(), &before); err != nil {
		return 0, false, err
	}
	planBefore, err := os.ReadFile(dir.Plan())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, false, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.undoApply(dir, n.Name, fresh, before, planBefore, fetched))
		}
	}()
	for file, data := range fetched {
		if err := writeFile(file, data, 0o600); err != nil {
			return 0, fresh, err
		}
	}
	p, err := plan(r.Home, dir, n)
	if err != nil {
		return 0, fresh, err
	}
	if err := checkGateway(r.Gateways, n.Spec.Gateway, p); err != nil {
		return 0, fresh, err
	}
	if err := r.restoreNew(ctx, dir, n, p); err != nil {
		return 0, fresh, err
	}
	_, gen, _ = readApplied(dir)
	n.Generation = gen + 1
	// The plan first: whoever reads the new spec finds its plan.
	if err := writeJSON(dir.Plan(), storedPlan{Generation: n.Generation, Plan: *p}, 0o600); err != nil {
		return 0, fresh, err
	}
	return n.Generation, fresh, writeJSON(dir.Spec(), n, 0o600)
}

// undoApply takes back what a failed apply wrote: all of a network that had no state; for one
// that had, the ports and node keys of the nodes it added, the chain specs it fetched and its
// plan, so the nodes that run and their files stay as they were.
func (r *Runtime) undoApply(dir Dir, name string, fresh bool, before Facts, planBefore []byte, fetched map[string][]byte) error {
	if fresh {
		return r.purge(name)
	}
	if planBefore != nil {
		if err := writeFile(dir.Plan(), planBefore, 0o600); err != nil {
			return err
		}
	}
	var after Facts
	if _, err := readJSON(dir.Facts(), &after); err != nil {
		return err
	}
	added := map[int]bool{}
	var errs []error
	remove := func(file string) {
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for node, ports := range after.Ports {
		if _, had := before.Ports[node]; had {
			continue
		}
		for _, p := range portNames(ports) {
			added[p.port] = true
		}
		remove(dir.NodeKey(node))
	}
	for file := range fetched {
		remove(file)
	}
	errs = append(errs, writeJSON(dir.Facts(), before, 0o600), withPortLock(r.Home, func(reg *portRegistry) error {
		reg.Networks[name] = slices.DeleteFunc(reg.Networks[name], func(p int) bool { return added[p] })
		return nil
	}))
	return errors.Join(errs...)
}

// Up applies a spec and waits until the network is up.
func (r *Runtime) Up(ctx context.Context, n *v1alpha1.SubstrateNetwork, opts UpOptions) error {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	gen, err := r.Apply(ctx, n)
	if err != nil {
		return err
	}
	return r.WaitReady(ctx, n.Name, gen, opts)
}

// Scale sets a group's replica count and waits for the network to converge.
func (r *Runtime) Scale(ctx context.Context, name, group string, replicas int, opts UpOptions) error {
	dir, err := r.Dir(name)
	if err != nil {
		return err
	}
	n, _, err := readApplied(dir)
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
// and answers RPC as itself, and every node's best block reaches opts.UntilBlock. A port held
// by another process is the reason given when it times out.
func (r *Runtime) WaitReady(ctx context.Context, name string, gen int64, opts UpOptions) error {
	dir, err := r.Dir(name)
	if err != nil {
		return err
	}
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
		case st.Error != "" && st.Generation >= gen: // an older generation's error is not this apply's
			return fmt.Errorf("network %s: %s", name, st.Error)
		case st.Supervisor == 0:
			return fmt.Errorf("network %s: supervisor is not running (see %s)", name, dir.SupervisorLog())
		case st.Generation < gen:
			last = "waiting for the supervisor to apply the spec"
		default:
			last = notReady(st, opts.UntilBlock)
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
// With purge it also deletes the network's state and releases its ports. It stops a
// supervisor whose state directory is gone, too.
func (r *Runtime) Down(ctx context.Context, name string, purge bool) error {
	dir, err := r.Dir(name)
	if err != nil {
		return err
	}
	pid := r.supervisorPID(name)
	if !exists(string(dir)) && pid == 0 {
		return fmt.Errorf("network %q: no state in %s", name, dir)
	}
	if pid != 0 {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop supervisor: %w", err)
		}
		if err := waitGone(ctx, pid, stopTimeout+5*time.Second); err != nil {
			return fmt.Errorf("supervisor %d: %w", pid, err)
		}
	}
	// Belt and braces: no node may outlive its network. Only processes that run on this
	// state directory are killed: a pid in an old status file may belong to anyone by now.
	var st Status
	if _, err := readJSON(dir.Status(), &st); err != nil {
		return err
	}
	for node, ns := range st.Nodes {
		if ns.PID != 0 && alive(ns.PID) && runsIn(ns.PID, dir) {
			_ = syscall.Kill(-ns.PID, syscall.SIGKILL)
			if err := waitGone(ctx, ns.PID, 5*time.Second); err != nil {
				return fmt.Errorf("node %s (pid %d): %w", node, ns.PID, err)
			}
		}
	}
	if !purge {
		return nil
	}
	return r.purge(name)
}

// purge deletes a stopped network's state and releases its ports. It refuses while a
// supervisor runs the network (one a concurrent up started, say).
func (r *Runtime) purge(name string) error {
	dir, err := r.Dir(name)
	if err != nil {
		return err
	}
	if pid := r.supervisorPID(name); pid != 0 {
		return fmt.Errorf("network %s: not purged, its supervisor (pid %d) runs", name, pid)
	}
	if err := os.RemoveAll(string(dir)); err != nil {
		return err
	}
	return releasePorts(r.Home, name)
}

// runsIn says whether a process's command line names a path in the state directory, as every
// node's does (its base path).
func runsIn(pid int, dir Dir) bool {
	args, err := commandLine(pid)
	return err == nil && bytes.Contains(args, []byte(string(dir)+string(filepath.Separator)))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (r *Runtime) startSupervisor(name string) error {
	dir, err := r.Dir(name)
	if err != nil {
		return err
	}
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
	for r.supervisorPID(name) != cmd.Process.Pid {
		select {
		case err := <-done:
			return fmt.Errorf("supervisor exited at once (%v): %s", err, logTail(dir.SupervisorLog()))
		case <-deadline:
			return fmt.Errorf("supervisor did not start: see %s", dir.SupervisorLog())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// logTail is the end of a log, for errors that outlive the file.
func logTail(file string) string {
	data, _ := os.ReadFile(file)
	const max = 1024
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return strings.TrimSpace(string(data))
}

// supervisorPID is the pid of the network's running supervisor, or 0: the holder of its lock.
func (r *Runtime) supervisorPID(name string) int { return lockHolder(r.Home, name) }

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

// NodeInfo is one node's line in `onf status`; the type is shared with the cluster backend.
type NodeInfo = netstatus.Node

// NetworkStatus is `onf status` for one network.
type NetworkStatus = netstatus.Network

// notReady says why the network is not yet ready, or "" when it is.
func notReady(s *NetworkStatus, untilBlock uint64) string {
	for _, n := range s.Nodes {
		switch {
		case n.Conflict != "":
			return n.Name + ": " + n.Conflict
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
	dir, err := r.Dir(name)
	if err != nil {
		return nil, err
	}
	// Status reads what apply stored and the supervisor wrote; it plans and allocates nothing.
	p, err := readPlan(dir)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	var st Status
	if _, err := readJSON(dir.Status(), &st); err != nil {
		return nil, err
	}
	out := &NetworkStatus{Network: name, State: "running", Supervisor: r.supervisorPID(name), Generation: st.Generation, Error: st.Error}
	if out.Supervisor == 0 {
		out.State = "stopped"
	}
	if st.Gateway != "" && out.Supervisor != 0 {
		out.Gateway = "http://" + st.Gateway
	}
	if _, err := readJSON(dir.Rollouts(), &out.Rollouts); err != nil {
		return nil, err
	}
	out.Nodes = make([]NodeInfo, len(p.Nodes))
	var wg sync.WaitGroup
	for i, np := range p.Nodes {
		ns := st.Nodes[np.Name]
		info := &out.Nodes[i]
		*info = NodeInfo{
			Name: np.Name, Group: np.Group, Role: np.Role, PeerID: np.PeerID,
			Running: ns.Running && out.Supervisor != 0, PID: ns.PID, Restarts: ns.Restarts, LastExit: ns.LastExit,
			Conflict: ns.Conflict,
			RPC:      fmt.Sprintf("http://127.0.0.1:%d", np.Ports.RPC),
			WS:       fmt.Sprintf("ws://127.0.0.1:%d", wsPort(np)),
			Metrics:  fmt.Sprintf("http://127.0.0.1:%d/metrics", np.Ports.Prometheus),
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
	out.HA = haStatus(ctx, name, &p.Plan, st)
	return out, nil
}

func wsPort(np network.NodePlan) int {
	if np.Ports.WS != 0 {
		return np.Ports.WS
	}
	return np.Ports.RPC
}

// askNode reads a node's chain facts over RPC, once its RPC and WebSocket endpoints both
// answer with the node's own peer ID: a port another process took would otherwise pass for
// the node.
func askNode(ctx context.Context, info *NodeInfo) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for _, url := range []string{info.RPC, info.WS} {
		if err := checkIdentity(ctx, url, info.PeerID); err != nil {
			info.RPCError = err.Error()
			if errors.Is(err, errNotThisNode) {
				info.Conflict = err.Error()
			}
			return
		}
	}
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

var errNotThisNode = errors.New("another process holds the port")

// checkIdentity asks the endpoint for its peer ID (system_localPeerId) and compares it with the
// node's.
func checkIdentity(ctx context.Context, url, peerID string) error {
	c, err := rpc.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	got, err := c.LocalPeerID(ctx)
	if err != nil {
		return err
	}
	if got != peerID {
		return fmt.Errorf("%s answers as peer %q, not as this node (%s): %w", url, got, peerID, errNotThisNode)
	}
	return nil
}
