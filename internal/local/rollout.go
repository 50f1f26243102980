package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/rollout"
)

// rolloutCheckEvery is how often the supervisor asks a running rollout's nodes for their facts.
const rolloutCheckEvery = time.Second

// Rollouts holds the groups' canary rollouts (docs/rollout.md), written by the supervisor.
func (d Dir) Rollouts() string { return d.path("rollouts.json") }

// RolloutAbort holds the groups `onf rollout abort` asks the supervisor to roll back.
func (d Dir) RolloutAbort() string { return d.path("rollout-abort.json") }

// rolloutRun is a group's rollout as the supervisor drives it; only its loop touches it.
type rolloutRun struct {
	status   v1alpha1.RolloutStatus
	gates    rollout.Gates
	step     rollout.Step
	checking bool // an observation is on its way
}

// rolloutObs is one observation of a rollout's current step, made away from the loop.
type rolloutObs struct {
	group            string
	step             int32
	stepStarted      time.Time
	upgraded, others []rollout.Node
	queries          []rollout.QueryResult
}

// loadRollouts reads the rollouts a previous supervisor left; running ones restart their
// step's checks.
func (s *Supervisor) loadRollouts() {
	s.rollouts = map[string]*rolloutRun{}
	s.rolloutObs = make(chan rolloutObs, 4)
	var sts []v1alpha1.RolloutStatus
	if _, err := readJSON(s.dir.Rollouts(), &sts); err != nil {
		s.log.Error("read rollouts", "err", err)
	}
	for _, st := range sts {
		s.rollouts[st.Group] = &rolloutRun{status: st, step: rollout.Step{Started: time.Now()}}
	}
}

func (s *Supervisor) saveRollouts() {
	if s.gone {
		return
	}
	sts := s.rolloutStatuses()
	slices.SortFunc(sts, func(a, b v1alpha1.RolloutStatus) int { return strings.Compare(a.Group, b.Group) })
	if err := writeJSON(s.dir.Rollouts(), sts, 0o600); err != nil {
		s.log.Error("write rollouts", "err", err)
	}
}

// applyRollouts brings every group's rollout up to the applied spec (rollout.Next) and sets
// each planned node's binary to the one the rollout gives it, so that the reconcile that
// follows restarts exactly the nodes whose binary changes. n is the resolved spec.
func (s *Supervisor) applyRollouts(n *v1alpha1.SubstrateNetwork, p *network.Plan) {
	aborts := s.takeAborts()
	now := time.Now()
	keep := map[string]bool{}
	signing := map[string]bool{}
	for _, g := range n.Spec.Groups {
		signing[g.Name] = network.Signs(g.Role)
	}
	// held: the binary a signing group's nodes keep while its new rollout waits for another
	// signing group's (rollout.Held).
	held := map[string]string{}
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if g.Upgrade == nil {
			continue
		}
		keep[g.Name] = true
		r := s.rollouts[g.Name]
		var prev *v1alpha1.RolloutStatus
		if r != nil {
			prev = &r.status
		}
		steps := rollout.Plan(g.Upgrade.Steps, network.Replicas(g), network.Signs(g.Role))
		next := rollout.Next(prev, g.Name, s.runningBinary(p, g.Name), g.Node.Binary, steps, g.Upgrade.Paused, now)
		if next == nil {
			delete(s.rollouts, g.Name)
			continue
		}
		if prev == nil || prev.To != next.To {
			if by := rollout.Held(g.Name, signing, s.rolloutStatuses()); by != "" && s.runningBinary(p, g.Name) != "" {
				s.log.Info("rollout waits for another signing group's", "group", g.Name, "waits for", by)
				held[g.Name] = s.runningBinary(p, g.Name)
				continue
			}
		}
		if r == nil || !next.StepStarted.Equal(&prev.StepStarted) {
			r = &rolloutRun{step: rollout.Step{Started: now}}
			s.rollouts[g.Name] = r
			s.log.Info("rollout", "group", g.Name, "phase", next.Phase, "step", next.Step, "from", next.From, "to", next.To)
		}
		r.status, r.gates = *next, rollout.GatesOf(g.Upgrade, g.Role)
		if (aborts[g.Name] || aborts[""]) && rollout.Abort(&r.status) {
			done := metav1.NewTime(now)
			r.status.Finished = &done
			s.log.Warn("rollout aborted", "group", g.Name)
		}
	}
	for g := range s.rollouts {
		if !keep[g] {
			delete(s.rollouts, g)
		}
	}
	for i := range p.Nodes {
		np := &p.Nodes[i]
		if b, ok := held[np.Group]; ok {
			np.Binary = b
		} else if r := s.rollouts[np.Group]; r != nil {
			np.Binary = rollout.Version(&r.status, np.Index)
		}
	}
	s.saveRollouts()
}

