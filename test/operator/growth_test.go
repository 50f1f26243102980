package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

const gib = int64(1) << 30

// fakeKubelet serves the kubelet's stats summary at the API server's node proxy path
// (/api/v1/nodes/NODE/proxy/stats/summary), with the file system use the test sets per
// claim: kwok's fake nodes run no kubelet, and the API server does not proxy to loopback.
// The operator's real KubeletStats reads it.
type fakeKubelet struct {
	mu    sync.Mutex
	usage map[string][2]int64 // claim -> used, capacity bytes
}

func (f *fakeKubelet) set(claim string, used, capacity int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.usage[claim] = [2]int64{used, capacity}
}

func (f *fakeKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	node, ok := strings.CutPrefix(r.URL.Path, "/api/v1/nodes/")
	node, ok2 := strings.CutSuffix(node, "/proxy/stats/summary")
	if !ok || !ok2 {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pod := statsv1alpha1.PodStats{PodRef: statsv1alpha1.PodReference{Name: "any", Namespace: "growth"}}
	for claim, u := range f.usage {
		used, capacity := uint64(u[0]), uint64(u[1])
		pod.VolumeStats = append(pod.VolumeStats, statsv1alpha1.VolumeStats{Name: "data",
			PVCRef:  &statsv1alpha1.PVCReference{Name: claim, Namespace: "growth"},
			FsStats: statsv1alpha1.FsStats{UsedBytes: &used, CapacityBytes: &capacity}})
	}
	// Every claim on every node: the operator keeps those of its network's namespace.
	_ = json.NewEncoder(w).Encode(statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{NodeName: node}, Pods: []statsv1alpha1.PodStats{pod}})
}

