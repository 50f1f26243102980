package kubernetes

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
)

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	cond := func(typ string, status metav1.ConditionStatus, reason string, gen int64, since metav1.Time) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: reason + " message", ObservedGeneration: gen, LastTransitionTime: since}
	}
	const T, F = metav1.ConditionTrue, metav1.ConditionFalse
	tests := []struct {
		name      string
		conds     []metav1.Condition
		wantReady bool
		wantErr   string
	}{
		{"no status yet", nil, false, ""},
		{"nodes not ready", []metav1.Condition{
			cond(kube.ConditionReady, F, kube.ReasonNotReady, 2, ago(time.Hour)),
			cond(kube.ConditionDegraded, F, kube.ReasonAsExpected, 2, ago(time.Hour)),
		}, false, ""},
		{"ready", []metav1.Condition{cond(kube.ConditionReady, T, kube.ReasonAllReady, 2, ago(time.Second))}, true, ""},
		{"ready for an older generation", []metav1.Condition{cond(kube.ConditionReady, T, kube.ReasonAllReady, 1, ago(time.Hour))}, false, ""},
		{"ready and degraded: it serves", []metav1.Condition{
			cond(kube.ConditionReady, T, kube.ReasonAllReady, 2, ago(time.Second)),
			cond(kube.ConditionDegraded, T, kube.ReasonPodFailing, 2, ago(time.Hour)),
		}, true, ""},
		{"degraded for less than the grace", []metav1.Condition{
			cond(kube.ConditionReady, F, kube.ReasonNotReady, 2, ago(time.Hour)),
			cond(kube.ConditionDegraded, T, kube.ReasonPodFailing, 2, ago(4*time.Minute)),
		}, false, ""},
		{"degraded for the grace", []metav1.Condition{
			cond(kube.ConditionReady, F, kube.ReasonNotReady, 2, ago(time.Hour)),
			cond(kube.ConditionDegraded, T, kube.ReasonPodFailing, 2, ago(5*time.Minute)),
		}, false, "network dev degraded since 2026-11-21T11:55:00Z (PodFailing): PodFailing message"},
		{"degraded long ago, for an older generation", []metav1.Condition{
			cond(kube.ConditionDegraded, T, kube.ReasonPodFailing, 1, ago(time.Hour)),
		}, false, ""},
		{"invalid spec fails at once", []metav1.Condition{
			cond(kube.ConditionDegraded, T, kube.ReasonInvalidSpec, 2, ago(0)),
		}, false, "(InvalidSpec): InvalidSpec message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &v1alpha1.SubstrateNetwork{}
			n.Name, n.Generation = "dev", 2
			n.Status.Conditions = tc.conds
			ready, err := readiness(n, now, 5*time.Minute)
			if ready != tc.wantReady {
				t.Errorf("ready = %v, want %v", ready, tc.wantReady)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected failure: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("failure %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
