package kube

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Annotations `onf keys` puts on a signing node's pod; they hold public keys only and go
// with the pod, as the keys in its keystore do.
const (
	// AnnotationPendingKeys: keys generated and inserted, not yet confirmed on chain.
	AnnotationPendingKeys = "onf.dinfra.dev/pending-session-keys"
	// AnnotationSessionKeys: the keys confirmed in session.nextKeys (a RegisteredKeys in
	// JSON), which the operator reports in status.nodes[].sessionKeys.
	AnnotationSessionKeys = "onf.dinfra.dev/session-keys"
)

// registeredKeys reads a pod's AnnotationSessionKeys; nil when it has none or it is not one.
func registeredKeys(p *corev1.Pod) *v1alpha1.RegisteredKeys {
	v := p.Annotations[AnnotationSessionKeys]
	if v == "" {
		return nil
	}
	var k v1alpha1.RegisteredKeys
	if err := json.Unmarshal([]byte(v), &k); err != nil || k.Keys == "" {
		return nil
	}
	return &k
}
