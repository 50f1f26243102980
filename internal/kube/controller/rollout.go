package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/rollout"
)

// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// rolloutCheckEvery is how often a progressing rollout's step is judged again.
const rolloutCheckEvery = 2 * time.Second

// Event reasons of canary rollouts, on the SubstrateNetwork.
const (
	EventRolloutStep       = "RolloutStep"
	EventRolloutSucceeded  = "RolloutSucceeded"
	EventRolloutFailed     = "RolloutFailed"
	EventRolloutAborted    = "RolloutAborted"
	EventRolloutRolledBack = "RolloutRolledBack"
	// ConditionRollout summarises the groups' canary rollouts.
	ConditionRollout = "Rollout"
)

// stepKey names one group's rollout step in the operator's memory.
type stepKey struct {
	network types.NamespacedName
	group   string
}

// stepRun is the progress of the checks of a step that started at started. It lives in memory
// only: an operator that restarts checks the step again from the start.
type stepRun struct {
	started metav1.Time
	step    rollout.Step
}

type stepRuns struct {
	mu    sync.Mutex
	steps map[stepKey]*stepRun
}

// of is the step run of the rollout st, new when its step is not the one remembered.
func (s *stepRuns) of(k stepKey, st *v1alpha1.RolloutStatus, now time.Time) *stepRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.steps == nil {
		s.steps = map[stepKey]*stepRun{}
	}
	run := s.steps[k]
	if run == nil || !run.started.Equal(&st.StepStarted) {
		run = &stepRun{started: st.StepStarted, step: rollout.Step{Started: now}}
		s.steps[k] = run
	}
	return run
}

// groupRollout is what the rollout of one group makes of its StatefulSet.
type groupRollout struct {
	image     string
	partition int32
}

// rolloutPlan is what a reconcile decided of the network's rollouts.
type rolloutPlan struct {
	statuses []v1alpha1.RolloutStatus
	sets     map[string]groupRollout
	// held: a signing group's new rollout waits for another's to end.
	held bool
}

// again says whether the network must be reconciled again soon, whatever changes: gates are
// judged on a clock (bake, step timeout), a rollback is watched until it completed, and a
// held rollout starts once the one it waits for ended.
func (p rolloutPlan) again() bool {
	for _, st := range p.statuses {
		if st.Phase == v1alpha1.RolloutProgressing || st.Finished == nil && st.Phase != v1alpha1.RolloutPaused && st.Phase != v1alpha1.RolloutSucceeded {
			return true
		}
	}
	return p.held
}

