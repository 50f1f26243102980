package kube

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// Condition types of a SubstrateNetwork.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
)

// Condition reasons.
const (
	ReasonAllReady      = "AllNodesReady"
	ReasonNotReady      = "NodesNotReady"
	ReasonRollingOut    = "RollingOut"
	ReasonStable        = "Stable"
	ReasonPodFailing    = "PodFailing"
	ReasonInvalidSpec   = "InvalidSpec"
	ReasonAsExpected    = "AsExpected"
	ReasonApplyFailed   = "ApplyFailed"
	maxConditionMessage = 512
)

// failingReasons are container waiting reasons that will not resolve without a change.
var failingReasons = map[string]bool{
	"CrashLoopBackOff": true, "ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// Observed is what the operator sees of a network's workloads.
type Observed struct {
	// StatefulSets by group name; a missing group has not been created yet.
	StatefulSets map[string]*appsv1.StatefulSet
	// Pending groups have a StatefulSet change that the cache does not show yet.
	Pending map[string]bool
	// Pods of the network.
	Pods []corev1.Pod
	// Nodes is chain information gathered over RPC, by pod name.
	Nodes map[string]v1alpha1.NodeStatus
	// Gateway is the RPC gateway's Deployment (nil: not created yet); GatewayPending says the
	// cache does not show its last change yet.
	Gateway        *appsv1.Deployment
	GatewayPending bool
	// GatewayURL is the gateway Service's address (GatewayURL).
	GatewayURL string
}

// ComputeStatus derives a network's status from what is observed. Conditions keep their
// transition times unless their status changes, so the same observation gives the same
// status and writes nothing. problem, if not empty, is a reason the network cannot be
// applied (reason InvalidSpec or ApplyFailed) and makes it Degraded.
func ComputeStatus(n *v1alpha1.SubstrateNetwork, obs Observed, problemReason, problem string, now metav1.Time) v1alpha1.SubstrateNetworkStatus {
	st := v1alpha1.SubstrateNetworkStatus{
		ObservedGeneration: n.Generation,
		Conditions:         append([]metav1.Condition(nil), n.Status.Conditions...),
	}
	var desiredAll, readyAll int32
	var rolling []string
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		desired := int32(network.Replicas(g))
		var ready int32
		sts := obs.StatefulSets[g.Name]
		switch {
		case sts == nil:
			rolling = append(rolling, fmt.Sprintf("group %s: not created", g.Name))
		default:
			if autoscaled(g) && sts.Spec.Replicas != nil {
				desired = *sts.Spec.Replicas
			}
			ready = sts.Status.ReadyReplicas
			msg := rollout(statefulSetRollout(sts), desired)
			if obs.Pending[g.Name] {
				msg = "update not yet observed"
			}
			if msg != "" {
				rolling = append(rolling, fmt.Sprintf("group %s: %s", g.Name, msg))
			}
		}
		st.Groups = append(st.Groups, v1alpha1.GroupStatus{Name: g.Name, Desired: desired, Ready: min(ready, desired)})
		desiredAll += desired
		readyAll += min(ready, desired)
	}
	st.ReadyNodes = fmt.Sprintf("%d/%d", readyAll, desiredAll)
	if gw := n.Spec.Gateway; gw != nil {
		var msg string
		st.Gateway, msg = gatewayStatus(gw, obs)
		if msg != "" {
			rolling = append(rolling, "gateway: "+msg)
		}
	}
	st.Nodes, st.BestBlock, st.FinalizedBlock = nodeStatuses(n, obs)

	failing := failingPods(obs.Pods)
	set := func(typ string, ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		if len(msg) > maxConditionMessage {
			msg = msg[:maxConditionMessage-3] + "..."
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: n.Generation, LastTransitionTime: now,
		})
	}
	switch {
	case problem != "":
		set(ConditionDegraded, true, problemReason, problem)
	case len(failing) > 0:
		set(ConditionDegraded, true, ReasonPodFailing, strings.Join(failing, "; "))
	default:
		set(ConditionDegraded, false, ReasonAsExpected, "")
	}
	if len(rolling) > 0 {
		set(ConditionProgressing, true, ReasonRollingOut, strings.Join(rolling, "; "))
	} else {
		set(ConditionProgressing, false, ReasonStable, "every group runs its current spec")
	}
	if len(rolling) == 0 && problem == "" && readyAll == desiredAll {
		set(ConditionReady, true, ReasonAllReady, fmt.Sprintf("%d/%d nodes ready", readyAll, desiredAll))
	} else {
		set(ConditionReady, false, ReasonNotReady, fmt.Sprintf("%d/%d nodes ready", readyAll, desiredAll))
	}
	return st
}

