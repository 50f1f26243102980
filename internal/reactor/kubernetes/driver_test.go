package kubernetes_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/kubernetes"
	"github.com/dinfra/stack/internal/reactor/reactortest"
	"github.com/dinfra/stack/internal/testenv"
)

// testWait reads statuses often, so tests wait for conditions, not for intervals.
var testWait = kubernetes.Wait{Interval: 20 * time.Millisecond, DegradedFor: 5 * time.Minute}

func startCluster(t *testing.T) *kubetest.Cluster {
	return kubetest.Start(t, kubetest.Options{CRDPaths: []string{filepath.Join("..", "..", "..", "config", "crd", "bases")}})
}

// devNetwork has a validator, whose RPC stays private, and an rpc group of gossamer nodes.
var devNetwork = []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"dev"},
"spec":{"chain":{"builtin":"westend-dev"},"node":{"flavor":"gossamer"},
"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}},{"name":"rpc","role":"rpc","replicas":1}]}}`)

func deployment(t *testing.T, id string, doc []byte) reactor.Deployment {
	t.Helper()
	c, err := descriptor.CID(doc)
	if err != nil {
		t.Fatal(err)
	}
	return reactor.Deployment{ID: id, Type: descriptor.TypeSubstrateNetwork, CID: c, Descriptor: doc, Units: 3}
}

func getNetwork(ctx context.Context, c client.Client, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(v1alpha1.GroupVersion.String())
	u.SetKind(v1alpha1.Kind)
	return u, c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u)
}

// setConditions writes the network's status conditions through the status subresource, as
// the operator does, for the network's current generation.
func setConditions(ctx context.Context, c client.Client, u *unstructured.Unstructured, conds ...metav1.Condition) error {
	var list []any
	for _, cond := range conds {
		cond.ObservedGeneration = u.GetGeneration()
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&cond)
		if err != nil {
			return err
		}
		list = append(list, m)
	}
	if err := unstructured.SetNestedSlice(u.Object, list, "status", "conditions"); err != nil {
		return err
	}
	return c.Status().Update(ctx, u)
}

func condition(typ string, status metav1.ConditionStatus, reason, msg string, since time.Time) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(since.Truncate(time.Second))}
}

