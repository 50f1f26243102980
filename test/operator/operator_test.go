// Package operator tests the SubstrateNetwork operator against a real control plane:
// kube-apiserver and etcd (envtest), kube-controller-manager and kube-scheduler (StatefulSets,
// garbage collection), and kwok as the kubelet that makes pods Ready.
package operator

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/rpc/rpctest"
	"github.com/dinfra/stack/internal/testenv"
)

// repoPath is a path from the repository root.
func repoPath(p string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", p)
}

func crds() []string { return []string{repoPath("config/crd/bases")} }

// newClient is an admin client that knows SubstrateNetwork.
func newClient(t *testing.T, c *kubetest.Cluster) client.Client {
	t.Helper()
	scheme, err := controller.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// startCluster starts a control plane with the SubstrateNetwork CRD (opts.CRDPaths adds
// more), creates the namespaces and returns an admin client.
func startCluster(t *testing.T, opts kubetest.Options, namespaces ...string) (*kubetest.Cluster, client.Client) {
	t.Helper()
	opts.CRDPaths = append(crds(), opts.CRDPaths...)
	c := kubetest.Start(t, opts)
	cl := newClient(t, c)
	for _, ns := range namespaces {
		if err := cl.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	return c, cl
}

// createNetwork creates the network of doc.
func createNetwork(t *testing.T, cl client.Client, doc string) *v1alpha1.SubstrateNetwork {
	t.Helper()
	n := parseNetwork(t, doc)
	if err := cl.Create(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	return n
}

// running is an operator process started by a test.
type running struct {
	op   *controller.Operator
	stop func()
}

// startOperator runs an operator until stopped or the test ends.
func startOperator(t *testing.T, c *kubetest.Cluster, cfg controller.Config) *running {
	t.Helper()
	op, err := controller.New(c.Config, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- op.Manager.Start(ctx) }()
	r := &running{op: op}
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("operator stopped with: %v", err)
		}
		r.stop = func() {}
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// polkadotImage is the image of most test networks; kwok runs no container of it.
const polkadotImage = "docker.io/parity/polkadot:stable2503"

// polkadotNetwork is the document of a SubstrateNetwork called name in namespace: polkadot
// nodes running image on the built-in rococo-local chain; rest is the rest of its spec
// (groups, backup, ...), indented as under spec.
func polkadotNetwork(name, namespace, image, rest string) string {
	return fmt.Sprintf(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: %s, namespace: %s}
spec:
  chain: {builtin: rococo-local}
  node: {flavor: substrate, binary: polkadot, image: %q}
`, name, namespace, image) + rest
}

var spec = polkadotNetwork("relay", "chains", polkadotImage, `
  groups:
    - name: validator
      role: validator
      replicas: 2
      keys:
        dev: ["//Alice", "//Bob"]
    - name: boot
      role: bootnode
      p2p:
        expose: NodePort
        publicHost: boot.example.org
    - name: rpc
      role: rpc
      replicas: 2
`)

func parseNetwork(t *testing.T, doc string) *v1alpha1.SubstrateNetwork {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	if err := yaml.UnmarshalStrict([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func condition(n *v1alpha1.SubstrateNetwork, typ string) *metav1.Condition {
	return meta.FindStatusCondition(n.Status.Conditions, typ)
}

// waitCondition waits until the network's condition has the status (and reason, if given),
// observed for the network's current generation.
func waitCondition(t *testing.T, cl client.Client, key types.NamespacedName, typ string, status metav1.ConditionStatus, reason string, timeout time.Duration) *v1alpha1.SubstrateNetwork {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	testenv.Eventually(t, timeout, typ+"="+string(status)+" "+reason, func() (bool, error) {
		if err := cl.Get(context.Background(), key, &n); err != nil {
			return false, err
		}
		c := condition(&n, typ)
		if c == nil || n.Status.ObservedGeneration != n.Generation {
			return false, nil
		}
		ok := c.Status == status && (reason == "" || c.Reason == reason)
		if !ok {
			return false, errorf("%s is %s (%s: %s), ready nodes %s", typ, c.Status, c.Reason, c.Message, n.Status.ReadyNodes)
		}
		return true, nil
	})
	return &n
}

func TestOperator(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "chains")
	ctx := context.Background()
	cfg := controller.Config{Workers: 4, SyncPeriod: time.Second}
	op := startOperator(t, cluster, cfg)

	// Every version of the network's status, in order: kwok makes pods Ready faster than a
	// poll would notice the Progressing phase.
	history := watchConditions(t, cluster, "chains")
	n := createNetwork(t, cl, spec)
	key := client.ObjectKeyFromObject(n)

	t.Run("progressing then ready", func(t *testing.T) {
		var seen []string
		testenv.Eventually(t, 60*time.Second, "Ready after Progressing", func() (bool, error) {
			seen = history()
			sawProgressing := false
			for _, s := range seen {
				if s == "Progressing=True" {
					sawProgressing = true
				}
				if s == "Ready=True" {
					return sawProgressing, errorf("Ready before Progressing: %v", seen)
				}
			}
			return false, errorf("conditions so far: %v", seen)
		})
		got := waitCondition(t, cl, key, kube.ConditionReady, metav1.ConditionTrue, kube.ReasonAllReady, 10*time.Second)
		if got.Status.ReadyNodes != "5/5" {
			t.Errorf("readyNodes = %q, want 5/5", got.Status.ReadyNodes)
		}
		if len(got.Status.Nodes) != 5 || len(got.Status.Groups) != 3 {
			t.Errorf("status has %d nodes and %d groups, want 5 and 3", len(got.Status.Nodes), len(got.Status.Groups))
		}
	})

	t.Run("objects", func(t *testing.T) {
		checkObjects(t, cl, n)
	})

	t.Run("steady state writes nothing", func(t *testing.T) {
		before, reconciles := op.op.Writes.Writes(), op.op.Reconciler.Reconciles()
		// SyncPeriod is 1s: every object is re-delivered and every network reconciled again.
		testenv.Eventually(t, 20*time.Second, "resync reconciles", func() (bool, error) {
			return op.op.Reconciler.Reconciles() >= reconciles+5, nil
		})
		if w := op.op.Writes.Writes() - before; w != 0 {
			t.Errorf("%d API writes during %d no-op reconciles", w, op.op.Reconciler.Reconciles()-reconciles)
		}
	})

	t.Run("degraded when a pod fails", func(t *testing.T) {
		var pod corev1.Pod
		podKey := types.NamespacedName{Namespace: "chains", Name: kube.PodName("relay", "rpc", 1)}
		if err := cl.Get(ctx, podKey, &pod); err != nil {
			t.Fatal(err)
		}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "node", Image: pod.Spec.Containers[0].Image, RestartCount: 4,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		}}
		for i, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
				pod.Status.Conditions[i].Status = corev1.ConditionFalse
			}
		}
		if err := cl.Status().Update(ctx, &pod); err != nil {
			t.Fatal(err)
		}
		got := waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionTrue, kube.ReasonPodFailing, 30*time.Second)
		if msg := condition(got, kube.ConditionDegraded).Message; !strings.Contains(msg, podKey.Name) || !strings.Contains(msg, "CrashLoopBackOff") {
			t.Errorf("Degraded message %q does not name the pod and reason", msg)
		}
		// A replaced pod heals the network.
		if err := cl.Delete(ctx, &pod); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionFalse, "", 30*time.Second)
		waitCondition(t, cl, key, kube.ConditionReady, metav1.ConditionTrue, "", 30*time.Second)
	})

	t.Run("scale", func(t *testing.T) {
		secretKey := types.NamespacedName{Namespace: "chains", Name: kube.NodeKeySecretName("relay", "rpc")}
		var before corev1.Secret
		if err := cl.Get(ctx, secretKey, &before); err != nil {
			t.Fatal(err)
		}
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[2].Replicas = ptr(int32(3)) })
		got := waitCondition(t, cl, key, kube.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
		if got.Status.ReadyNodes != "6/6" {
			t.Errorf("readyNodes = %q after scaling rpc to 3", got.Status.ReadyNodes)
		}
		var secret corev1.Secret
		if err := cl.Get(ctx, secretKey, &secret); err != nil {
			t.Fatal(err)
		}
		if len(secret.Data) != 3 {
			t.Errorf("rpc node key secret has %d keys, want 3", len(secret.Data))
		}
		for idx, key := range before.Data {
			if string(secret.Data[idx]) != string(key) {
				t.Errorf("node key %s of the rpc group changed when the group scaled", idx)
			}
		}
	})

	t.Run("rolling image update", func(t *testing.T) {
		const image = "docker.io/parity/polkadot:stable2506"
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Node.Image = image })
		waitCondition(t, cl, key, kube.ConditionReady, metav1.ConditionTrue, "", 90*time.Second)
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace("chains"), client.MatchingLabels{kube.LabelNetwork: "relay"}); err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 6 {
			t.Errorf("%d pods, want 6", len(pods.Items))
		}
		for _, p := range pods.Items {
			if img := p.Spec.Containers[0].Image; img != image {
				t.Errorf("pod %s runs %s, want %s", p.Name, img, image)
			}
		}
	})

	t.Run("operator restart disturbs nothing", func(t *testing.T) {
		before := snapshot(t, cl)
		op.stop()
		op2 := startOperator(t, cluster, cfg)
		testenv.Eventually(t, 30*time.Second, "reconciles after restart", func() (bool, error) {
			return op2.op.Reconciler.Reconciles() >= 5, nil
		})
		if w := op2.op.Writes.Writes(); w != 0 {
			t.Errorf("restarted operator made %d API writes", w)
		}
		after := snapshot(t, cl)
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s changed across the restart: resourceVersion %s -> %s", k, v, after[k])
			}
		}
		op = op2
	})

	t.Run("delete collects everything", func(t *testing.T) {
		if err := cl.Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 60*time.Second, "garbage collection", func() (bool, error) {
			var sts appsv1.StatefulSetList
			var secrets corev1.SecretList
			var pods corev1.PodList
			for _, l := range []client.ObjectList{&sts, &secrets, &pods} {
				if err := cl.List(ctx, l, client.InNamespace("chains"), client.MatchingLabels{kube.LabelNetwork: "relay"}); err != nil {
					return false, err
				}
			}
			left := len(sts.Items) + len(secrets.Items) + len(pods.Items)
			return left == 0, errorf("%d statefulsets, %d secrets, %d pods left", len(sts.Items), len(secrets.Items), len(pods.Items))
		})
	})
}

// watchConditions records, for every status the API server stores for networks in ns, which
// of Progressing and Ready are True, and returns a function that reads the record.
func watchConditions(t *testing.T, c *kubetest.Cluster, ns string) func() []string {
	t.Helper()
	scheme, err := controller.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(context.Background(), &v1alpha1.SubstrateNetworkList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var mu sync.Mutex
	var seen []string
	go func() {
		for ev := range w.ResultChan() {
			n, ok := ev.Object.(*v1alpha1.SubstrateNetwork)
			if !ok {
				continue
			}
			mu.Lock()
			for _, typ := range []string{kube.ConditionProgressing, kube.ConditionReady} {
				if c := condition(n, typ); c != nil && c.Status == metav1.ConditionTrue {
					seen = append(seen, typ+"=True")
				}
			}
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// checkObjects verifies every object a network needs exists with its key fields.
func checkObjects(t *testing.T, cl client.Client, n *v1alpha1.SubstrateNetwork) {
	ctx := context.Background()
	var live v1alpha1.SubstrateNetwork
	if err := cl.Get(ctx, client.ObjectKeyFromObject(n), &live); err != nil {
		t.Fatal(err)
	}
	get := func(o client.Object, name string) bool {
		t.Helper()
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: name}, o); err != nil {
			t.Errorf("%T %s: %v", o, name, err)
			return false
		}
		if !metav1.IsControlledBy(o, &live) {
			t.Errorf("%T %s is not controlled by the network", o, name)
		}
		return true
	}
	for _, g := range []string{"validator", "boot", "rpc"} {
		name := kube.GroupName("relay", g)
		var sts appsv1.StatefulSet
		if get(&sts, name) {
			if sts.Spec.ServiceName != name {
				t.Errorf("statefulset %s serviceName = %s", name, sts.Spec.ServiceName)
			}
			args := strings.Join(sts.Spec.Template.Spec.Containers[0].Args, " ")
			if !strings.Contains(args, "--name $(POD_NAME)") || !strings.Contains(args, "--node-key-file /data/node-key") {
				t.Errorf("statefulset %s args: %s", name, args)
			}
		}
		var headless corev1.Service
		if get(&headless, name) && headless.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("service %s is not headless", name)
		}
		var secret corev1.Secret
		if get(&secret, kube.NodeKeySecretName("relay", g)) && len(secret.Data) == 0 {
			t.Errorf("node key secret of %s is empty", g)
		}
		var pdb policyv1.PodDisruptionBudget
		get(&pdb, name)
		var np networkingv1.NetworkPolicy
		if get(&np, name) {
			rpcOpen := len(np.Spec.Ingress) == 2 && len(np.Spec.Ingress[1].From) == 0
			if want := g == "rpc"; rpcOpen != want {
				t.Errorf("networkpolicy %s: RPC open to all = %v, want %v", name, rpcOpen, want)
			}
		}
	}
	var rpcSvc, p2p corev1.Service
	get(&rpcSvc, kube.RPCServiceName("relay", "rpc"))
	if get(&p2p, kube.P2PServiceName("relay", "boot", 0)) && p2p.Spec.Type != corev1.ServiceTypeNodePort {
		t.Errorf("boot p2p service type %s, want NodePort", p2p.Spec.Type)
	}
	var validator appsv1.StatefulSet
	if get(&validator, kube.GroupName("relay", "validator")) {
		if len(validator.Spec.Template.Spec.InitContainers) != 1 {
			t.Fatalf("validator has %d init containers, want 1 (keystore)", len(validator.Spec.Template.Spec.InitContainers))
		}
		init := validator.Spec.Template.Spec.InitContainers[0]
		script := strings.Join(init.Command, " ")
		if strings.Contains(script, "//Alice") || !strings.Contains(script, "--suri' '/onf/keys/suri'") {
			t.Errorf("keystore init must read the secret URI from its file, not arguments: %s", script)
		}
	}
}

// snapshot maps every object of the network to its resourceVersion.
func snapshot(t *testing.T, cl client.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	lists := map[string]client.ObjectList{
		"statefulset": &appsv1.StatefulSetList{}, "service": &corev1.ServiceList{}, "secret": &corev1.SecretList{},
		"pdb": &policyv1.PodDisruptionBudgetList{}, "networkpolicy": &networkingv1.NetworkPolicyList{}, "pod": &corev1.PodList{},
	}
	for kind, l := range lists {
		if err := cl.List(context.Background(), l, client.InNamespace("chains"), client.MatchingLabels{kube.LabelNetwork: "relay"}); err != nil {
			t.Fatal(err)
		}
		items, _ := meta.ExtractList(l)
		for _, it := range items {
			o := it.(client.Object)
			out[kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	var n v1alpha1.SubstrateNetwork
	if err := cl.Get(context.Background(), types.NamespacedName{Namespace: "chains", Name: "relay"}, &n); err != nil {
		t.Fatal(err)
	}
	out["network"] = n.ResourceVersion
	return out
}

func patchSpec(t *testing.T, cl client.Client, key types.NamespacedName, change func(*v1alpha1.SubstrateNetwork)) {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	if err := cl.Get(context.Background(), key, &n); err != nil {
		t.Fatal(err)
	}
	orig := n.DeepCopy()
	change(&n)
	if err := cl.Patch(context.Background(), &n, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidNetworkRejected(t *testing.T) {
	_, cl := startCluster(t, kubetest.Options{})
	cases := []struct {
		name, doc, want string
	}{
		{"negative replicas", strings.Replace(spec, "replicas: 2\n      keys", "replicas: -1\n      keys", 1), "spec.groups[0].replicas"},
		{"unknown role", strings.Replace(spec, "role: bootnode", "role: king", 1), "spec.groups[1].role"},
		{"bad group name", strings.Replace(spec, "name: rpc", "name: RPC_nodes", 1), "spec.groups[2].name"},
		// CEL rules of the CRD
		{"two chain sources", strings.Replace(spec, "builtin: rococo-local", "builtin: rococo-local, url: https://example.org/spec.json", 1), "spec.chain: Invalid value: set exactly one of builtin, file, url, configMap"},
		{"autoscaling bounds", strings.Replace(spec, "replicas: 2\n", "replicas: 2\n      autoscaling: {minReplicas: 5, maxReplicas: 2}\n", 1), "minReplicas must not exceed maxReplicas"},
		{"keys on an rpc group", spec + "      keys: {dev: [\"//Eve\"]}\n", "spec.groups[2].keys: Invalid value: only validator and collator groups have session keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := parseNetwork(t, tc.doc)
			n.Namespace = "default"
			err := cl.Create(context.Background(), n)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: %v, want Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// TestNodeChainFacts reports a real gossamer node's blocks in the network status: every pod's
// RPC endpoint is pointed at one node running on this machine. The cluster also serves the
// ServiceMonitor and PrometheusRule kinds, so the network gets one of each.
func TestNodeChainFacts(t *testing.T) {
	node := rpctest.StartGossamer(t)
	cluster, cl := startCluster(t, kubetest.Options{CRDPaths: []string{repoPath("test/operator/testdata/crds")}, Workloads: true}, "chains")
	ctx := context.Background()
	startOperator(t, cluster, controller.Config{
		NodeStatusInterval: time.Second,
		Endpoint:           func(*corev1.Pod) string { return node.HTTPURL },
	})
	n := createNetwork(t, cl, spec)
	testenv.Eventually(t, 90*time.Second, "best block >= 1 in status", func() (bool, error) {
		var got v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, client.ObjectKeyFromObject(n), &got); err != nil {
			return false, err
		}
		for _, node := range got.Status.Nodes {
			if node.Best < 1 || node.Version == "" {
				return false, errorf("node %s: best %d, version %q", node.Name, node.Best, node.Version)
			}
		}
		return len(got.Status.Nodes) == 5 && got.Status.BestBlock >= 1, errorf("%d nodes, best %d", len(got.Status.Nodes), got.Status.BestBlock)
	})

	sm := &unstructured.Unstructured{}
	sm.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"})
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: "relay"}, sm); err != nil {
		t.Fatalf("ServiceMonitor: %v", err)
	}
	port, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(port) != 1 || !metav1.IsControlledBy(sm, n) {
		t.Errorf("ServiceMonitor endpoints %v, controlled by the network: %v", port, metav1.IsControlledBy(sm, n))
	}

	// The PrometheusRule kind is served too: the network's alert rules, scoped to it.
	rule := &unstructured.Unstructured{}
	rule.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"})
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: "relay"}, rule); err != nil {
		t.Fatalf("PrometheusRule: %v", err)
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if len(groups) < 4 || !metav1.IsControlledBy(rule, n) {
		t.Fatalf("PrometheusRule: %d groups, controlled by the network: %v", len(groups), metav1.IsControlledBy(rule, n))
	}
	rules, _, _ := unstructured.NestedSlice(groups[0].(map[string]any), "rules")
	if expr, _, _ := unstructured.NestedString(rules[0].(map[string]any), "expr"); !strings.Contains(expr, `namespace="chains",network="relay"`) {
		t.Errorf("PrometheusRule's first rule is not scoped to the network: %s", expr)
	}
}
