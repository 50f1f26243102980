package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/sessionkeys"
)

// Restart backoff: doubles from minBackoff to maxBackoff, and resets once a node has stayed up
// for stableAfter.
const (
	minBackoff  = time.Second
	maxBackoff  = 30 * time.Second
	stableAfter = time.Minute
	stopTimeout = 15 * time.Second
	// seedWait bounds how long later tiers wait for the seeds' P2P ports on a first start.
	seedWait = 30 * time.Second
)

// proc is one supervised node process. Only the supervisor's loop goroutine touches it.
type proc struct {
	plan     network.NodePlan
	hash     string // of the command line: a change restarts the node
	cmd      *exec.Cmd
	started  time.Time
	restarts int
	backoff  time.Duration
	lastExit string
	exited   chan struct{}
	pending  bool // a restart is scheduled
	// res holds the node's ports whenever the node does not, and conflict says which port
	// another process took instead.
	res      reservation
	conflict string
	held     bool    // stopped on purpose until its hold is released (hold.go)
	ha       *haNode // HA candidates only (ha.go)
}

type exitEvent struct {
	node     string
	cmd      *exec.Cmd
	err      error
	conflict error // from taking the node's ports back
}

// Supervisor keeps a network's processes converged on the applied spec: it starts missing
// nodes in tier order, restarts crashed ones with backoff, restarts nodes whose command line
// changed and stops nodes that left the spec.
type Supervisor struct {
	home  string
	dir   Dir
	log   *slog.Logger
	procs map[string]*proc
	exits chan exitEvent
	retry chan string
	gen   int64
	err   string
	// gone: the state directory was removed, so nothing may be written there any more.
	gone bool
	// gateway is the network's RPC gateway, when the spec asks for one; gatewaySpec and
	// plan are what it was last reconciled with.
	gateway     *gatewayRun
	gateways    Gateways // nil: no gateway in this binary
	gatewaySpec *v1alpha1.Gateway
	plan        *network.Plan
	ctx         context.Context // the supervisor's life
	// rollouts are the groups' canary rollouts (rollout.go), observed on rolloutObs.
	rollouts   map[string]*rolloutRun
	rolloutObs chan rolloutObs
}

// Supervise runs the supervisor of the network in dir until ctx ends or it receives SIGTERM or
// SIGINT; SIGHUP makes it reconcile with the spec file. On the way out it stops every node.
// gateways, when given, serves the spec's RPC gateway (package localgateway).
func Supervise(ctx context.Context, home, name string, log *slog.Logger, gateways ...Gateways) error {
	dir, err := NetworkDir(home, name)
	if err != nil {
		return err
	}
	// Children get SIGKILL if the thread that started them dies: pin this goroutine to one
	// thread for its whole life so that only the supervisor's own death takes nodes down.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	unlock, err := lockSupervisor(home, name)
	if err != nil {
		return err
	}
	defer unlock()

	s := &Supervisor{home: home, dir: dir, log: log, procs: map[string]*proc{},
		exits: make(chan exitEvent, 16), retry: make(chan string, 16)}
	if len(gateways) > 0 {
		s.gateways = gateways[0]
	}
	// SIGTERM and SIGINT cancel ctx, so a stop interrupts even a reconcile that is waiting
	// for seeds; SIGHUP asks for a reconcile.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := watchStateDir(ctx, dir, cancel); err != nil {
		return err
	}
	s.ctx = ctx
	s.loadRollouts()
	rolloutTick := time.NewTicker(rolloutCheckEvery)
	defer rolloutTick.Stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	s.reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			s.gone = errors.Is(context.Cause(ctx), errStateDirGone)
			if s.gone {
				log.Error("stopping network: its state directory is gone", "dir", dir)
			} else {
				log.Info("stopping network")
			}
			s.stopAll()
			if s.gone {
				return errStateDirGone
			}
			return nil
		case <-hup:
			s.reconcile(ctx)
		case ev := <-s.exits:
			s.onExit(ev)
		case <-rolloutTick.C:
			s.checkRollouts()
		case o := <-s.rolloutObs:
			s.onRolloutObs(o)
		case node := <-s.retry:
			if p, ok := s.procs[node]; ok && p.pending && !s.applyHold(p) {
				p.pending = false
				s.start(p)
				s.writeStatus()
			}
		}
	}
}