// simulateOperator marks every SubstrateNetwork of the cluster Ready, as the onf operator
// does once all nodes are ready (no operator runs in envtest), until the test ends.
func simulateOperator(t *testing.T, c client.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			list := &unstructured.UnstructuredList{}
			list.SetAPIVersion(v1alpha1.GroupVersion.String())
			list.SetKind(v1alpha1.Kind + "List")
			if err := c.List(ctx, list); err == nil {
				for i := range list.Items {
					u := &list.Items[i]
					if _, found, _ := unstructured.NestedSlice(u.Object, "status", "conditions"); found {
						continue
					}
					// Conflicts and namespaces being deleted are retried on the next tick.
					_ = setConditions(ctx, c, u, condition(kube.ConditionReady, metav1.ConditionTrue, kube.ReasonAllReady, "2/2 nodes ready", time.Now()))
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func TestKubernetesReactorConformance(t *testing.T) {
	cluster := startCluster(t)
	simulateOperator(t, cluster.Client)
	reactortest.Conformance(t, kubernetes.New(cluster.Client, 4, kubernetes.DefaultUnitSize()).WithWait(testWait), conformance.Config{DeployTimeout: 30 * time.Second})
}

// TestKubernetesPhaseFollowsTheOperator serves the driver through the reactor framework and
// plays the operator: a deployment is Pending until its network is Ready, then Running with
// the RPC Services' in-cluster URLs; one Degraded for longer than DegradedFor is Failed with
// the operator's message.
func TestKubernetesPhaseFollowsTheOperator(t *testing.T) {
	cluster := startCluster(t)
	ctx := context.Background()
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	const token = "phase-token"
	srv, err := reactor.New(reactor.Config{
		Driver: kubernetes.New(cluster.Client, 8, kubernetes.DefaultUnitSize()).WithWait(testWait), Registry: reg,
		Auth: reactor.Auth{Token: token}, StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	rc, err := reactor.NewClient(reactor.ClientConfig{URL: hs.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	deploy := func(id string, doc []byte) {
		t.Helper()
		d := deployment(t, id, doc)
		r, err := rc.DeployWithResponse(ctx, id, api.DeployRequest{
			Type: d.Type, DescriptorCid: d.CID.String(), Descriptor: doc,
			Consumer: api.Consumer{Address: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}, Subscription: api.Subscription{Units: 1},
		})
		if err != nil || r.JSON202 == nil {
			t.Fatalf("deploy %s: %v %s", id, err, r.Body)
		}
	}
	status := func(id string) api.Deployment {
		t.Helper()
		r, err := rc.GetDeploymentWithResponse(ctx, id)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("status of %s: %v %s", id, err, r.Body)
		}
		return *r.JSON200
	}
	applied := func(id, name string) *unstructured.Unstructured {
		t.Helper()
		var u *unstructured.Unstructured
		testenv.Eventually(t, 10*time.Second, "SubstrateNetwork "+name+" applied", func() (bool, error) {
			var err error
			u, err = getNetwork(ctx, cluster.Client, kubernetes.NamespaceName(id), name)
			return err == nil, err
		})
		return u
	}
	phase := func(id string, want api.Phase) api.Deployment {
		t.Helper()
		var got api.Deployment
		testenv.Eventually(t, 10*time.Second, "deployment "+id+" "+string(want), func() (bool, error) {
			got = status(id)
			return got.Phase == want, errors.New("phase " + string(got.Phase))
		})
		return got
	}

	deploy("ready", devNetwork)
	network := applied("ready", "dev")
	if got := status("ready"); got.Phase != api.Pending {
		t.Fatalf("phase %s before the operator reported on the network, want Pending", got.Phase)
	}
	now := time.Now()
	if err := setConditions(ctx, cluster.Client, network,
		condition(kube.ConditionReady, metav1.ConditionFalse, kube.ReasonNotReady, "1/2 nodes ready", now),
		condition(kube.ConditionDegraded, metav1.ConditionFalse, kube.ReasonAsExpected, "", now)); err != nil {
		t.Fatal(err)
	}
	if got := status("ready"); got.Phase != api.Pending {
		t.Fatalf("phase %s while nodes are not ready, want Pending", got.Phase)
	}
	network = applied("ready", "dev")
	if err := setConditions(ctx, cluster.Client, network,
		condition(kube.ConditionReady, metav1.ConditionTrue, kube.ReasonAllReady, "2/2 nodes ready", now),
		condition(kube.ConditionDegraded, metav1.ConditionFalse, kube.ReasonAsExpected, "", now)); err != nil {
		t.Fatal(err)
	}
	running := phase("ready", api.Running)
	want := []api.Endpoint{
		{Name: "rpc-rpc", Url: "http://dev-rpc-rpc.dinfra-ready.svc:9944"},
		{Name: "rpc-ws", Url: "ws://dev-rpc-rpc.dinfra-ready.svc:9945"},
	}
	if running.Endpoints == nil || !reflect.DeepEqual(*running.Endpoints, want) {
		t.Fatalf("endpoints %+v, want %+v", running.Endpoints, want)
	}

	deploy("degraded", devNetwork)
	network = applied("degraded", "dev")
	const crash = "pod dev-rpc-0 container node: CrashLoopBackOff"
	longAgo := time.Now().Add(-2 * testWait.DegradedFor)
	if err := setConditions(ctx, cluster.Client, network,
		condition(kube.ConditionReady, metav1.ConditionFalse, kube.ReasonNotReady, "1/2 nodes ready", longAgo),
		condition(kube.ConditionDegraded, metav1.ConditionTrue, kube.ReasonPodFailing, crash, longAgo)); err != nil {
		t.Fatal(err)
	}
	failed := phase("degraded", api.Failed)
	if failed.Message == nil || !strings.Contains(*failed.Message, "(PodFailing): "+crash) {
		t.Fatalf("message %v, want the operator's Degraded message", failed.Message)
	}
	if failed.Endpoints != nil && len(*failed.Endpoints) > 0 {
		t.Fatalf("a failed deployment reports endpoints %v", *failed.Endpoints)
	}
}

func TestKubernetesDriverObjects(t *testing.T) {
	cluster := startCluster(t)
	simulateOperator(t, cluster.Client)
	ctx := context.Background()
	drv := kubernetes.New(cluster.Client, 4, kubernetes.DefaultUnitSize()).WithWait(testWait)
	d := deployment(t, "7", devNetwork)

	for range 2 { // the second call converges on what the first created
		eps, err := drv.Deploy(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) != 2 {
			t.Fatalf("endpoints %v, want the rpc group's HTTP and WebSocket URLs", eps)
		}
	}
	ns := "dinfra-7"
	quota := &corev1.ResourceQuota{}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dinfra-quota"}, quota); err != nil {
		t.Fatal(err)
	}
	if got := quota.Spec.Hard[corev1.ResourcePods]; got.Value() != 12 {
		t.Fatalf("quota pods %s, want 12 (3 units × 4)", got.String())
	}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dinfra-isolation"}, &networkingv1.NetworkPolicy{}); err != nil {
		t.Fatal(err)
	}
	network, err := getNetwork(ctx, cluster.Client, ns, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if network.GetAnnotations()[kubernetes.AnnotationCID] != d.CID.String() {
		t.Fatalf("annotations %v", network.GetAnnotations())
	}

	for range 2 { // idempotent teardown
		if err := drv.Teardown(ctx, "7"); err != nil {
			t.Fatal(err)
		}
	}
	got := &corev1.Namespace{}
	err = cluster.Client.Get(ctx, client.ObjectKey{Name: ns}, got)
	if err == nil && got.DeletionTimestamp == nil {
		t.Fatalf("namespace %s not being deleted", ns)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// TestKubernetesDeployRejectsBeforeApplying: a descriptor the operator could not plan, such
// as one the spec's schema rejects (the CRD's schema too: both are generated from the same
// types) or one whose object names would be too long, fails the deploy with its field path
// before anything is applied.
func TestKubernetesDeployRejectsBeforeApplying(t *testing.T) {
	cluster := startCluster(t)
	ctx := context.Background()
	drv := kubernetes.New(cluster.Client, 4, kubernetes.DefaultUnitSize()).WithWait(testWait)
	tests := []struct{ name, id, doc, want string }{
		{"schema", "8", `{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork",
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"Bad Name","role":"validator"}]}}`, "spec.groups[0].name"},
		{"planning", "9", `{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"a-network-name-long-enough-to-overflow"},
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"validators-of-the-relay","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`, "spec.groups[0].name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := drv.Deploy(ctx, deployment(t, tc.id, []byte(tc.doc)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Deploy: %v, want an error containing %q", err, tc.want)
			}
			err = cluster.Client.Get(ctx, client.ObjectKey{Name: kubernetes.NamespaceName(tc.id)}, &corev1.Namespace{})
			if !apierrors.IsNotFound(err) {
				t.Fatalf("namespace of a rejected descriptor: %v, want not found", err)
			}
		})
	}
}