// rollouts brings every upgrade group's rollout up to the spec (rollout.Next), aborts what
// `onf rollout abort` asked to, judges each progressing step on what the pods and the node
// status cache show, and returns the rollouts for the status, plus, per group, the image and
// partition its StatefulSet gets. live is the stored network, n its defaulted copy.
func (r *Reconciler) rollouts(ctx context.Context, live, n *v1alpha1.SubstrateNetwork) (rolloutPlan, error) {
	now := time.Now()
	var out []v1alpha1.RolloutStatus
	sets := map[string]groupRollout{}
	held := false
	var pods *corev1.PodList
	// The rollouts decided so far, the stored ones for the groups still to come: a signing
	// group's new rollout waits for another's (rollout.Held).
	decided := map[string]v1alpha1.RolloutStatus{}
	signing := map[string]bool{}
	for _, r := range live.Status.Rollouts {
		decided[r.Group] = r
	}
	for _, g := range n.Spec.Groups {
		signing[g.Name] = network.Signs(g.Role)
	}
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if g.Upgrade == nil {
			continue
		}
		var prev *v1alpha1.RolloutStatus
		for j := range live.Status.Rollouts {
			if live.Status.Rollouts[j].Group == g.Name {
				prev = &live.Status.Rollouts[j]
			}
		}
		var sts appsv1.StatefulSet
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: kube.GroupName(n.Name, g.Name)}, &sts)
		switch {
		case apierrors.IsNotFound(err):
			sts = appsv1.StatefulSet{}
		case err != nil:
			return rolloutPlan{}, fmt.Errorf("read statefulset of group %s: %w", g.Name, err)
		}
		replicas := network.Replicas(g)
		if sts.Spec.Replicas != nil && g.Autoscaling != nil {
			replicas = int(*sts.Spec.Replicas)
		}
		steps := rollout.Plan(g.Upgrade.Steps, replicas, network.Signs(g.Role))
		st := rollout.Next(prev, g.Name, templateImage(&sts), network.Software(&n.Spec, g).Image, steps, g.Upgrade.Paused, now)
		if st == nil {
			delete(decided, g.Name)
			continue
		}
		if prev == nil || prev.To != st.To {
			if by := rollout.Held(g.Name, signing, slices.Collect(maps.Values(decided))); by != "" {
				// Keep every node on what it runs until group by's rollout is over.
				r.log().Info("rollout waits for another signing group's", "network", client.ObjectKeyFromObject(n), "group", g.Name, "waits for", by)
				sets[g.Name], held = groupRollout{image: templateImage(&sts)}, true
				if prev != nil {
					out = append(out, *prev)
				}
				continue
			}
		}
		seconds(st)
		if prev == nil || !st.StepStarted.Equal(&prev.StepStarted) || st.Phase != prev.Phase {
			r.event(live, corev1.EventTypeNormal, EventRolloutStep, "group %s: %s step %d of %d, %d of %d nodes on %s (from %s)",
				g.Name, st.Phase, st.Step, len(st.Steps), st.Upgraded, replicas, st.To, st.From)
		}
		if rollout.AbortRequested(live.Annotations[rollout.AbortAnnotation], g.Name, st.Started.Time) && rollout.Abort(st) {
			r.event(live, corev1.EventTypeWarning, EventRolloutAborted, "group %s: aborted by request, %d nodes back to %s", g.Name, replicas, st.From)
		}
		if st.Phase == v1alpha1.RolloutProgressing && sts.Name != "" {
			if pods == nil {
				pods = &corev1.PodList{}
				if err := r.Client.List(ctx, pods, client.InNamespace(n.Namespace), client.MatchingLabels{kube.LabelNetwork: n.Name, kube.LabelManagedBy: kube.ManagedBy}); err != nil {
					return rolloutPlan{}, fmt.Errorf("list pods: %w", err)
				}
			}
			r.judge(ctx, live, n, g, st, &sts, pods.Items, replicas, now)
		}
		if !rollout.Running(st.Phase) && st.Phase != v1alpha1.RolloutSucceeded && st.Finished == nil && rolledBack(&sts, st.From) {
			t := metav1.NewTime(now)
			st.Finished = &t
			r.event(live, corev1.EventTypeNormal, EventRolloutRolledBack, "group %s: every node runs %s again", g.Name, st.From)
		}
		set := groupRollout{image: st.To}
		switch {
		case rollout.Running(st.Phase):
			set.partition = int32(replicas) - st.Upgraded
		case st.Phase != v1alpha1.RolloutSucceeded:
			set.image = st.From
		}
		sets[g.Name] = set
		seconds(st)
		decided[g.Name] = *st
		out = append(out, *st)
	}
	return rolloutPlan{statuses: out, sets: sets, held: held}, nil
}

// hasRollouts says whether the network has a group with an upgrade, or a rollout in status.
func hasRollouts(n *v1alpha1.SubstrateNetwork) bool {
	for i := range n.Spec.Groups {
		if n.Spec.Groups[i].Upgrade != nil {
			return true
		}
	}
	return len(n.Status.Rollouts) > 0
}

