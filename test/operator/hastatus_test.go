package operator

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/netstatus"
)

// `onf status` of a cluster network shows each ha identity's Lease holder and when the
// Lease runs out unless renewed, read from the Lease as the agents write it (status reads
// the network, its pods and the Leases: no operator is needed), and no holder once released.
func TestHAStatusFromLease(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{CRDPaths: crds()})
	cl := newClient(t, c)
	ctx := context.Background()
	if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "chains"}}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Create(ctx, parseNetwork(t, haNetSpec)); err != nil {
		t.Fatal(err)
	}
	onf, err := cluster.New(cluster.Options{Kubeconfig: c.Kubeconfig, Namespace: "chains"})
	if err != nil {
		t.Fatal(err)
	}
	status := func() netstatus.HAIdentity {
		t.Helper()
		st, err := onf.Status(ctx, "dev")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.HA) != 1 {
			t.Fatalf("status ha: %+v, want the one identity", st.HA)
		}
		return st.HA[0]
	}
	if h := status(); h != (netstatus.HAIdentity{Identity: "validator-0"}) {
		t.Errorf("before any agent ran: %+v, want validator-0 without holder", h)
	}

	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	lease := ha.NewKubeLease(cs.CoordinationV1(), "chains", kube.HALeaseName("dev", "validator"))
	l, err := lease.Acquire(ctx, "dev-validator-1", 9*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	taken := time.Now().Truncate(time.Second) // the expiry is shown in whole seconds
	h := status()
	expires, err := time.Parse(time.RFC3339, h.Expires)
	if h.Holder != "dev-validator-1" || err != nil || h.Error != "" {
		t.Fatalf("held: %+v (%v), want dev-validator-1 with an expiry", h, err)
	}
	if expires.Before(taken.Add(8*time.Second)) || expires.After(time.Now().Add(10*time.Second)) {
		t.Errorf("expires %s, want about 9 s after the Lease was taken at %s", h.Expires, taken.Format(time.RFC3339))
	}
	if h.Authority != "" {
		t.Errorf("held, not promoted yet: authority %q, want none", h.Authority)
	}
	// The agent's renewals say whether its node signs; the status names the authority then.
	l.Signing = true
	if l, err = lease.Renew(ctx, l); err != nil {
		t.Fatal(err)
	}
	if h := status(); h.Authority != "dev-validator-1" {
		t.Errorf("renewed while signing: %+v, want dev-validator-1 as the authority", h)
	}
	l.Signing = false
	if l, err = lease.Renew(ctx, l); err != nil {
		t.Fatal(err)
	}
	if h := status(); h.Authority != "" || h.Holder != "dev-validator-1" {
		t.Errorf("renewed after a fence: %+v, want the holder without authority", h)
	}
	if err := lease.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
	if h := status(); h.Holder != "" || h.Expires != "" {
		t.Errorf("released: %+v, want no holder", h)
	}
}
