package operator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

var placementSpec = polkadotNetwork("placed", "placement", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
      pod:
        nodeSelector: {node-role.example.org/validator: "true"}
        tolerations:
          - {key: dedicated, operator: Equal, value: validators, effect: NoSchedule}
        affinity:
          podAntiAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {onf.dinfra.dev/role: validator}}}
        priorityClassName: system-cluster-critical
        labels: {team: validators}
        annotations: {example.org/owner: validators}
    - name: rpc
      role: rpc
      replicas: 2
      pod:
        topologySpreadConstraints:
          - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}
        serviceAnnotations: {external-dns.alpha.kubernetes.io/hostname: rpc.example.org}
      autoscaling:
        minReplicas: 2
        maxReplicas: 6
        targetMemoryUtilization: 80
        scaleDownStabilizationSeconds: 600
        metrics:
          - type: External
            external:
              metric: {name: onf_gateway_requests_per_second}
              target: {type: AverageValue, averageValue: "500"}
`)

// The API server stores the network with its pod options and admits the StatefulSets and
// Services the operator renders from them (a real API server's validation of pod templates).
func TestPodPlacement(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{}, "placement")
	ctx := context.Background()
	startOperator(t, cluster, controller.Config{})
	n := createNetwork(t, cl, placementSpec)
	get := func(name string, o client.Object) error {
		return cl.Get(ctx, types.NamespacedName{Namespace: "placement", Name: name}, o)
	}
	var validator, rpc appsv1.StatefulSet
	var rpcService corev1.Service
	testenv.Eventually(t, 60*time.Second, "both StatefulSets and the RPC Service", func() (bool, error) {
		for name, o := range map[string]client.Object{
			kube.GroupName("placed", "validator"): &validator, kube.GroupName("placed", "rpc"): &rpc,
			kube.RPCServiceName("placed", "rpc"): &rpcService,
		} {
			if err := get(name, o); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	v := validator.Spec.Template
	if v.Spec.NodeSelector["node-role.example.org/validator"] != "true" || len(v.Spec.Tolerations) != 1 || v.Spec.Tolerations[0].Value != "validators" {
		t.Errorf("validator pods: nodeSelector %v, tolerations %v", v.Spec.NodeSelector, v.Spec.Tolerations)
	}
	if a := v.Spec.Affinity; a == nil || a.PodAntiAffinity == nil || a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("validator affinity %+v", v.Spec.Affinity)
	}
	if v.Spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName %q", v.Spec.PriorityClassName)
	}
	if v.Labels["team"] != "validators" || v.Labels[kube.LabelGroup] != "validator" || v.Annotations["example.org/owner"] != "validators" {
		t.Errorf("validator pod labels %v, annotations %v", v.Labels, v.Annotations)
	}
	spread := rpc.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].LabelSelector == nil || spread[0].LabelSelector.MatchLabels[kube.LabelGroup] != "rpc" {
		t.Errorf("rpc spread %+v, want one counting the group's pods", spread)
	}
	if rpcService.Annotations["external-dns.alpha.kubernetes.io/hostname"] != "rpc.example.org" {
		t.Errorf("RPC Service annotations %v", rpcService.Annotations)
	}
	// The autoscaler on CPU, memory and the external requests-per-second metric, as admitted.
	var hpa autoscalingv2.HorizontalPodAutoscaler
	testenv.Eventually(t, 60*time.Second, "the rpc group's autoscaler", func() (bool, error) {
		err := get(kube.GroupName("placed", "rpc"), &hpa)
		return err == nil, err
	})
	if m := hpa.Spec.Metrics; len(m) != 3 || m[1].Resource == nil || m[1].Resource.Name != corev1.ResourceMemory || m[2].External == nil || m[2].External.Metric.Name != "onf_gateway_requests_per_second" {
		t.Errorf("autoscaler metrics %+v", hpa.Spec.Metrics)
	}
	if b := hpa.Spec.Behavior; b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds != 600 {
		t.Errorf("autoscaler behavior %+v", hpa.Spec.Behavior)
	}
	if len(rpc.Spec.Template.Spec.NodeSelector) != 0 || validator.Spec.Template.Spec.TopologySpreadConstraints != nil {
		t.Error("one group's pod options reached another group")
	}

	// Dropping the options takes them off the pods.
	patchSpec(t, cl, client.ObjectKeyFromObject(n), func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[0].Pod = nil })
	testenv.Eventually(t, 60*time.Second, "validator pods without placement", func() (bool, error) {
		if err := get(kube.GroupName("placed", "validator"), &validator); err != nil {
			return false, err
		}
		s := validator.Spec.Template.Spec
		return s.NodeSelector == nil && s.Tolerations == nil && s.Affinity == nil && s.PriorityClassName == "",
			fmt.Errorf("nodeSelector %v, tolerations %v, priority %q", s.NodeSelector, s.Tolerations, s.PriorityClassName)
	})
}

var storageSpec = polkadotNetwork("grow", "storage", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
      storageClassName: fixed
    - name: rpc
      role: rpc
      replicas: 2
      storage: 10Gi
      storageClassName: expandable
`)

