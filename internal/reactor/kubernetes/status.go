package kubernetes

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/reactor"
)

// Wait is how Deploy follows the operator's status of the network.
type Wait struct {
	// Interval between reads of the SubstrateNetwork's status.
	Interval time.Duration
	// DegradedFor is how long the Degraded condition may stay True before the deployment
	// fails: a crash-looping pod or an image pull can heal on its own, and a failed
	// deployment is refunded on chain, so a short blip must not fail it.
	DegradedFor time.Duration
}

// DefaultWait reads the status every 2 s and fails a deployment Degraded for 5 minutes.
func DefaultWait() Wait { return Wait{Interval: 2 * time.Second, DegradedFor: 5 * time.Minute} }

// readiness is what a SubstrateNetwork's status says about its deployment at now: ready
// once the operator reports Ready for the current generation; an error once Degraded has
// been True for at least degradedFor (by its lastTransitionTime), or at once for an
// InvalidSpec, which only a new descriptor could fix; neither while the operator has not
// reported on the current generation or the network is still coming up. A ready network
// is ready even if Degraded is also True (a failing pod of an older revision): it serves.
func readiness(n *v1alpha1.SubstrateNetwork, now time.Time, degradedFor time.Duration) (bool, error) {
	current := func(typ string) *metav1.Condition {
		c := meta.FindStatusCondition(n.Status.Conditions, typ)
		if c == nil || c.ObservedGeneration != n.Generation || c.Status != metav1.ConditionTrue {
			return nil
		}
		return c
	}
	if current(kube.ConditionReady) != nil {
		return true, nil
	}
	d := current(kube.ConditionDegraded)
	if d == nil {
		return false, nil
	}
	if d.Reason != kube.ReasonInvalidSpec && now.Sub(d.LastTransitionTime.Time) < degradedFor {
		return false, nil
	}
	// The operator's reason and message are about the consumer's own pods (a crash loop, an
	// image that does not pull, an invalid spec): public, so that the consumer can fix them.
	return false, &reactor.PublicError{Reason: "network_degraded",
		Message: fmt.Sprintf("network %s degraded since %s (%s): %s", n.Name, d.LastTransitionTime.UTC().Format(time.RFC3339), d.Reason, d.Message)}
}
