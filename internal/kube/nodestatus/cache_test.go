package nodestatus

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/rpc"
)

func pod(name, ip string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "chains", Labels: map[string]string{
			kube.LabelNetwork: "relay", kube.LabelManagedBy: kube.ManagedBy, kube.LabelGroup: "rpc",
		}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "node", Ports: []corev1.ContainerPort{{Name: kube.PortRPC, ContainerPort: 9944}}}}},
		Status: corev1.PodStatus{Phase: phase, PodIP: ip},
	}
}

func TestCachePolls(t *testing.T) {
	reader := fake.NewClientBuilder().WithObjects(
		pod("relay-rpc-0", "10.0.0.1", corev1.PodRunning),
		pod("relay-rpc-1", "10.0.0.2", corev1.PodRunning), // unreachable
		pod("relay-rpc-2", "", corev1.PodPending),         // not polled
	).Build()
	best := rpc.BlockNumber(7)
	var polled []string
	c := &Cache{Reader: reader, Probe: func(_ context.Context, endpoint string) (*rpc.Status, error) {
		polled = append(polled, endpoint)
		if endpoint != "http://10.0.0.1:9944" {
			return nil, errors.New("connection refused")
		}
		return &rpc.Status{Version: "1.0", PeerID: "12D3", Best: best, Finalized: best - 2, Health: rpc.Health{Peers: 3}}, nil
	}, Parallel: 1}
	relay := types.NamespacedName{Namespace: "chains", Name: "relay"}

	c.pollAll(context.Background())
	got := c.Nodes(relay)
	if len(polled) != 2 {
		t.Errorf("polled %v, want the two running pods", polled)
	}
	if n := got["relay-rpc-0"]; n.Best != 7 || n.Finalized != 5 || n.Peers != 3 || n.Version != "1.0" {
		t.Errorf("relay-rpc-0 = %+v", n)
	}
	if n, ok := got["relay-rpc-1"]; !ok || n.Best != 0 {
		t.Errorf("unreachable node = %+v, %v; want present with no facts", n, ok)
	}
	expectEvent(t, c, true)

	c.pollAll(context.Background()) // nothing changed: no event
	expectEvent(t, c, false)

	best = 8
	c.pollAll(context.Background())
	expectEvent(t, c, true)
}

func expectEvent(t *testing.T, c *Cache, want bool) {
	t.Helper()
	select {
	case e := <-c.Events():
		if !want {
			t.Errorf("unexpected event for %s", e.Object.GetName())
		} else if e.Object.GetName() != "relay" || e.Object.GetNamespace() != "chains" {
			t.Errorf("event for %s/%s", e.Object.GetNamespace(), e.Object.GetName())
		}
	default: // pollAll sends its events before it returns
		if want {
			t.Error("no event after the facts changed")
		}
	}
}
