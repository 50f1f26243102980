package operator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/rollout"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
)

var rolloutSpec = polkadotNetwork("canary", "chains", "example.org/polkadot:v1", `
  groups:
    - name: validator
      role: validator
      replicas: 2
      keys:
        dev: ["//Alice", "//Bob"]
    - name: rpc
      role: rpc
      replicas: 4
      upgrade:
        steps: [1, "50%", "100%"]
        bake: 2s
        stepTimeout: 12s
`)

// fakeNodeStatus is the fake node-status source of the kwok rollout test: kwok's pods run no
// node, so the operator's node-status cache reads each pod's facts from here instead of its
// RPC port. A pod's facts follow its image's tag: "never-imports" answers RPC but stays at
// block 0 without peers; every other tag follows a chain that grows a block a second.
type fakeNodeStatus struct{ start time.Time }

// endpoint names the pod and its image instead of a URL; probe reads it back.
func (f *fakeNodeStatus) endpoint(p *corev1.Pod) string {
	return "fake://" + p.Name + "/" + p.Spec.Containers[0].Image
}

func (f *fakeNodeStatus) probe(_ context.Context, endpoint string) (*rpc.Status, error) {
	pod, image, _ := strings.Cut(strings.TrimPrefix(endpoint, "fake://"), "/")
	best := rpc.BlockNumber(10 + time.Since(f.start)/time.Second)
	s := &rpc.Status{PeerID: "12D3Koo-fake-" + pod, Version: image, Best: best, Finalized: best - 2, Health: rpc.Health{Peers: 3}}
	if strings.HasSuffix(image, ":never-imports") {
		s.Best, s.Finalized, s.Health.Peers = 0, 0, 0
	}
	return s, nil
}

