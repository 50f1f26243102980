package rollout

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Next is a group's rollout after the spec was applied again: prev is the rollout so far (nil:
// none), running the version the group's nodes run when there is no rollout ("" when none
// runs yet), to the version the spec asks for, steps the group's Plan. A new version starts a
// new rollout from what the nodes run; the version the nodes already run needs none (nil); the
// same version keeps the rollout where it is, whatever its outcome, so a rolled-back version is
// not tried again until the spec changes. Paused holds a running rollout; unpausing restarts
// its current step's checks.
func Next(prev *v1alpha1.RolloutStatus, group, running, to string, steps []int32, paused bool, now time.Time) *v1alpha1.RolloutStatus {
	t := metav1.NewTime(now)
	if prev == nil || prev.To != to {
		from := running
		if prev != nil {
			from = prev.From
			if prev.Phase == v1alpha1.RolloutSucceeded {
				from = prev.To
			}
		}
		if from == "" || from == to {
			return nil
		}
		st := &v1alpha1.RolloutStatus{Group: group, Phase: v1alpha1.RolloutProgressing, From: from, To: to,
			Steps: steps, Step: 1, Upgraded: steps[0], Started: t, StepStarted: t}
		if paused {
			st.Phase = v1alpha1.RolloutPaused
		}
		return st
	}
	st := prev.DeepCopy()
	if !Running(st.Phase) {
		return st
	}
	// Replicas may have changed: keep the step, at the new count.
	st.Steps = steps
	st.Step = min(st.Step, int32(len(steps)))
	st.Upgraded = steps[st.Step-1]
	switch {
	case paused:
		st.Phase = v1alpha1.RolloutPaused
	case st.Phase == v1alpha1.RolloutPaused:
		st.Phase, st.StepStarted = v1alpha1.RolloutProgressing, t
	}
	return st
}

// Running says whether a rollout in phase p still moves nodes: progressing or paused.
func Running(p v1alpha1.RolloutPhase) bool {
	return p == v1alpha1.RolloutProgressing || p == v1alpha1.RolloutPaused
}

// Version is the version node index of the group runs during the rollout: the first Upgraded
// nodes run To while it runs, every node From after a rollback or abort, To once it succeeded.
func Version(st *v1alpha1.RolloutStatus, index int) string {
	switch {
	case Running(st.Phase) && index < int(st.Upgraded):
		return st.To
	case Running(st.Phase), st.Phase == v1alpha1.RolloutRolledBack, st.Phase == v1alpha1.RolloutAborted:
		return st.From
	}
	return st.To
}

// Advance moves a rollout whose step passed to its next step, or to Succeeded after the last.
func Advance(st *v1alpha1.RolloutStatus, now time.Time) {
	t := metav1.NewTime(now)
	if int(st.Step) >= len(st.Steps) {
		st.Phase, st.Finished = v1alpha1.RolloutSucceeded, &t
		return
	}
	st.Step++
	st.Upgraded, st.StepStarted = st.Steps[st.Step-1], t
}

// RollBack records the failed gate and sends every upgraded node back to From; the caller sets
// Finished once they run it again.
func RollBack(st *v1alpha1.RolloutStatus, f *v1alpha1.RolloutFailure) {
	st.Phase, st.Failure, st.Upgraded = v1alpha1.RolloutRolledBack, f, 0
}

// Abort stops a running rollout by hand and sends the upgraded nodes back to From. It says
// whether there was anything to abort.
func Abort(st *v1alpha1.RolloutStatus) bool {
	if !Running(st.Phase) {
		return false
	}
	st.Phase, st.Upgraded = v1alpha1.RolloutAborted, 0
	return true
}

// AbortAnnotation on a SubstrateNetwork asks the operator to abort rollouts (`onf rollout
// abort`): its value is AbortRequest's, naming the newest start among the rollouts to abort,
// and it aborts only rollouts that started no later, so it needs no removal and never aborts
// a later rollout.
const AbortAnnotation = "onf.dinfra.dev/rollout-abort"

// AbortRequest is the annotation's value asking to abort the group's rollouts ("" every
// group) that started at or before at.
func AbortRequest(group string, at time.Time) string {
	if group == "" {
		group = "*"
	}
	return group + "@" + at.UTC().Format(time.RFC3339Nano)
}

// AbortRequested says whether the annotation's value asks to abort the group's rollout that
// started at started. A value it cannot read asks nothing.
func AbortRequested(value, group string, started time.Time) bool {
	g, at, ok := strings.Cut(value, "@")
	t, err := time.Parse(time.RFC3339Nano, at)
	return ok && err == nil && (g == "*" || g == group) && !t.Before(started.Truncate(time.Second))
}

// Line is one rollout in a sentence, for `onf rollout status`, `onf status` and the
// operator's Rollout condition.
func Line(r v1alpha1.RolloutStatus) string {
	if len(r.Steps) == 0 {
		return fmt.Sprintf("rollout %s: none", r.Group)
	}
	s := fmt.Sprintf("rollout %s: %s at step %d of %d, %d of %d nodes on %s (from %s)", r.Group, r.Phase, r.Step, len(r.Steps),
		r.Upgraded, r.Steps[len(r.Steps)-1], r.To, r.From)
	if f := r.Failure; f != nil {
		s += fmt.Sprintf("; gate %s failed", f.Gate)
		if f.Node != "" {
			s += " on " + f.Node
		}
		s += fmt.Sprintf(": %s (want %s)", f.Value, f.Want)
	}
	return s
}

// Held names the signing group whose rollout keeps a new rollout of signing group group from
// starting, "" when none does: never more than one validator (or collator) of a network is
// out or on trial at once, across groups. signing says which groups sign; rs are the
// network's other rollouts as decided so far.
func Held(group string, signing map[string]bool, rs []v1alpha1.RolloutStatus) string {
	if !signing[group] {
		return ""
	}
	for _, r := range rs {
		if r.Group != group && signing[r.Group] && r.Phase == v1alpha1.RolloutProgressing {
			return r.Group
		}
	}
	return ""
}

// EachUpgradable calls fn for each group of network's spec with an upgrade (the one named, or
// every one when group is ""), with its rollout among rollouts, nil when it has none. It fails
// when no group matches: the same refusal for `onf rollout` locally and in clusters.
func EachUpgradable(network string, spec *v1alpha1.SubstrateNetworkSpec, rollouts []v1alpha1.RolloutStatus, group string, fn func(i int, g *v1alpha1.NodeGroup, st *v1alpha1.RolloutStatus)) error {
	found := false
	for i := range spec.Groups {
		g := &spec.Groups[i]
		if g.Upgrade == nil || group != "" && g.Name != group {
			continue
		}
		found = true
		var st *v1alpha1.RolloutStatus
		for j := range rollouts {
			if rollouts[j].Group == g.Name {
				st = &rollouts[j]
			}
		}
		fn(i, g, st)
	}
	if !found {
		return fmt.Errorf("network %s has no group %q with spec.groups[].upgrade", network, group)
	}
	return nil
}