// Raising a group's storage grows its existing claims in place (the StatefulSet, whose claim
// templates cannot change, is replaced without touching its pods); lowering it, growing on a
// class without volume expansion and changing a volume's class are refused by field path with
// nothing applied. The claims are bound by the test (a fake provisioner: there is no volume
// driver here); the API server's own resize admission checks the StorageClass for real.
func TestStorageGrowth(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "storage")
	ctx := context.Background()
	storageClasses(t, cl)
	startOperator(t, cluster, controller.Config{})
	n := createNetwork(t, cl, storageSpec)
	key := client.ObjectKeyFromObject(n)
	claims := []string{"data-grow-validator-0", "data-grow-rpc-0", "data-grow-rpc-1"}
	claim := func(name string) (*corev1.PersistentVolumeClaim, error) {
		var c corev1.PersistentVolumeClaim
		return &c, cl.Get(ctx, types.NamespacedName{Namespace: "storage", Name: name}, &c)
	}
	// The fake provisioner: bind each claim the StatefulSet controller makes at its request.
	testenv.Eventually(t, 60*time.Second, "every data claim made and bound", func() (bool, error) {
		for _, name := range claims {
			c, err := claim(name)
			if err != nil {
				return false, err
			}
			if c.Status.Phase == corev1.ClaimBound {
				continue
			}
			c.Status.Phase = corev1.ClaimBound
			c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: c.Spec.Resources.Requests[corev1.ResourceStorage]}
			if err := cl.Status().Update(ctx, c); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	podUIDs := func() map[string]types.UID {
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace("storage"), client.MatchingLabels{kube.LabelGroup: "rpc"}); err != nil {
			t.Fatal(err)
		}
		uids := map[string]types.UID{}
		for _, p := range pods.Items {
			uids[p.Name] = p.UID
		}
		return uids
	}
	var before map[string]types.UID
	testenv.Eventually(t, 60*time.Second, "both rpc pods", func() (bool, error) {
		before = podUIDs()
		return len(before) == 2, fmt.Errorf("pods %v", before)
	})

	// Grow: both rpc claims, the StatefulSet's template, and no pod made anew.
	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[1].Storage = "20Gi" })
	want := resource.MustParse("20Gi")
	testenv.Eventually(t, 60*time.Second, "rpc claims and claim template at 20Gi", func() (bool, error) {
		for _, name := range claims[1:] {
			c, err := claim(name)
			if err != nil {
				return false, err
			}
			if got := c.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(want) != 0 {
				return false, fmt.Errorf("%s requests %s", name, got.String())
			}
		}
		var sts appsv1.StatefulSet
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "storage", Name: "grow-rpc"}, &sts); err != nil {
			return false, err
		}
		got := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
		return got.Cmp(want) == 0, fmt.Errorf("claim template requests %s", got.String())
	})
	if after := podUIDs(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rpc pods were made anew by the growth: %v, before %v", after, before)
	}
	if c, _ := claim(claims[0]); c.Spec.Resources.Requests.Storage().String() != "10Gi" {
		t.Errorf("the validator's claim changed: %s", c.Spec.Resources.Requests.Storage())
	}
	waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionFalse, "", 30*time.Second)

	// Lowering it: the API server refuses it at the field path (the CRD's transition rule).
	var live v1alpha1.SubstrateNetwork
	if err := cl.Get(ctx, key, &live); err != nil {
		t.Fatal(err)
	}
	orig := live.DeepCopy()
	live.Spec.Groups[1].Storage = "15Gi"
	if err := cl.Patch(ctx, &live, client.MergeFrom(orig)); err == nil || !strings.Contains(err.Error(), "spec.groups[1].storage") || !strings.Contains(err.Error(), "cannot shrink") {
		t.Errorf("lowering storage: %v, want a refusal at spec.groups[1].storage", err)
	}

	refused := func(change func(*v1alpha1.SubstrateNetwork), want string) {
		t.Helper()
		patchSpec(t, cl, key, change)
		got := waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionTrue, kube.ReasonInvalidSpec, 30*time.Second)
		if c := condition(got, kube.ConditionDegraded); !strings.Contains(c.Message, want) {
			t.Errorf("condition message %q, want %q", c.Message, want)
		}
	}
	// Dropping the field (back to the 10Gi default) gets past the CRD; the operator refuses.
	refused(func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[1].Storage = "" },
		"spec.groups[1].storage: data volume data-grow-rpc-0 holds 20Gi and volumes cannot shrink")
	refused(func(n *v1alpha1.SubstrateNetwork) {
		n.Spec.Groups[1].Storage = "20Gi"
		n.Spec.Groups[0].Storage = "50Gi"
	}, "spec.groups[0].storage: data volume data-grow-validator-0 cannot grow from 10Gi to 50Gi: StorageClass fixed does not allow volume expansion")
	refused(func(n *v1alpha1.SubstrateNetwork) {
		n.Spec.Groups[0].Storage = ""
		n.Spec.Groups[1].StorageClassName = "fixed"
	}, `spec.groups[1].storageClassName: data volume data-grow-rpc-0 has class "expandable" and a volume's class cannot change`)
	// Nothing of the refused changes was applied.
	var sts appsv1.StatefulSet
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "storage", Name: "grow-validator"}, &sts); err != nil {
		t.Fatal(err)
	}
	if got := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String(); got != "10Gi" {
		t.Errorf("validator claim template %s after refused changes", got)
	}
	if c, _ := claim(claims[0]); c.Spec.Resources.Requests.Storage().String() != "10Gi" {
		t.Errorf("the validator's claim changed: %s", c.Spec.Resources.Requests.Storage())
	}
}