// TestCanaryRolloutOnKubernetes drives canary rollouts of the rpc group's image through the
// operator on a real control plane (StatefulSet controller included) with kwok pods and the
// fake node-status source: a good image steps the StatefulSet's partition 3, 2, 0 and
// succeeds; an image whose node never imports is rolled back at the first step, with the gate
// and its value in status and events, while the other pods are never replaced; a container in
// a crash loop fails the step at once; a paused rollout holds, and an abort request rolls
// back.
func TestCanaryRolloutOnKubernetes(t *testing.T) {
	cluster, cl, n := startWithFakeNodes(t, rolloutSpec)
	onf := buildOnf(t)
	kc := "--kubeconfig=" + cluster.Kubeconfig
	ctx := context.Background()
	key := client.ObjectKeyFromObject(n)
	stsKey := types.NamespacedName{Namespace: "chains", Name: "canary-rpc"}
	waitCondition(t, cl, key, "Ready", metav1.ConditionTrue, "", 2*time.Minute)

	// The partitions the StatefulSet goes through, watched from the side.
	watch := watchPartitions(t, cl, stsKey)
	setImage(t, cl, key, "example.org/polkadot:v2")
	st := waitRollout(t, cl, key, v1alpha1.RolloutSucceeded, 90*time.Second)
	if got := watch.stop(); !slices.Equal(got, []int32{0, 3, 2, 0}) {
		t.Errorf("partitions %v, want 0 (before), 3, 2, 0", got)
	}
	if st.From != "example.org/polkadot:v1" || st.To != "example.org/polkadot:v2" || st.Upgraded != 4 || !slices.Equal(st.Steps, []int32{1, 2, 4}) {
		t.Errorf("rollout %+v", st)
	}
	if imgs := podImages(t, cl); !allEqual(imgs, "example.org/polkadot:v2") {
		t.Errorf("after success: %v", imgs)
	}
	wantEvents(t, cl, key, controller.EventRolloutStep, controller.EventRolloutSucceeded)
	// An event for each step that passed: steps 1 and 2 of 3 (the third is the success).
	testenv.Eventually(t, 10*time.Second, "an event per passed step", func() (bool, error) {
		var evs eventsv1.EventList
		if err := cl.List(ctx, &evs, client.InNamespace("chains")); err != nil {
			return false, err
		}
		var passed []string
		for _, e := range evs.Items {
			if e.Reason == controller.EventRolloutStep && strings.Contains(e.Note, "passed its gates") {
				passed = append(passed, e.Note)
			}
		}
		return len(passed) == 2, fmt.Errorf("step events: %q", passed)
	})
	// A CI job's gate: onf rollout status --wait with the cluster flags exits 0 on success.
	if out, err := onf.run(t, nil, "rollout", "status", kc, "-n", "chains", "canary", "--wait", "--timeout", "1m"); err != nil || !strings.Contains(out, "rollout rpc: Succeeded at step 3 of 3") {
		t.Errorf("onf rollout status --wait after success: %v\n%s", err, out)
	}

	// A node that never imports: rolled back at step 1 by a gate, the other pods untouched.
	before := podUIDs(t, cl)
	setImage(t, cl, key, "example.org/polkadot:never-imports")
	st = waitRollout(t, cl, key, v1alpha1.RolloutRolledBack, 60*time.Second)
	if f := st.Failure; f == nil || f.Node != "rpc-3" || f.Gate != "maxBlocksBehind" || !strings.Contains(f.Value, "best 0") || st.Step != 1 {
		t.Errorf("rolled back rollout %+v, failure %+v", st, st.Failure)
	}
	st = waitFinished(t, cl, key)
	after := podUIDs(t, cl)
	for _, pod := range []string{"canary-rpc-0", "canary-rpc-1", "canary-rpc-2"} {
		if before[pod] != after[pod] {
			t.Errorf("%s was replaced during the failed canary", pod)
		}
	}
	if before["canary-rpc-3"] == after["canary-rpc-3"] {
		t.Errorf("canary-rpc-3 never ran the new image")
	}
	if imgs := podImages(t, cl); !allEqual(imgs, "example.org/polkadot:v2") {
		t.Errorf("after rollback: %v", imgs)
	}
	got := waitCondition(t, cl, key, controller.ConditionRollout, metav1.ConditionFalse, string(v1alpha1.RolloutRolledBack), 10*time.Second)
	if c := condition(got, controller.ConditionRollout); !strings.Contains(c.Message, "gate maxBlocksBehind failed on rpc-3") {
		t.Errorf("Rollout condition: %s", c.Message)
	}
	wantEvents(t, cl, key, controller.EventRolloutFailed, controller.EventRolloutRolledBack)
	if out, err := onf.run(t, nil, "rollout", "status", kc, "-n", "chains", "canary"); err == nil || !strings.Contains(out, "gate maxBlocksBehind failed on rpc-3") {
		t.Errorf("onf rollout status after the rollback: want a failure and the gate, got %v\n%s", err, out)
	}
	// The same spec again (a new generation) does not retry the rolled-back image.
	bumpGeneration(t, cl, key)
	// Once the operator has reconciled the new generation (its status says so), the rollout
	// it decided on is what the status shows.
	waitCondition(t, cl, key, controller.ConditionRollout, metav1.ConditionFalse, string(v1alpha1.RolloutRolledBack), 30*time.Second)
	if again := rolloutOf(t, cl, key); again.Phase != v1alpha1.RolloutRolledBack || !again.Started.Equal(&st.Started) {
		t.Errorf("after reapplying: %+v", again)
	}

	// A crash loop fails the step at once, long before the step timeout.
	setImage(t, cl, key, "example.org/polkadot:crashes")
	crashed := time.Now()
	testenv.Eventually(t, 30*time.Second, "canary-rpc-3 runs the crashing image", func() (bool, error) {
		var p corev1.Pod
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: "canary-rpc-3"}, &p); err != nil {
			return false, err
		}
		if p.Spec.Containers[0].Image != "example.org/polkadot:crashes" || p.Status.Phase != corev1.PodRunning {
			return false, nil
		}
		p.Status.ContainerStatuses[0].RestartCount = 1
		p.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}
		return true, cl.Status().Update(ctx, &p)
	})
	st = waitRollout(t, cl, key, v1alpha1.RolloutRolledBack, 30*time.Second)
	if f := st.Failure; f == nil || f.Gate != "running" || f.Node != "rpc-3" || !strings.Contains(f.Value, "exit code 3") || st.To != "example.org/polkadot:crashes" {
		t.Errorf("crash: %+v, failure %+v", st, st.Failure)
	}
	if d := time.Since(crashed); d > 12*time.Second {
		t.Errorf("the crash took %s to roll back: the step timeout, not the running gate", d)
	}
	waitFinished(t, cl, key)

	// Paused (onf rollout pause): step 1 holds past its bake; onf rollout abort rolls it back
	// and undo sets the spec's image back to what runs.
	if _, err := onf.run(t, nil, "rollout", "pause", kc, "-n", "chains", "canary", "--group", "rpc"); err != nil {
		t.Fatal(err)
	}
	setImage(t, cl, key, "example.org/polkadot:v3")
	testenv.Eventually(t, 30*time.Second, "canary-rpc-3 on v3", func() (bool, error) {
		imgs := podImages(t, cl)
		return imgs["canary-rpc-3"] == "example.org/polkadot:v3", fmt.Errorf("%v", imgs)
	})
	time.Sleep(4 * time.Second) // the thing under test: a pause holds step 1 past its 2 s bake
	if st := rolloutOf(t, cl, key); st.Phase != v1alpha1.RolloutPaused || st.Step != 1 || st.Upgraded != 1 {
		t.Errorf("paused: %+v", st)
	}
	if _, err := onf.run(t, nil, "rollout", "abort", kc, "-n", "chains", "canary"); err != nil {
		t.Fatal(err)
	}
	waitRollout(t, cl, key, v1alpha1.RolloutAborted, 30*time.Second)
	waitFinished(t, cl, key)
	if imgs := podImages(t, cl); !allEqual(imgs, "example.org/polkadot:v2") {
		t.Errorf("after abort: %v", imgs)
	}
	wantEvents(t, cl, key, controller.EventRolloutAborted)
	if _, err := onf.run(t, nil, "rollout", "undo", kc, "-n", "chains", "canary", "--group", "rpc"); err != nil {
		t.Fatal(err)
	}
	var live v1alpha1.SubstrateNetwork
	if err := cl.Get(ctx, key, &live); err != nil {
		t.Fatal(err)
	}
	if img := live.Spec.Groups[1].Node.Image; img != "example.org/polkadot:v2" || !live.Spec.Groups[1].Upgrade.Paused {
		t.Errorf("after undo: image %s, paused %t; want v2, still paused", img, live.Spec.Groups[1].Upgrade.Paused)
	}

	// A Prometheus query gate (a real Prometheus scraping itself) above its max: the operator
	// asks it with every check and rolls the canary back at the step timeout, with the value.
	prom := testenv.Prometheus(t)
	patch := client.MergeFrom(live.DeepCopy())
	live.Spec.Groups[1].Node.Image = "example.org/polkadot:v4"
	live.Spec.Groups[1].Upgrade.Paused = false
	live.Spec.Groups[1].Upgrade.Gates = &v1alpha1.UpgradeGates{PrometheusURL: prom,
		Prometheus: []v1alpha1.PrometheusGate{{Query: `max(up{job="self"}) + count(up{instance!~"{{upgraded}}"})`, Max: "1.5"}}}
	if err := cl.Patch(ctx, &live, patch); err != nil {
		t.Fatal(err)
	}
	st = waitRollout(t, cl, key, v1alpha1.RolloutRolledBack, 40*time.Second)
	if f := st.Failure; f == nil || f.Gate != "prometheus" || !strings.HasSuffix(f.Value, " = 2") || f.Want != "at most 1.5" || st.Step != 1 {
		t.Errorf("query gate: %+v, failure %+v", st, st.Failure)
	}
	waitFinished(t, cl, key)
}