// stateDirPoll is how often the supervisor checks that its state directory is still there.
const stateDirPoll = 2 * time.Second

var errStateDirGone = errors.New("state directory removed or replaced")

// watchStateDir cancels the supervisor with errStateDirGone once its state directory or spec
// is removed or the directory replaced: `onf down` finds a network through it, so a network
// whose state is gone could never be stopped, and its nodes would run on deleted files.
func watchStateDir(ctx context.Context, dir Dir, cancel context.CancelCauseFunc) error {
	// Held open, the directory keeps its inode: a new directory in its place cannot reuse the
	// number and pass for it.
	held, err := os.Open(string(dir))
	var first os.FileInfo
	if err == nil {
		first, err = held.Stat()
	}
	if err == nil {
		_, err = os.Stat(dir.Spec())
	}
	if err != nil {
		if held != nil {
			held.Close()
		}
		return fmt.Errorf("no applied spec: %w", err)
	}
	go func() {
		defer held.Close()
		tick := time.NewTicker(stateDirPoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now, err := os.Stat(string(dir))
			if err == nil {
				_, err = os.Stat(dir.Spec())
			}
			if errors.Is(err, os.ErrNotExist) || err == nil && !os.SameFile(first, now) {
				cancel(errStateDirGone)
				return
			}
		}
	}()
	return nil
}

// reconcile converges the processes on the spec file.
func (s *Supervisor) reconcile(ctx context.Context) {
	defer s.writeStatus()
	n, gen, err := readApplied(s.dir)
	var stored *storedPlan
	if err == nil {
		s.gen = gen // what happens next, error or not, is this generation's
		stored, err = readPlan(s.dir)
	}
	if err == nil && stored.Generation != gen {
		err = fmt.Errorf("the stored plan is of generation %d, the spec of %d: apply the spec again (onf up)", stored.Generation, gen)
	}
	var p *network.Plan
	if err == nil {
		p = &stored.Plan // apply planned it (Prepare): the supervisor runs plans, it never makes them
	}
	if err != nil {
		// Keep what runs: a bad spec never tears down a working network.
		s.err = err.Error()
		s.log.Error("reconcile", "err", err)
		return
	}
	s.err = ""
	s.applyRollouts(n, p)

	want := map[string]bool{}
	for _, np := range p.Nodes {
		want[np.Name] = true
	}
	for name, pr := range s.procs {
		if !want[name] {
			s.log.Info("stopping node removed from spec", "node", name)
			pr.ha.detach()
			s.stop(pr)
			pr.res.close()
			delete(s.procs, name)
		}
	}
	// Prepare new nodes one after another in start order, in the background: a node starts as
	// soon as it is prepared and a seed listens, and the next node's init (gossamer's takes
	// about a second of CPU) overlaps with the previous node's boot instead of delaying the
	// first validator.
	// New nodes' ports are reserved from here on (start reports a conflict).
	prepared := map[string]chan struct{}{}
	fresh := map[string]*proc{}
	var queue []network.NodePlan
	for _, np := range p.Nodes {
		if _, ok := s.procs[np.Name]; !ok {
			prepared[np.Name] = make(chan struct{})
			queue = append(queue, np)
			fresh[np.Name] = &proc{plan: np, hash: commandHash(np), backoff: minBackoff}
			_ = fresh[np.Name].res.reserve(np)
		}
	}
	defer func() { // give back what a stop left unstarted
		for name, pr := range fresh {
			if s.procs[name] != pr {
				pr.res.close()
			}
		}
	}()
	go func() {
		for _, np := range queue {
			_ = s.prepareNode(np) // start reports any error
			close(prepared[np.Name])
		}
	}()
	tier := -1
	var seeds []int
	for _, np := range p.Nodes {
		if np.Tier != tier {
			waitForAnyPort(ctx, seeds, seedWait)
			tier, seeds = np.Tier, nil
		}
		if done, ok := prepared[np.Name]; ok {
			<-done
		}
		if ctx.Err() != nil {
			return // stopping: start nothing more
		}
		h := commandHash(np)
		pr, ok := s.procs[np.Name]
		switch {
		case !ok:
			pr = fresh[np.Name]
			s.procs[np.Name] = pr
			s.attachHA(pr)
			seeds = append(seeds, np.Ports.P2P)
			if !s.applyHold(pr) {
				s.start(pr)
			}
		case s.applyHold(pr):
			// stopped until released
		case pr.hash != h:
			s.log.Info("restarting node with a new command line", "node", np.Name)
			s.stop(pr)
			pr.plan, pr.hash = np, h
			s.start(pr)
		case pr.cmd == nil && !pr.pending:
			s.log.Info("starting node released from its hold", "node", np.Name)
			pr.plan, pr.hash = np, h
			s.start(pr)
		case pr.pending && pr.conflict != "":
			// Whoever held its port may have let go: try now, not at the end of the backoff.
			pr.pending = false
			s.start(pr)
		}
	}
	s.gatewaySpec, s.plan = n.Spec.Gateway, p
	s.updateGateway()
}

