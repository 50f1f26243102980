package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	onfcluster "github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/ha/hatest/blocks"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/testenv"
)

// Lease timing of the ha test, as test/ha's: 2M equals westend-dev's 6 s slot (docs/ha.md).
const (
	haTTL    = 7 * time.Second
	haMargin = 3 * time.Second
)

// promoted is what the agent logs when its node restarts as the authority.
const promoted = "ha: promoting to authority"

// testHA runs an ha validator identity (//Alice, westend-dev's only BABE authority, so two
// signers would show as two blocks of one slot) as its two candidate pods. Their agents reach
// the API server with the pod's projected service account token (the real node's in-cluster
// credentials: the Lease is written by nobody else), exactly one takes the Lease and signs,
// `onf status` names it. Then its pod is deleted (its agent releases the Lease): the other
// candidate takes over once the margin and chain check allow; then the new leader's agent is
// killed (nothing releases the Lease): nobody takes it before it ran out. A collector follows
// every candidate pod's chain throughout: no two blocks by one authority in one slot, no
// equivocation in any node log.
func testHA(t *testing.T, rc *realCluster) {
	testenv.Value(t, "ONF_IMAGE", "run `eval \"$(scripts/images.sh env)\"` after scripts/cluster-host.sh") // the agent's image
	ns := rc.namespace(t, "ha")
	ctx := context.Background()
	net := devNetwork(t, ns, rc.image)
	standbys := int32(1)
	net.Spec.Groups = []v1alpha1.NodeGroup{net.Spec.Groups[0], net.Spec.Groups[1]} // validator, boot
	net.Spec.Groups[0].HA = &v1alpha1.HA{Standbys: &standbys, LeaseTTL: haTTL.String(), SafetyMargin: haMargin.String()}
	e := &env{cluster: rc.cluster, cl: rc.cl, net: net}
	start := time.Now()
	if err := rc.cl.Create(ctx, net); err != nil {
		t.Fatal(err)
	}
	e.waitPods(t, 3, 4*time.Minute)

	c := blocks.New()
	followed := map[string]bool{}
	// follow adds the candidates' addresses: a pod made again may have a new one.
	follow := func() []corev1.Pod {
		var pods corev1.PodList
		if err := rc.cl.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels(kube.Selector("dev", "validator"))); err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if u := podURL(&p); p.Status.PodIP != "" && !followed[u] {
				followed[u] = true
				c.Add(u)
			}
		}
		return pods.Items
	}
	follow()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.Run(runCtx)

	core, err := kubernetes.NewForConfig(rc.cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	lease := kube.HALeaseName("dev", "validator")
	// holder is who holds the Lease and since when (the agents and the test share the host's clock).
	holder := func() (string, time.Time, error) {
		l, err := core.CoordinationV1().Leases(ns).Get(ctx, lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || l.Spec.AcquireTime == nil {
			return "", time.Time{}, err
		}
		return *l.Spec.HolderIdentity, l.Spec.AcquireTime.Time, nil
	}
	c.WaitAuthored(t, start, 3*time.Minute)
	leader, _, err := holder()
	if err != nil || leader == "" {
		t.Fatalf("blocks signed, but the Lease %s has no holder (%v)", lease, err)
	}
	t.Logf("%s holds the Lease and signs, %s after the network was created", leader, time.Since(start).Round(time.Second))
	var standby string
	for _, p := range follow() {
		switch log := e.podLog(t, p.Name); {
		case p.Name == leader && !strings.Contains(log, promoted):
			t.Errorf("%s holds the Lease but never promoted its node:\n%s", p.Name, tailLines(log, 20))
		case p.Name != leader && strings.Contains(log, promoted):
			t.Errorf("%s promoted its node without the Lease:\n%s", p.Name, tailLines(log, 20))
		case p.Name != leader:
			standby = p.Name
		}
	}
	if standby == "" {
		t.Fatalf("no standby candidate beside %s", leader)
	}
	checkHAStatus(t, rc, ns, leader)

	logs := map[string]string{}
	// round runs fault and waits until a candidate (to, or any when to is "") holds the
	// Lease and two blocks are signed after it; it logs the failover gap and returns how
	// long after the fault the Lease was taken.
	round := func(name, from, to string, fault func()) time.Duration {
		t.Helper()
		logs[from+" before "+name] = e.podLog(t, from) // the pod's log goes with it
		at := time.Now()
		fault()
		var (
			h        string
			acquired time.Time
		)
		testenv.Eventually(t, 2*time.Minute, "a candidate holding the Lease and signing after "+name, func() (bool, string) {
			follow()
			var err error
			h, acquired, err = holder()
			n := c.AuthoredAfter(at)
			return h != "" && acquired.After(at) && (to == "" || h == to) && n >= 2,
				fmt.Sprintf("holder %q since %s (%v), %d blocks since %s", h, acquired.Format(time.TimeOnly), err, n, name)
		})
		took := acquired.Sub(at)
		t.Logf("%s: %s -> %s, Lease taken %s after the fault, first new block in a slot starting %s after it, gap %d slots",
			name, from, h, took.Round(100*time.Millisecond), c.FirstAfter(at).Sub(at).Round(100*time.Millisecond), c.GapAround(at))
		return took
	}

	// The leader's pod is deleted (SIGTERM: its agent fences the node and releases the
	// Lease); the standby takes the Lease and signs after the margin and the chain check.
	round("pod deleted", leader, standby, func() {
		if err := rc.cl.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: leader}}); err != nil {
			t.Fatal(err)
		}
	})
	e.waitPods(t, 3, 3*time.Minute) // the deleted pod back, as a keyless standby

	// The new leader's agent is killed (SIGKILL from the host: no release, and its node dies
	// with it, the container's first process): the Lease must run out before anyone takes
	// it, its restarted agent or the other pod's, i.e. stand still for T after its last
	// renewal, which was at most T/3 (and a decision tick) before the kill.
	if took := round("agent killed", standby, "", func() { killAgent(t, standby) }); took < haTTL*2/3-time.Second {
		t.Errorf("the Lease was taken %s after the holder's agent was killed: before it could have expired", took)
	}
	e.waitPods(t, 3, 3*time.Minute)
	follow()
	// Signing goes on beside it, and the collector has walked every chain to blocks signed
	// after the pod came back.
	c.WaitAuthored(t, time.Now(), 2*time.Minute)
	if eq := c.Equivocations(); len(eq) > 0 {
		t.Errorf("equivocations (two blocks by one authority in one slot): %v", eq)
	}
	for _, p := range follow() {
		logs[p.Name] = e.podLog(t, p.Name)
	}
	for name, log := range logs {
		if eq := c.LogEquivocations(t, name, []byte(log)); len(eq) > 0 {
			t.Errorf("node log reports equivocation: %v", eq)
		}
	}
	t.Logf("%d blocks by //Alice seen on the candidates' chains, 0 equivocations", c.Count())
}

