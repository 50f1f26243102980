package kube

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

func statusNetwork() *v1alpha1.SubstrateNetwork {
	two := int32(2)
	return &v1alpha1.SubstrateNetwork{
		ObjectMeta: metav1.ObjectMeta{Name: "net", Generation: 3},
		Spec: v1alpha1.SubstrateNetworkSpec{Groups: []v1alpha1.NodeGroup{
			{Name: "validator", Role: v1alpha1.RoleValidator, Replicas: &two},
			{Name: "rpc", Role: v1alpha1.RoleRPC},
		}},
	}
}

// sts is a StatefulSet that observed its generation with the given replica counts.
func sts(replicas, ready, updated int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Generation: 5},
		Spec:       appsv1.StatefulSetSpec{Replicas: &replicas},
		Status: appsv1.StatefulSetStatus{
			ObservedGeneration: 5, Replicas: replicas, ReadyReplicas: ready, UpdatedReplicas: updated,
			CurrentRevision: "r1", UpdateRevision: "r1",
		},
	}
}

func TestComputeStatus(t *testing.T) {
	crashing := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "net-rpc-0"}, Status: corev1.PodStatus{
		ContainerStatuses: []corev1.ContainerStatus{{Name: "node", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}},
	}}
	rolling := sts(2, 2, 1)
	rolling.Status.UpdateRevision = "r2"
	unobserved := sts(2, 2, 2)
	unobserved.Generation = 6
	tests := []struct {
		name                          string
		obs                           Observed
		problem                       string
		ready, progressing, degraded  metav1.ConditionStatus
		readyNodes, progressingReason string
		degradedReason                string
	}{
		{"nothing created", Observed{}, "", "False", "True", "False", "0/3", ReasonRollingOut, ReasonAsExpected},
		{"all ready", Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": sts(2, 2, 2), "rpc": sts(1, 1, 1)}}, "", "True", "False", "False", "3/3", ReasonStable, ReasonAsExpected},
		{"starting", Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": sts(2, 1, 2), "rpc": sts(1, 1, 1)}}, "", "False", "True", "False", "2/3", ReasonRollingOut, ReasonAsExpected},
		{"rolling update", Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": rolling, "rpc": sts(1, 1, 1)}}, "", "False", "True", "False", "3/3", ReasonRollingOut, ReasonAsExpected},
		{"update not observed", Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": unobserved, "rpc": sts(1, 1, 1)}}, "", "False", "True", "False", "3/3", ReasonRollingOut, ReasonAsExpected},
		{"update not in cache", Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": sts(2, 2, 2), "rpc": sts(1, 1, 1)}, Pending: map[string]bool{"rpc": true}}, "", "False", "True", "False", "3/3", ReasonRollingOut, ReasonAsExpected},
		{"crashing pod", Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": sts(2, 2, 2), "rpc": sts(1, 0, 1)}, Pods: []corev1.Pod{crashing}}, "", "False", "True", "True", "2/3", ReasonRollingOut, ReasonPodFailing},
		{"invalid spec", Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": sts(2, 2, 2), "rpc": sts(1, 1, 1)}}, "spec.groups[0].node.image: required", "False", "False", "True", "3/3", ReasonStable, ReasonInvalidSpec},
	}
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := statusNetwork()
			st := ComputeStatus(n, tc.obs, ReasonInvalidSpec, tc.problem, now)
			check := func(typ string, want metav1.ConditionStatus, reason string) {
				t.Helper()
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil || c.Status != want || (reason != "" && c.Reason != reason) {
					t.Errorf("%s = %+v, want %s %s", typ, c, want, reason)
				}
			}
			check(ConditionReady, tc.ready, "")
			check(ConditionProgressing, tc.progressing, tc.progressingReason)
			check(ConditionDegraded, tc.degraded, tc.degradedReason)
			if st.ReadyNodes != tc.readyNodes {
				t.Errorf("readyNodes = %s, want %s", st.ReadyNodes, tc.readyNodes)
			}
			if st.ObservedGeneration != 3 {
				t.Errorf("observedGeneration = %d", st.ObservedGeneration)
			}
		})
	}
}

// TestComputeStatusStable: the same observation an hour later gives the same status, so a
// resync writes nothing.
func TestComputeStatusStable(t *testing.T) {
	n := statusNetwork()
	obs := Observed{StatefulSets: map[string]*appsv1.StatefulSet{"validator": sts(2, 2, 2), "rpc": sts(1, 1, 1)}}
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n.Status = ComputeStatus(n, obs, "", "", t0)
	again := ComputeStatus(n, obs, "", "", metav1.NewTime(t0.Add(time.Hour)))
	for i, c := range again.Conditions {
		if !c.LastTransitionTime.Equal(&n.Status.Conditions[i].LastTransitionTime) {
			t.Errorf("%s moved its transition time without a change", c.Type)
		}
	}
}

// A node that crashes once is restarted by the kubelet and is not a failure; a second crash
// is. An init step fails on its first non-zero exit.
func TestFailingPodsToleratesOneNodeCrash(t *testing.T) {
	exited := func(restarts int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "node", RestartCount: restarts,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}}
	}
	pod := func(init, app []corev1.ContainerStatus) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "net-rpc-1"},
			Status: corev1.PodStatus{InitContainerStatuses: init, ContainerStatuses: app}}
	}
	restoreFailed := corev1.ContainerStatus{Name: "restore",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	for _, tc := range []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{"first crash", pod(nil, []corev1.ContainerStatus{exited(0)}), ""},
		{"crashed again after a restart", pod(nil, []corev1.ContainerStatus{exited(1)}), "pod net-rpc-1 container node exited with code 2"},
		{"init step failed", pod([]corev1.ContainerStatus{restoreFailed}, nil), "pod net-rpc-1 container restore exited with code 1"},
	} {
		got := failingPods([]corev1.Pod{tc.pod})
		if (tc.want == "" && len(got) != 0) || (tc.want != "" && (len(got) != 1 || got[0] != tc.want)) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