// gatewayStatus is the gateway's address and pods, and what its rollout still has to do.
func gatewayStatus(gw *v1alpha1.Gateway, obs Observed) (*v1alpha1.GatewayStatus, string) {
	st := &v1alpha1.GatewayStatus{URL: obs.GatewayURL, Desired: ptrOr(gw.Replicas, 1)}
	d := obs.Gateway
	switch {
	case d == nil:
		return st, "not created"
	case obs.GatewayPending:
		return st, "update not yet observed"
	}
	st.Ready = min(d.Status.ReadyReplicas, st.Desired)
	return st, rollout(workloadRollout{
		generation: d.Generation, observed: d.Status.ObservedGeneration,
		replicas: d.Status.Replicas, updated: d.Status.UpdatedReplicas, ready: d.Status.ReadyReplicas,
	}, st.Desired)
}

// workloadRollout is what a StatefulSet's or a Deployment's status says of its rollout.
type workloadRollout struct {
	generation, observed     int64
	replicas, updated, ready int32
	revisionPending          bool // pods of an older revision remain
}

func statefulSetRollout(sts *appsv1.StatefulSet) workloadRollout {
	s := sts.Status
	return workloadRollout{
		generation: sts.Generation, observed: s.ObservedGeneration,
		replicas: s.Replicas, updated: s.UpdatedReplicas, ready: s.ReadyReplicas,
		revisionPending: s.UpdateRevision != "" && s.CurrentRevision != s.UpdateRevision,
	}
}

// rollout says what a workload still has to do to run desired up-to-date, ready replicas.
func rollout(s workloadRollout, desired int32) string {
	switch {
	case s.observed < s.generation:
		return "update not yet observed"
	case s.revisionPending, s.updated < desired:
		return fmt.Sprintf("%d/%d replicas updated", s.updated, desired)
	case s.replicas > desired:
		return fmt.Sprintf("scaling down to %d", desired)
	case s.ready < desired:
		return fmt.Sprintf("%d/%d replicas ready", s.ready, desired)
	}
	return ""
}

// failingPods describes pods that failed or are stuck in a state that needs a change.
func failingPods(pods []corev1.Pod) []string {
	var out []string
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		if p.Status.Phase == corev1.PodFailed {
			out = append(out, fmt.Sprintf("pod %s failed: %s", p.Name, p.Status.Reason))
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			out = append(out, failingContainer(p.Name, cs, true)...)
		}
		for _, cs := range p.Status.ContainerStatuses {
			out = append(out, failingContainer(p.Name, cs, false)...)
		}
	}
	sort.Strings(out)
	return out
}

// failingContainer describes a container that failed, if it did. An init step runs to
// completion, so its first non-zero exit is a failure. A long-running container that exits
// once is restarted by the kubelet at once: only a second exit (a crash loop) is a failure, so
// one crash of a node (gossamer v0.9.0 panics now and then while it syncs) does not turn the
// network degraded and fail the `onf up` or `onf scale` that waits for it.
func failingContainer(pod string, cs corev1.ContainerStatus, init bool) []string {
	switch {
	case cs.State.Waiting != nil && failingReasons[cs.State.Waiting.Reason]:
		return []string{fmt.Sprintf("pod %s container %s: %s", pod, cs.Name, cs.State.Waiting.Reason)}
	case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0 && (init || cs.RestartCount > 0):
		return []string{fmt.Sprintf("pod %s container %s exited with code %d", pod, cs.Name, cs.State.Terminated.ExitCode)}
	}
	return nil
}

// nodeStatuses lists every pod of the network with its chain facts, by name.
func nodeStatuses(n *v1alpha1.SubstrateNetwork, obs Observed) (nodes []v1alpha1.NodeStatus, best, finalized int64) {
	for i := range obs.Pods {
		p := &obs.Pods[i]
		if p.Labels[LabelGroup] == "" {
			continue // a gateway pod
		}
		info := obs.Nodes[p.Name]
		info.Name = p.Name
		info.Group = p.Labels[LabelGroup]
		info.Role = v1alpha1.Role(p.Labels[LabelRole])
		info.Ready = PodReady(p)
		info.SessionKeys = registeredKeys(p)
		nodes = append(nodes, info)
		best, finalized = max(best, info.Best), max(finalized, info.Finalized)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, best, finalized
}

// PodReady reports whether pod p's Ready condition is true.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