// checkHAStatus checks that `onf status` of the cluster network names the Lease holder, its
// expiry and the authority (the holder signs: its blocks were seen), as locally.
func checkHAStatus(t *testing.T, rc *realCluster, ns, leader string) {
	t.Helper()
	cl, err := onfcluster.New(onfcluster.Options{Kubeconfig: rc.cluster.Kubeconfig, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cl.Status(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.HA) != 1 || st.HA[0].Identity != "validator-0" || st.HA[0].Holder != leader || st.HA[0].Expires == "" ||
		st.HA[0].Authority != leader || st.HA[0].Error != "" {
		t.Errorf("status ha: %+v, want validator-0 held and signed by %s with an expiry", st.HA, leader)
	}
}

// killAgent SIGKILLs the ha agent of pod from the host: the process whose command line is
// `onf ha agent` and whose environment names the pod (POD_NAME).
func killAgent(t *testing.T, pod string) {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err1 := os.ReadFile(filepath.Join(d, "cmdline"))
		environ, err2 := os.ReadFile(filepath.Join(d, "environ"))
		if err1 != nil || err2 != nil || !bytes.Contains(cmdline, []byte("\x00ha\x00agent\x00")) ||
			!slices.ContainsFunc(bytes.Split(environ, []byte{0}), func(v []byte) bool { return string(v) == "POD_NAME="+pod }) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill the agent of %s (pid %d): %v", pod, pid, err)
		}
		return
	}
	t.Fatalf("no ha agent process of pod %s", pod)
}