// rolloutStatuses are the groups' rollouts as they stand.
func (s *Supervisor) rolloutStatuses() []v1alpha1.RolloutStatus {
	out := make([]v1alpha1.RolloutStatus, 0, len(s.rollouts))
	for _, r := range s.rollouts {
		out = append(out, r.status)
	}
	return out
}

// runningBinary is the binary the group's first running node was started with, "" when none
// runs.
func (s *Supervisor) runningBinary(p *network.Plan, group string) string {
	for _, np := range p.Nodes {
		if pr, ok := s.procs[np.Name]; ok && np.Group == group && pr.plan.Binary != "" {
			return pr.plan.Binary
		}
	}
	return ""
}

// takeAborts reads and removes the abort request: group names, "" for every group.
func (s *Supervisor) takeAborts() map[string]bool {
	var groups []string
	if ok, err := readJSON(s.dir.RolloutAbort(), &groups); err != nil || !ok {
		return nil
	}
	_ = os.Remove(s.dir.RolloutAbort())
	out := map[string]bool{}
	for _, g := range groups {
		out[g] = true
	}
	return out
}

// checkRollouts starts an observation of every progressing rollout that has none on its way.
// Nodes are asked over RPC away from the loop; the answer comes back on s.rolloutObs.
func (s *Supervisor) checkRollouts() {
	for group, r := range s.rollouts {
		if r.status.Phase != v1alpha1.RolloutProgressing || r.checking || s.plan == nil {
			continue
		}
		var up, others []NodeInfo
		parachain := ""
		for _, np := range s.plan.Nodes {
			if np.Group == group {
				parachain = np.Parachain
			}
		}
		for _, np := range s.plan.Nodes {
			if np.Parachain != parachain {
				continue
			}
			info := NodeInfo{Name: np.Name, PeerID: np.PeerID, RPC: rpcURL(np), WS: fmt.Sprintf("ws://127.0.0.1:%d", wsPort(np))}
			if pr := s.procs[np.Name]; pr == nil || pr.cmd == nil {
				info.RPCError = "not running"
			}
			if np.Group == group && np.Index < int(r.status.Upgraded) {
				up = append(up, info)
			} else {
				others = append(others, info)
			}
		}
		r.checking = true
		o := rolloutObs{group: group, step: r.status.Step, stepStarted: r.status.StepStarted.Time}
		names := make([]string, len(up))
		for i, n := range up {
			names[i] = n.Name
		}
		gates, promURL := r.gates.Prometheus, r.gates.PrometheusURL
		if promURL == "" && len(gates) > 0 {
			promURL = s.monitorPrometheus()
		}
		go func() {
			o.upgraded, o.others = observe(s.ctx, up), observe(s.ctx, others)
			o.queries = rollout.Evaluate(s.ctx, promURL, gates, names)
			s.rolloutObs <- o
		}()
	}
}

// monitorPrometheus is the address of the Prometheus `onf monitor up` runs for the network
// (its stack.json under <home>/monitoring/<network>, written by internal/monitor, which
// imports this package), "" when no monitoring is attached.
func (s *Supervisor) monitorPrometheus() string {
	var st struct {
		Prometheus struct {
			Listen string `json:"listen"`
		} `json:"prometheus"`
	}
	ok, err := readJSON(filepath.Join(s.home, "monitoring", filepath.Base(string(s.dir)), "stack.json"), &st)
	if err != nil || !ok || st.Prometheus.Listen == "" {
		return ""
	}
	return "http://" + st.Prometheus.Listen
}

// observe asks the running nodes of infos for their chain facts, all at once.
func observe(ctx context.Context, infos []NodeInfo) []rollout.Node {
	var wg sync.WaitGroup
	for i := range infos {
		if infos[i].RPCError == "" {
			wg.Go(func() { askNode(ctx, &infos[i]) })
		}
	}
	wg.Wait()
	out := make([]rollout.Node, len(infos))
	for i, n := range infos {
		out[i] = rollout.Node{Name: n.Name, RPCError: n.RPCError, Best: n.Best, Finalized: n.Finalized, Peers: n.Peers}
	}
	return out
}

// onRolloutObs judges an observation of a rollout's current step: the next step, a rollback,
// or more waiting.
func (s *Supervisor) onRolloutObs(o rolloutObs) {
	r := s.rollouts[o.group]
	if r == nil {
		return
	}
	r.checking = false
	if r.status.Phase != v1alpha1.RolloutProgressing || r.status.Step != o.step || !r.status.StepStarted.Time.Equal(o.stepStarted) {
		return // made before the rollout moved on
	}
	s.judge(r, o.upgraded, o.others, o.queries...)
}

