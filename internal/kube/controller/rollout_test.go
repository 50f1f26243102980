package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// An upgraded pod fails the running gate on a restart, a failed exit or a container that
// cannot start; a pod still starting does not.
func TestExited(t *testing.T) {
	status := func(cs ...corev1.ContainerStatus) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: cs}}
	}
	for _, c := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{status(corev1.ContainerStatus{Name: "node", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}), ""},
		{status(corev1.ContainerStatus{Name: "node", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}), ""},
		{status(corev1.ContainerStatus{Name: "node", RestartCount: 2,
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}}), "restarted 2 times, last exit code 3"},
		{status(corev1.ContainerStatus{Name: "node", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}), "exited with code 1"},
		{status(corev1.ContainerStatus{Name: "node", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}), "ImagePullBackOff"},
		{&corev1.Pod{Status: corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: "init",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}}, "container init: CrashLoopBackOff"},
	} {
		got := exited(c.pod)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("exited = %q, want %q", got, c.want)
		}
	}
}