// judge checks a progressing rollout's current step and moves it on: the next step, a
// rollback, or nothing yet. In a StatefulSet the partition keeps the lowest ordinals on the
// current revision, so the upgraded nodes are the highest ordinals. The Prometheus query gates
// go to the spec's prometheusURL, with the upgraded pods' names for `{{upgraded}}`.
func (r *Reconciler) judge(ctx context.Context, live, n *v1alpha1.SubstrateNetwork, g *v1alpha1.NodeGroup, st *v1alpha1.RolloutStatus, sts *appsv1.StatefulSet, pods []corev1.Pod, replicas int, now time.Time) {
	key := client.ObjectKeyFromObject(n)
	partition := replicas - int(st.Upgraded)
	// The StatefulSet controller has seen the step's template and partition: its update
	// revision is the new version's.
	seen := sts.Status.ObservedGeneration >= sts.Generation && templateImage(sts) == st.To &&
		sts.Spec.UpdateStrategy.RollingUpdate != nil && ptrOr(sts.Spec.UpdateStrategy.RollingUpdate.Partition, 0) == int32(partition)
	var facts map[string]v1alpha1.NodeStatus
	if r.Nodes != nil {
		facts = r.Nodes.Nodes(key)
	}
	var upgraded, others []rollout.Node
	var upgradedPods []string
	for i := range pods {
		p := &pods[i]
		og := network.FindGroup(&n.Spec, p.Labels[kube.LabelGroup])
		if og == nil || og.Parachain != g.Parachain || p.DeletionTimestamp != nil {
			continue
		}
		index, err := strconv.Atoi(p.Labels[appsv1.PodIndexLabel])
		if err != nil {
			continue
		}
		node := rollout.Node{Name: og.Name + "-" + strconv.Itoa(index)}
		f, polled := facts[p.Name], r.Nodes != nil && r.Nodes.PolledUID(key, p.Name) == p.UID
		switch {
		case r.Nodes == nil:
			node.RPCError = "no node facts: the operator polls no node status"
		case !polled || f.PeerID == "":
			node.RPCError = "no RPC answer"
		default:
			node.Best, node.Finalized, node.Peers = uint64(max(f.Best, 0)), uint64(max(f.Finalized, 0)), int(f.Peers)
		}
		if og.Name != g.Name || index < partition {
			others = append(others, node)
			continue
		}
		if !seen || p.Labels[appsv1.ControllerRevisionHashLabelKey] != sts.Status.UpdateRevision {
			node.RPCError = "not yet restarted on " + st.To
		} else {
			node.Exited = exited(p)
		}
		upgraded, upgradedPods = append(upgraded, node), append(upgradedPods, p.Name)
	}
	// A node of the step without a live pod (being replaced, not yet made) is judged too, as
	// not answering: otherwise a step whose pods are all in between would pass on no evidence.
	for index := partition; index < replicas; index++ {
		name := g.Name + "-" + strconv.Itoa(index)
		if !slices.ContainsFunc(upgraded, func(u rollout.Node) bool { return u.Name == name }) {
			upgraded = append(upgraded, rollout.Node{Name: name, RPCError: "no pod on " + st.To + " yet"})
		}
	}
	run := r.steps.of(stepKey{key, g.Name}, st, now)
	gates := rollout.GatesOf(g.Upgrade, g.Role)
	queries := rollout.Evaluate(ctx, gates.PrometheusURL, gates.Prometheus, upgradedPods)
	switch v, f := run.step.Check(gates, now, upgraded, others, queries...); v {
	case rollout.Pass:
		rollout.Advance(st, now)
		if st.Phase == v1alpha1.RolloutSucceeded {
			r.event(live, corev1.EventTypeNormal, EventRolloutSucceeded, "group %s: every node runs %s", g.Name, st.To)
		} else {
			r.event(live, corev1.EventTypeNormal, EventRolloutStep, "group %s: step %d of %d passed its gates, %d of %d nodes on %s next",
				g.Name, st.Step-1, len(st.Steps), st.Upgraded, replicas, st.To)
		}
	case rollout.Fail:
		rollout.RollBack(st, f)
		r.event(live, corev1.EventTypeWarning, EventRolloutFailed, "group %s: gate %s failed on %s: %s (want %s); rolling back to %s",
			g.Name, f.Gate, f.Node, f.Value, f.Want, st.From)
	}
}