// onRolloutExit fails the step of a rollout whose upgraded node exited.
func (s *Supervisor) onRolloutExit(pr *proc) {
	r := s.rollouts[pr.plan.Group]
	if r == nil || r.status.Phase != v1alpha1.RolloutProgressing || pr.plan.Index >= int(r.status.Upgraded) {
		return
	}
	s.judge(r, []rollout.Node{{Name: pr.plan.Name, Exited: pr.lastExit}}, nil)
}

func (s *Supervisor) judge(r *rolloutRun, upgraded, others []rollout.Node, queries ...rollout.QueryResult) {
	now := time.Now()
	switch v, f := r.step.Check(r.gates, now, upgraded, others, queries...); v {
	case rollout.Pass:
		rollout.Advance(&r.status, now)
		r.step = rollout.Step{Started: now}
		s.log.Info("rollout step passed", "group", r.status.Group, "phase", r.status.Phase, "step", r.status.Step, "upgraded", r.status.Upgraded)
		s.saveRollouts()
		s.reconcile(s.ctx)
	case rollout.Fail:
		s.log.Warn("rollout failed: rolling back", "group", r.status.Group, "gate", f.Gate, "node", f.Node, "value", f.Value)
		rollout.RollBack(&r.status, f)
		s.saveRollouts()
		s.reconcile(s.ctx)
		done := metav1.NewTime(time.Now())
		r.status.Finished = &done
		s.saveRollouts()
	}
}

// RolloutState is `onf rollout status` of a local network: the groups' rollouts, and whether the
// supervisor has applied the latest spec yet.
type RolloutState struct {
	Rollouts []v1alpha1.RolloutStatus
	// Applied: the supervisor has reconciled the spec's generation.
	Applied bool
	// Supervisor is the supervisor's pid, 0 when the network is stopped.
	Supervisor int
}

// Rollouts reads a network's rollouts.
func (r *Runtime) Rollouts(name string) (*RolloutState, error) {
	dir, err := r.Dir(name)
	if err != nil {
		return nil, err
	}
	_, gen, err := readApplied(dir)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	var st Status
	out := &RolloutState{Supervisor: r.supervisorPID(name)}
	if _, err := readJSON(dir.Status(), &st); err != nil {
		return nil, err
	}
	if _, err := readJSON(dir.Rollouts(), &out.Rollouts); err != nil {
		return nil, err
	}
	out.Applied = st.Generation >= gen
	return out, nil
}

// SetRolloutPaused pauses or resumes the rollouts of a group ("" for every group with an
// upgrade) by applying the spec with upgrade.paused set, and returns the generation.
func (r *Runtime) SetRolloutPaused(ctx context.Context, name, group string, paused bool) (int64, error) {
	return r.editGroups(ctx, name, group, func(g *v1alpha1.NodeGroup, _ *v1alpha1.RolloutStatus) {
		g.Upgrade.Paused = paused
	})
}

// UndoRollout applies the spec with each group's binary set back to its last rollout's From:
// after a success the group rolls back to the previous binary (a canary rollout of its own);
// after a rollback or abort the spec agrees again with what runs.
func (r *Runtime) UndoRollout(ctx context.Context, name, group string) (int64, error) {
	return r.editGroups(ctx, name, group, func(g *v1alpha1.NodeGroup, st *v1alpha1.RolloutStatus) {
		if st != nil {
			g.Node.Binary = st.From
		}
	})
}

// editGroups applies the network's spec changed by edit on the group named (every group with an
// upgrade when group is ""), passing each its rollout if it has one.
func (r *Runtime) editGroups(ctx context.Context, name, group string, edit func(*v1alpha1.NodeGroup, *v1alpha1.RolloutStatus)) (int64, error) {
	dir, err := r.Dir(name)
	if err != nil {
		return 0, err
	}
	n, _, err := readApplied(dir)
	if err != nil {
		return 0, fmt.Errorf("network %q: %w", name, err)
	}
	state, err := r.Rollouts(name)
	if err != nil {
		return 0, err
	}
	err = rollout.EachUpgradable(name, &n.Spec, state.Rollouts, group, func(_ int, g *v1alpha1.NodeGroup, st *v1alpha1.RolloutStatus) {
		edit(g, st)
	})
	if err != nil {
		return 0, err
	}
	return r.Apply(ctx, n)
}

// AbortRollout asks the supervisor to roll back the running rollout of a group ("" for every
// group): the upgraded nodes return to the previous binary and nothing more is upgraded until
// the spec changes.
func (r *Runtime) AbortRollout(name, group string) error {
	dir, err := r.Dir(name)
	if err != nil {
		return err
	}
	pid := r.supervisorPID(name)
	if pid == 0 {
		return fmt.Errorf("network %s is not running", name)
	}
	if err := writeJSON(dir.RolloutAbort(), []string{group}, 0o600); err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
