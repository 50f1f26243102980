package ha

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/dinfra/stack/internal/ha/hatest"
	"github.com/dinfra/stack/internal/testenv"
)

// startAPIServer starts a real kube-apiserver (envtest) and returns a config that reaches it
// through a proxy the test can cut.
func startAPIServer(t *testing.T) (*rest.Config, *hatest.Proxy) {
	t.Helper()
	testenv.Short(t)
	testenv.Value(t, "KUBEBUILDER_ASSETS", "run `eval \"$(scripts/tools.sh env)\"`")
	logf.SetLogger(logr.Discard())
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	p := hatest.StartProxy(t, u.Host)
	cfg = rest.CopyConfig(cfg)
	cfg.Host = "https://" + p.Addr
	cfg.Timeout = 2 * time.Second
	return cfg, p
}

// Two agents against a real API server whose Lease they share: with the API server
// unreachable the holder fences within TTL - M and nobody signs; after it the other takes
// over no earlier than 2M after the fence.
func TestAgentsAgainstKubeLease(t *testing.T) {
	cfg, proxy := startAPIServer(t)
	cli, err := coordclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	storeDown(t, func() Store { return NewKubeLease(cli, "default", "v-0") }, proxy.Cut, proxy.Restore)
	// The agent that stops releases its Lease in the background.
	testenv.Eventually(t, 5*time.Second, "the Lease released", func() (bool, string) {
		h, err := NewKubeLease(cli, "default", "v-0").Holder(context.Background())
		return err == nil && h.Holder == "", fmt.Sprintf("holder %+v, %v", h, err)
	})
}

// A Lease deleted under its holder: the holder finds it lost at its next renewal and
// fences; a standby that saw it held waits a TTL before creating it again.
func TestKubeLeaseDeleted(t *testing.T) {
	cfg, _ := startAPIServer(t)
	cli, err := coordclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ttl := 2 * time.Second
	a, b := NewKubeLease(cli, "default", "v-1"), NewKubeLease(cli, "default", "v-1")
	la, err := a.Acquire(ctx, "a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "b", ttl); err != ErrHeld {
		t.Fatalf("b took a held lease: %v", err)
	}
	if _, err := a.Renew(ctx, la); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if h, err := b.Holder(ctx); err != nil || h.Holder != "a" || h.Left <= 0 || h.Left > ttl {
		t.Errorf("holder %+v, %v; want a with up to %s left", h, err, ttl)
	}
	if err := cli.Leases("default").Delete(ctx, "v-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	if _, err := a.Renew(ctx, la); err != ErrLost {
		t.Errorf("renewing a deleted lease: %v, want ErrLost", err)
	}
	testenv.Eventually(t, time.Minute, "b takes the deleted lease", func() (bool, error) {
		_, err := b.Acquire(ctx, "b", ttl)
		if err != nil && err != ErrHeld {
			t.Fatal(err)
		}
		return err == nil, err
	})
	if took := time.Since(deleted); took < ttl {
		t.Errorf("b took the deleted lease after %s, want >= TTL %s", took, ttl)
	}
	if _, err := a.Acquire(ctx, "a", ttl); err != ErrHeld {
		t.Errorf("a took b's fresh lease: %v", err)
	}
}

// An agent's renewals publish whether its node signs on the Lease, so that `onf status` of a
// cluster can name the authority: a promotion shows within a renewal, a stop clears it.
func TestKubeLeasePublishesSigning(t *testing.T) {
	cfg, _ := startAPIServer(t)
	cli, err := coordclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var spans []span
	node := &fakeNode{spans: &spans, name: "a"}
	w := &Watch{}
	w.since = time.Now().Add(-time.Hour) // a quiet chain, watched for long
	tm := Timing{TTL: 3 * time.Second, Margin: time.Second}
	a := &Agent{Name: "a", Store: NewKubeLease(cli, "default", "v-2"), Timing: tm, Node: node, Watch: w,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	reader := NewKubeLease(cli, "default", "v-2")
	holding := func() Holding {
		h, err := reader.Holder(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	testenv.Eventually(t, 4*tm.TTL, "the Lease says a signs", func() (bool, string) {
		h := holding()
		return h.Holder == "a" && h.Signing && node.Authority(), fmt.Sprintf("%+v, node authority %v", h, node.Authority())
	})
	cancel()
	<-done
	testenv.Eventually(t, 5*time.Second, "the Lease released, signing no more", func() (bool, string) {
		h := holding()
		return h.Holder == "" && !h.Signing, fmt.Sprintf("%+v", h)
	})
}