// startWithFakeNodes starts a kwok cluster and an operator whose node facts come from
// fakeNodeStatus, and creates the network of spec in namespace chains.
func startWithFakeNodes(t *testing.T, spec string) (*kubetest.Cluster, client.Client, *v1alpha1.SubstrateNetwork) {
	t.Helper()
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "chains")
	fake := &fakeNodeStatus{start: time.Now()}
	startOperator(t, cluster, controller.Config{NodeStatusInterval: 500 * time.Millisecond, Endpoint: fake.endpoint, Probe: fake.probe})
	return cluster, cl, createNetwork(t, cl, spec)
}

func setImage(t *testing.T, cl client.Client, key types.NamespacedName, image string) {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	if err := cl.Get(context.Background(), key, &n); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	n.Spec.Groups[1].Node = &v1alpha1.NodeSoftware{Image: image}
	if err := cl.Patch(context.Background(), &n, patch); err != nil {
		t.Fatal(err)
	}
}

// bumpGeneration applies the same spec again under a new generation.
func bumpGeneration(t *testing.T, cl client.Client, key types.NamespacedName) {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	if err := cl.Get(context.Background(), key, &n); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	n.Spec.Groups[1].Upgrade.Bake = "3s"
	if err := cl.Patch(context.Background(), &n, patch); err != nil {
		t.Fatal(err)
	}
}

