package kube

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The keys `onf keys` records on a pod are the node's status.nodes[].sessionKeys; a pod
// without them, or with an annotation that is not one, has none.
func TestStatusReportsRegisteredSessionKeys(t *testing.T) {
	pod := func(name, annotation string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelGroup: "validator", LabelRole: "validator"}}}
		if annotation != "" {
			p.Annotations = map[string]string{AnnotationSessionKeys: annotation}
		}
		return p
	}
	obs := Observed{Pods: []corev1.Pod{
		pod("net-validator-0", `{"validator":"5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY","keys":"0xaa","session":7}`),
		pod("net-validator-1", "not json"),
	}}
	st := ComputeStatus(statusNetwork(), obs, "", "", metav1.NewTime(time.Unix(0, 0)))
	if len(st.Nodes) != 2 {
		t.Fatalf("nodes: %+v", st.Nodes)
	}
	if k := st.Nodes[0].SessionKeys; k == nil || k.Keys != "0xaa" || k.Session != 7 || k.Validator == "" {
		t.Errorf("validator-0 session keys: %+v", k)
	}
	if k := st.Nodes[1].SessionKeys; k != nil {
		t.Errorf("validator-1 has keys from a bad annotation: %+v", k)
	}
}