// exited says why a pod's containers stopped or cannot start since it was made, "" while
// they run: an upgraded node in a crash loop fails its step at once.
func exited(p *corev1.Pod) string {
	statuses := append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, c := range statuses {
		if t := c.LastTerminationState.Terminated; c.RestartCount > 0 && t != nil {
			return fmt.Sprintf("container %s restarted %d times, last exit code %d (%s)", c.Name, c.RestartCount, t.ExitCode, t.Reason)
		}
		if t := c.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("container %s exited with code %d (%s)", c.Name, t.ExitCode, t.Reason)
		}
		if w := c.State.Waiting; w != nil {
			switch w.Reason {
			case "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return fmt.Sprintf("container %s: %s", c.Name, w.Reason)
			}
		}
	}
	return ""
}

// seconds drops what the API server does not store of a rollout's times, so that the status
// read back is the status written and a step keeps its identity (stepRuns).
func seconds(st *v1alpha1.RolloutStatus) {
	for _, t := range []*metav1.Time{&st.Started, &st.StepStarted, st.Finished} {
		if t != nil {
			*t = t.Rfc3339Copy()
		}
	}
	if st.Failure != nil {
		st.Failure.At = st.Failure.At.Rfc3339Copy()
	}
}

// rolloutCondition sets the Rollout condition from the groups' rollouts, or removes it when
// there are none.
func rolloutCondition(st *v1alpha1.SubstrateNetworkStatus, rs []v1alpha1.RolloutStatus, generation int64, now metav1.Time) {
	if len(rs) == 0 {
		meta.RemoveStatusCondition(&st.Conditions, ConditionRollout)
		return
	}
	status, reason := metav1.ConditionFalse, string(v1alpha1.RolloutSucceeded)
	var lines []string
	for _, r := range rs {
		lines = append(lines, rollout.Line(r))
		switch {
		case r.Phase == v1alpha1.RolloutProgressing:
			status, reason = metav1.ConditionTrue, string(r.Phase)
		case status == metav1.ConditionTrue:
		case r.Phase == v1alpha1.RolloutPaused:
			status, reason = metav1.ConditionTrue, string(r.Phase)
		case r.Phase != v1alpha1.RolloutSucceeded:
			reason = string(r.Phase)
		}
	}
	msg := strings.Join(lines, "; ")
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ConditionRollout, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: generation, LastTransitionTime: now})
}

// templateImage is the node image of a StatefulSet's pod template, "" when there is none.
func templateImage(sts *appsv1.StatefulSet) string {
	if cs := sts.Spec.Template.Spec.Containers; len(cs) > 0 {
		return cs[0].Image
	}
	return ""
}

// rolledBack says whether every pod of the StatefulSet runs its template again, and that
// template's image is from.
func rolledBack(sts *appsv1.StatefulSet, from string) bool {
	s := sts.Status
	return templateImage(sts) == from && s.ObservedGeneration >= sts.Generation && s.CurrentRevision == s.UpdateRevision &&
		s.UpdatedReplicas == s.Replicas && s.ReadyReplicas == s.Replicas
}

// rolloutObjects gives each upgrade group's desired StatefulSet the partition of its rollout.
// The image is the rollout's already: rollouts set it on the spec copy the objects are built
// from, so a rollback restores the previous pod template whole (image and init container).
func rolloutObjects(n *v1alpha1.SubstrateNetwork, objs []client.Object, sets map[string]groupRollout) {
	for _, o := range objs {
		sts, ok := o.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		for g, set := range sets {
			if sts.Name == kube.GroupName(n.Name, g) && set.partition > 0 && sts.Spec.UpdateStrategy.RollingUpdate != nil {
				sts.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(set.partition)
			}
		}
	}
}

// useRolloutImages sets each upgrade group's image on the spec copy n to its rollout's.
func useRolloutImages(n *v1alpha1.SubstrateNetwork, sets map[string]groupRollout) {
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if set, ok := sets[g.Name]; ok {
			if g.Node == nil {
				g.Node = &v1alpha1.NodeSoftware{}
			}
			g.Node.Image = set.image
		}
	}
}

func (r *Reconciler) event(n *v1alpha1.SubstrateNetwork, typ, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.log().Info("rollout", "network", client.ObjectKeyFromObject(n), "reason", reason, "message", msg)
	if r.Events != nil {
		r.Events.Eventf(n, nil, typ, reason, "Rollout", "%s", msg)
	}
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