func rolloutOf(t *testing.T, cl client.Client, key types.NamespacedName) v1alpha1.RolloutStatus {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	if err := cl.Get(context.Background(), key, &n); err != nil {
		t.Fatal(err)
	}
	for _, r := range n.Status.Rollouts {
		if r.Group == "rpc" {
			return r
		}
	}
	return v1alpha1.RolloutStatus{}
}

// waitRollout waits until the rpc group's rollout to the spec's image reaches phase.
func waitRollout(t *testing.T, cl client.Client, key types.NamespacedName, phase v1alpha1.RolloutPhase, timeout time.Duration) v1alpha1.RolloutStatus {
	t.Helper()
	var st v1alpha1.RolloutStatus
	testenv.Eventually(t, timeout, "rollout "+string(phase), func() (bool, error) {
		var n v1alpha1.SubstrateNetwork
		if err := cl.Get(context.Background(), key, &n); err != nil {
			return false, err
		}
		st = rolloutOf(t, cl, key)
		if st.To != n.Spec.Groups[1].Node.Image {
			return false, fmt.Errorf("rollout to %q, want to %q", st.To, n.Spec.Groups[1].Node.Image)
		}
		return st.Phase == phase, fmt.Errorf("%s", rollout.Line(st))
	})
	return st
}

// waitFinished waits until the rollback completed: every pod on the previous image again.
func waitFinished(t *testing.T, cl client.Client, key types.NamespacedName) v1alpha1.RolloutStatus {
	t.Helper()
	var st v1alpha1.RolloutStatus
	testenv.Eventually(t, 60*time.Second, "rollback finished", func() (bool, error) {
		st = rolloutOf(t, cl, key)
		return st.Finished != nil, fmt.Errorf("%s; pods %v", rollout.Line(st), podImages(t, cl))
	})
	return st
}

func podImages(t *testing.T, cl client.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range rpcPods(t, cl) {
		out[p.Name] = p.Spec.Containers[0].Image
	}
	return out
}

func podUIDs(t *testing.T, cl client.Client) map[string]types.UID {
	t.Helper()
	out := map[string]types.UID{}
	for _, p := range rpcPods(t, cl) {
		out[p.Name] = p.UID
	}
	return out
}