// updateGateway reconciles the gateway with the last spec and plan and the nodes' conflicts.
func (s *Supervisor) updateGateway() {
	if s.plan == nil {
		return
	}
	if err := s.reconcileGateway(s.ctx, s.gatewaySpec, s.plan); err != nil {
		s.err = err.Error()
		s.log.Error("gateway", "err", err)
	}
}

// readApplied reads the applied spec and its generation.
func readApplied(dir Dir) (*v1alpha1.SubstrateNetwork, int64, error) {
	var n v1alpha1.SubstrateNetwork
	ok, err := readJSON(dir.Spec(), &n)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, fmt.Errorf("no applied spec in %s", dir)
	}
	return &n, n.Generation, nil
}

func commandHash(np network.NodePlan) string {
	parts := []any{np.Binary, np.Init, np.Args, np.StandbyArgs}
	if len(np.Env) > 0 { // a changed pod.env restarts the node; without one the hash is as before
		parts = append(parts, np.Env)
	}
	data, _ := json.Marshal(parts)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// start prepares a node's data directory if it is new and starts its process, unless another
// process holds one of its ports. The node runs under the bind guard (bindguard.go), which
// keeps its sockets on loopback and hands it the ports reserved for it.
func (s *Supervisor) start(pr *proc) {
	np, unlock := pr.ha.plan(pr.plan) // an HA candidate without the lease starts keyless
	defer unlock()
	if err := s.setConflict(pr, pr.res.reserve(np)); err != nil {
		pr.lastExit = "not started: " + err.Error()
		s.log.Error("start node", "node", np.Name, "err", err)
		s.scheduleRestart(pr)
		return
	}
	err := s.prepareNode(np)
	var logFile *os.File
	if err == nil {
		logFile, err = openLog(s.dir, np.Name)
	}
	if err == nil {
		defer logFile.Close()
		cmd := guardedCommand(np.Binary, np.Args)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if len(np.Env) > 0 { // pod.env; later entries win over the supervisor's own
			cmd.Env = append(os.Environ(), np.Env...)
		}
		cmd.SysProcAttr = nodeProcAttr()
		pr.res.releaseP2P(np.Ports)
		if err = startGuarded(cmd, np.PublicPorts, &pr.res, s.log.With("node", np.Name)); err == nil {
			pr.cmd, pr.started, pr.exited = cmd, time.Now(), make(chan struct{})
			pr.ha.started(cmd.Process.Pid)
			s.log.Info("started node", "node", np.Name, "pid", cmd.Process.Pid)
			if np.Flavor == v1alpha1.FlavorGossamer {
				go s.restoreKeys(np, pr.exited)
			}
			go func(exited chan struct{}) {
				err := cmd.Wait()
				// Take the ports back at once, before anyone else can.
				conflict := pr.res.reserve(np)
				pr.ha.exited(cmd.Process.Pid)
				close(exited)
				s.exits <- exitEvent{node: np.Name, cmd: cmd, err: err, conflict: conflict}
			}(pr.exited)
			return
		}
	}
	pr.lastExit = "start failed: " + err.Error()
	s.log.Error("start node", "node", np.Name, "err", err)
	s.scheduleRestart(pr)
}

func openLog(dir Dir, node string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(dir.Log(node)), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(dir.Log(node), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// prepareNode runs the dialect's init commands once per data directory and (re)writes the
// node key file and session key secret from the state directory, all 0600. It is idempotent
// and touches only the node's own files, so nodes can be prepared concurrently.
func (s *Supervisor) prepareNode(np network.NodePlan) error {
	d := flavor.MustFor(np.Flavor)
	marker := initializedMarker(np)
	if np.Keys != nil {
		secret, err := sessionSecret(np.Keys)
		if err != nil {
			return err
		}
		if err := writeFile(s.dir.SURI(np.Name), []byte(secret), 0o600); err != nil {
			return err
		}
		if err := os.MkdirAll(np.KeystorePath, 0o700); err != nil {
			return err
		}
	}
	if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(np.BasePath, 0o700); err != nil {
			return err
		}
		if err := runInit(s.dir, np, np.Init); err != nil {
			return err
		}
		if err := writeFile(marker, nil, 0o600); err != nil {
			return err
		}
	}
	if err := runInit(s.dir, np, np.InsertKeys); err != nil {
		return err
	}
	k, err := nodekey.LoadOrCreate(s.dir.NodeKey(np.Name))
	if err != nil {
		return err
	}
	return writeFile(np.NodeKeyFile, []byte(d.NodeKeyFileContent(k.SeedHex(), k.PrivateKeyHex())), 0o600)
}

// restoreKeys inserts the keys `onf keys` keeps for a gossamer node again once it answers
// RPC: gossamer holds inserted keys in memory only and forgets them when it restarts.
func (s *Supervisor) restoreKeys(np network.NodePlan, exited <-chan struct{}) {
	ks := sessionkeys.Keystore(s.dir.Keystore(np.Name))
	if _, err := os.Stat(string(ks)); err != nil {
		return // onf keys never gave this node keys
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	for ctx.Err() == nil {
		client, err := rpc.Dial(ctx, rpcURL(np))
		if err == nil {
			n, err := sessionkeys.Restore(ctx, ks, client)
			client.Close()
			if err == nil {
				s.log.Info("session keys inserted again", "node", np.Name, "keys", n)
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	s.log.Warn("session keys not inserted again: the node did not answer RPC", "node", np.Name)
}

// initializedMarker is the file that says a node's data directory went through its init (or
// a restoreFrom, restorefrom.go), which is never run on it again.
func initializedMarker(np network.NodePlan) string {
	return filepath.Join(np.BasePath, ".onf-initialized")
}

// runInit runs preparation commands of the node's binary, their output into its log.
func runInit(dir Dir, np network.NodePlan, cmds [][]string) error {
	if len(cmds) == 0 {
		return nil
	}
	logFile, err := openLog(dir, np.Name)
	if err != nil {
		return err
	}
	defer logFile.Close()
	for _, args := range cmds {
		cmd := exec.Command(np.Binary, args...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("init %s %v: %w (see %s)", np.Binary, args[0], err, dir.Log(np.Name))
		}
	}
	return nil
}

// sessionSecret reads a node's secret URI from where its plan says it comes from.
func sessionSecret(k *network.KeyPlan) (string, error) {
	switch {
	case k.Dev != "":
		return k.Dev, nil
	case k.File != "":
		data, err := os.ReadFile(k.File)
		if err != nil {
			return "", fmt.Errorf("session key file: %w", err)
		}
		return string(data), nil
	default:
		return "", fmt.Errorf("keys.secret names a Kubernetes Secret: use keys.files or keys.dev locally")
	}
}

func (s *Supervisor) onExit(ev exitEvent) {
	pr, ok := s.procs[ev.node]
	if !ok || pr.cmd != ev.cmd {
		return // a process we stopped on purpose
	}
	pr.cmd = nil
	pr.lastExit = exitReason(ev.err)
	_ = s.setConflict(pr, ev.conflict)
	if time.Since(pr.started) > stableAfter || pr.ha.restartNow() {
		pr.backoff = minBackoff
	}
	s.log.Warn("node exited", "node", ev.node, "reason", pr.lastExit, "restart_in", pr.backoff)
	s.scheduleRestart(pr)
	s.writeStatus()
	s.onRolloutExit(pr)
}

// setConflict records a node's port conflict (nil: none) and keeps the gateway away from a
// node whose port another process holds. It returns err.
func (s *Supervisor) setConflict(pr *proc, err error) error {
	was := pr.conflict
	pr.conflict = ""
	if err != nil {
		pr.conflict = err.Error()
	}
	if pr.conflict != was {
		s.updateGateway()
	}
	return err
}

func (s *Supervisor) scheduleRestart(pr *proc) {
	pr.restarts++
	pr.pending = true
	delay := pr.backoff
	pr.backoff = min(pr.backoff*2, maxBackoff)
	name := pr.plan.Name
	time.AfterFunc(delay, func() { s.retry <- name })
}

func exitReason(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
		return fmt.Sprintf("exit code %d", ee.ExitCode())
	}
	if err == nil {
		return "exit code 0"
	}
	return err.Error()
}

// stop ends a node's process group: SIGTERM, then SIGKILL after stopTimeout.
func (s *Supervisor) stop(pr *proc) {
	pr.pending = false
	cmd := pr.cmd
	if cmd == nil {
		return
	}
	pr.cmd = nil
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-pr.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-pr.exited
	}
	// Its exit event is ignored by onExit: pr.cmd no longer matches.
}

func (s *Supervisor) stopAll() {
	s.stopGateway()
	// Reverse start order: parachain nodes, then relay nodes, then seeds.
	for tier := 2; tier >= 0; tier-- {
		for _, pr := range s.procs {
			if pr.plan.Tier == tier {
				s.stop(pr)
				pr.res.close()
			}
		}
	}
	s.writeStatus()
}

func (s *Supervisor) writeStatus() {
	if s.gone {
		return // writing would make the state directory again
	}
	st := Status{Supervisor: os.Getpid(), Generation: s.gen, Error: s.err, Nodes: map[string]NodeState{}}
	if s.gateway != nil {
		st.Gateway = s.gateway.listen
	}
	for name, pr := range s.procs {
		ns := NodeState{Restarts: pr.restarts, LastExit: pr.lastExit, Conflict: pr.conflict, Held: pr.held, HA: pr.ha.status()}
		if pr.cmd != nil {
			ns.PID, ns.Running, ns.Started = pr.cmd.Process.Pid, true, pr.started.UTC().Format(time.RFC3339)
		}
		st.Nodes[name] = ns
	}
	if err := writeJSON(s.dir.Status(), st, 0o600); err != nil {
		s.log.Error("write status", "err", err)
	}
}

// waitForAnyPort waits until one of the ports accepts TCP connections on loopback (a node
// needs one reachable seed to join; the rest it finds through it), or the deadline.
func waitForAnyPort(ctx context.Context, ports []int, timeout time.Duration) {
	if len(ports) == 0 {
		return
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, p := range ports {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), 200*time.Millisecond)
			if err == nil {
				c.Close()
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}