var growthSpec = polkadotNetwork("auto", "growth", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
      storageClassName: fixed
      storageGrowth: {max: 20Gi}
    - name: rpc
      role: rpc
      replicas: 2
      storageClassName: expandable
      storageGrowth: {threshold: 80, step: 10Gi, max: 25Gi}
`)

// Automatic storage growth against a real API server: a claim past its threshold in the
// (fake) kubelet's stats is patched by one step, once until its resize has finished, then
// again up to max and no further; a class without volume expansion gets no patch, a
// StorageGrowth condition and an Event naming the class; status reports the grown sizes
// while spec.groups[].storage stays the user's, and raising it later still grows the claims.
// There is no volume driver here: the test binds the claims (a fake provisioner) and
// finishes each resize (a fake resizer); the API server's resize admission is real.
func TestStorageGrowthAutomatic(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "growth")
	ctx := context.Background()
	storageClasses(t, cl)
	kubelet := &fakeKubelet{usage: map[string][2]int64{}}
	srv := httptest.NewServer(kubelet)
	t.Cleanup(srv.Close)
	stats, err := controller.NewKubeletStats(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	op := startOperator(t, cluster, controller.Config{VolumeStats: stats, StorageGrowthInterval: 300 * time.Millisecond})
	n := createNetwork(t, cl, growthSpec)
	key := client.ObjectKeyFromObject(n)
	validator, rpc0, rpc1 := "data-auto-validator-0", "data-auto-rpc-0", "data-auto-rpc-1"
	for _, c := range []string{validator, rpc0, rpc1} {
		fakeProvision(t, cl, "growth", c)
	}
	// File systems a little smaller than their volumes, as real ones are.
	fs := func(size int64) int64 { return size * 98 / 100 }
	kubelet.set(validator, fs(10*gib)*90/100, fs(10*gib))
	kubelet.set(rpc0, fs(10*gib)/2, fs(10*gib))
	kubelet.set(rpc1, fs(10*gib)*85/100, fs(10*gib))

	claim := func(name string) *corev1.PersistentVolumeClaim {
		var c corev1.PersistentVolumeClaim
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "growth", Name: name}, &c); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	request := func(name string) string { return claim(name).Spec.Resources.Requests.Storage().String() }
	waitRequest := func(name, want string) {
		t.Helper()
		testenv.Eventually(t, 60*time.Second, name+" requests "+want, func() (bool, error) {
			got := request(name)
			return got == want, fmt.Errorf("requests %s", got)
		})
	}

	// rpc-1 is 85% full: one step of 10Gi. rpc-0 (50%) keeps its size.
	waitRequest(rpc1, "20Gi")
	if got := claim(rpc1).Annotations[controller.AnnotationGrownFrom]; got != fmt.Sprint(fs(10*gib)) {
		t.Errorf("grown-from annotation %q", got)
	}
	// The validator's class does not expand: no patch, the condition and an Event name it.
	got := waitCondition(t, cl, key, controller.ConditionStorageGrowth, metav1.ConditionFalse, controller.ReasonExpansionNotAllowed, 30*time.Second)
	wantMsg := "spec.groups[0].storageGrowth: data volume data-auto-validator-0 cannot grow: StorageClass fixed does not allow volume expansion (allowVolumeExpansion)"
	if c := condition(got, controller.ConditionStorageGrowth); c.Message != wantMsg {
		t.Errorf("condition message %q, want %q", c.Message, wantMsg)
	}
	testenv.Eventually(t, 30*time.Second, "an ExpansionNotAllowed event naming the class", func() (bool, error) {
		var evs eventsv1.EventList
		if err := cl.List(ctx, &evs, client.InNamespace("growth")); err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == controller.ReasonExpansionNotAllowed && e.Type == corev1.EventTypeWarning && strings.Contains(e.Note, "StorageClass fixed") {
				return true, nil
			}
		}
		return false, fmt.Errorf("%d events", len(evs.Items))
	})

	// Once per claim until the resize finishes: while the volume is not grown, several looks
	// at the still full file system patch nothing more.
	looks := op.op.Reconciler.Reconciles()
	testenv.Eventually(t, 30*time.Second, "three more looks", func() (bool, error) {
		return op.op.Reconciler.Reconciles() >= looks+3, nil
	})
	if got := request(rpc1); got != "20Gi" {
		t.Fatalf("grown again before the resize finished: %s", got)
	}
	if got := request(rpc0); got != "10Gi" {
		t.Errorf("rpc-0, half full, requests %s", got)
	}
	if got := request(validator); got != "10Gi" {
		t.Errorf("the validator's claim on a fixed class requests %s", got)
	}

	// The fake resizer finishes; still 90% full: one more step, stopped at max (25Gi).
	fakeResize(t, cl, "growth", rpc1)
	kubelet.set(rpc1, fs(20*gib)*90/100, fs(20*gib))
	waitRequest(rpc1, "25Gi")
	fakeResize(t, cl, "growth", rpc1)
	kubelet.set(rpc1, fs(25*gib)-fs(25*gib)/20, fs(25*gib)) // 95%

	// Without the validator's refusal, the condition says rpc-1 is full at its maximum, and
	// the blocked gauge (the VolumeCannotGrow alert's input) is 1 for it.
	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[0].StorageGrowth = nil })
	got = waitCondition(t, cl, key, controller.ConditionStorageGrowth, metav1.ConditionFalse, controller.ReasonAtMaximum, 30*time.Second)
	if c := condition(got, controller.ConditionStorageGrowth); !strings.Contains(c.Message, "data volume data-auto-rpc-1 is 95% full and at its maximum 25Gi") {
		t.Errorf("condition message %q", c.Message)
	}
	if got := request(rpc1); got != "25Gi" {
		t.Errorf("grown above max: %s", got)
	}
	testenv.Eventually(t, 30*time.Second, "onf_volume_growth_blocked 1 for rpc-1", func() (bool, error) {
		v, err := gauge(controller.MetricVolumeGrowthBlocked, rpc1)
		return v == 1, err
	})
	if v, err := gauge(controller.MetricVolumeUsedRatio, rpc1); err != nil || v < 0.94 || v > 0.96 {
		t.Errorf("used ratio of rpc-1: %v, %v", v, err)
	}

	// Status reports the grown sizes; the spec is the user's and nothing is Degraded.
	testenv.Eventually(t, 30*time.Second, "status volumes", func() (bool, error) {
		var live v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &live); err != nil {
			return false, err
		}
		sizes := map[string]string{}
		for _, v := range live.Status.Volumes {
			sizes[v.Claim] = v.Size
		}
		return live.Spec.Groups[1].Storage == "" && sizes[rpc0] == "10Gi" && sizes[rpc1] == "25Gi" && len(sizes) == 2,
			fmt.Errorf("spec storage %q, status volumes %+v", live.Spec.Groups[1].Storage, live.Status.Volumes)
	})
	waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionFalse, "", 30*time.Second)

	// Raising spec.storage above the grown size still grows every claim to it.
	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) {
		n.Spec.Groups[1].Storage = "30Gi"
		n.Spec.Groups[1].StorageGrowth.Max = "40Gi"
	})
	waitRequest(rpc0, "30Gi")
	waitRequest(rpc1, "30Gi")

	// Without storageGrowth anywhere, the condition and the volumes leave the status.
	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[1].StorageGrowth = nil })
	testenv.Eventually(t, 30*time.Second, "no StorageGrowth condition", func() (bool, error) {
		var live v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &live); err != nil {
			return false, err
		}
		return condition(&live, controller.ConditionStorageGrowth) == nil && len(live.Status.Volumes) == 0, fmt.Errorf("status %+v", live.Status.Volumes)
	})
}

// storageClasses makes the classes of the storage tests: "expandable" allows volume
// expansion, "fixed" does not.
func storageClasses(t *testing.T, cl client.Client) {
	t.Helper()
	for _, o := range []client.Object{
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "expandable"}, Provisioner: "fake.example.org/volumes", AllowVolumeExpansion: ptr(true)},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fixed"}, Provisioner: "fake.example.org/volumes"},
	} {
		if err := cl.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeProvision binds a claim the StatefulSet controller makes as a provisioner and the
// persistent volume controller would (neither runs here), so the scheduler places its pod.
func fakeProvision(t *testing.T, cl client.Client, ns, name string) {
	t.Helper()
	ctx := context.Background()
	var c corev1.PersistentVolumeClaim
	testenv.Eventually(t, 60*time.Second, "claim "+name, func() (bool, error) {
		err := cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &c)
		return err == nil, err
	})
	size := c.Spec.Resources.Requests[corev1.ResourceStorage]
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-" + name},
		Spec: corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: size}, AccessModes: c.Spec.AccessModes,
			StorageClassName:       *c.Spec.StorageClassName,
			ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: name, UID: c.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/nonexistent/" + name}}}}
	if err := cl.Create(ctx, pv); err != nil {
		t.Fatal(err)
	}
	c.Spec.VolumeName = pv.Name
	metav1.SetMetaDataAnnotation(&c.ObjectMeta, "pv.kubernetes.io/bind-completed", "yes")
	if err := cl.Update(ctx, &c); err != nil {
		t.Fatal(err)
	}
	c.Status.Phase = corev1.ClaimBound
	c.Status.AccessModes = c.Spec.AccessModes
	c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: size}
	if err := cl.Status().Update(ctx, &c); err != nil {
		t.Fatal(err)
	}
}

// fakeResize finishes a claim's resize as a volume driver and the kubelet would: its
// capacity becomes its request.
func fakeResize(t *testing.T, cl client.Client, ns, name string) {
	t.Helper()
	var c corev1.PersistentVolumeClaim
	if err := cl.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &c); err != nil {
		t.Fatal(err)
	}
	c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: c.Spec.Resources.Requests[corev1.ResourceStorage]}
	if err := cl.Status().Update(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
}

// gauge reads one series of the operator's metrics registry by its claim label.
func gauge(name, claim string) (float64, error) {
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "persistentvolumeclaim" && l.GetValue() == claim {
					return m.GetGauge().GetValue(), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no %s for %s", name, claim)
}