func rpcPods(t *testing.T, cl client.Client) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := cl.List(context.Background(), &pods, client.InNamespace("chains"), client.MatchingLabels{kube.LabelGroup: "rpc"}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func allEqual(m map[string]string, v string) bool {
	for _, x := range m {
		if x != v {
			return false
		}
	}
	return len(m) > 0
}

func wantEvents(t *testing.T, cl client.Client, key types.NamespacedName, reasons ...string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, "events "+strings.Join(reasons, ", "), func() (bool, error) {
		var evs eventsv1.EventList
		if err := cl.List(context.Background(), &evs, client.InNamespace(key.Namespace)); err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, e := range evs.Items {
			if e.Regarding.Name == key.Name && e.Regarding.Kind == "SubstrateNetwork" {
				seen[e.Reason] = true
			}
		}
		for _, r := range reasons {
			if !seen[r] {
				return false, errors.New("no event " + r)
			}
		}
		return true, nil
	})
}

// partitionWatch records each distinct partition of a StatefulSet's rolling update.
type partitionWatch struct {
	mu   sync.Mutex
	seen []int32
	stop func() []int32
}

func watchPartitions(t *testing.T, cl client.Client, key types.NamespacedName) *partitionWatch {
	w := &partitionWatch{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var sts appsv1.StatefulSet
			if err := cl.Get(ctx, key, &sts); err == nil {
				p := int32(0)
				if ru := sts.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
					p = *ru.Partition
				}
				w.mu.Lock()
				if len(w.seen) == 0 || w.seen[len(w.seen)-1] != p {
					w.seen = append(w.seen, p)
				}
				w.mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond) // the sampling rate of the partitions recorded
		}
	}()
	w.stop = func() []int32 {
		cancel()
		<-done
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.seen
	}
	t.Cleanup(func() { cancel(); <-done })
	return w
}

var validatorsSpec = polkadotNetwork("signers", "chains", "example.org/polkadot:v1", `
  groups:
    - name: validator-a
      role: validator
      replicas: 2
      keys:
        dev: ["//Alice", "//Bob"]
      upgrade: {bake: 2s, stepTimeout: 20s}
    - name: validator-b
      role: validator
      replicas: 2
      keys:
        dev: ["//Charlie", "//Dave"]
      upgrade: {bake: 2s, stepTimeout: 20s}
`)

// TestValidatorRolloutsOneAtATime changes the image of two validator groups at once: the
// operator moves one validator at a time across both groups (the second group's rollout waits
// while the first progresses), and both succeed. Node facts come from fakeNodeStatus.
func TestValidatorRolloutsOneAtATime(t *testing.T) {
	_, cl, n := startWithFakeNodes(t, validatorsSpec)
	ctx := context.Background()
	key := client.ObjectKeyFromObject(n)
	waitCondition(t, cl, key, "Ready", metav1.ConditionTrue, "", 2*time.Minute)

	var live v1alpha1.SubstrateNetwork
	if err := cl.Get(ctx, key, &live); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(live.DeepCopy())
	live.Spec.Node.Image = "example.org/polkadot:v2"
	if err := cl.Patch(ctx, &live, patch); err != nil {
		t.Fatal(err)
	}
	maxOut, maxProgressing := 0, 0
	testenv.Eventually(t, 2*time.Minute, "both validator groups on v2", func() (bool, error) {
		var got v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &got); err != nil {
			return false, err
		}
		progressing, done := 0, 0
		for _, r := range got.Status.Rollouts {
			switch r.Phase {
			case v1alpha1.RolloutProgressing:
				progressing++
			case v1alpha1.RolloutSucceeded:
				if r.To == "example.org/polkadot:v2" {
					done++
				}
			}
		}
		maxProgressing = max(maxProgressing, progressing)
		// Validators out: pods on v2 not yet Ready, or on their way (terminating).
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace("chains"), client.MatchingLabels{kube.LabelNetwork: "signers"}); err != nil {
			return false, err
		}
		out := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || !isReady(&p) {
				out++
			}
		}
		maxOut = max(maxOut, out)
		return done == 2, fmt.Errorf("rollouts %+v", got.Status.Rollouts)
	})
	if maxProgressing != 1 || maxOut > 1 {
		t.Errorf("at most %d signing rollouts progressed and %d validators were out at once; want 1 and at most 1", maxProgressing, maxOut)
	}
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
