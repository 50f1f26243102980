package operator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
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

var relayDataSpec = polkadotNetwork("rd", "relaydata", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
    - name: collator
      role: collator
      parachain: para
      keys:
        dev: ["//Bob"]
      storageClassName: fixed
  parachains:
    - name: para
      id: 1000
      chain: {builtin: asset-hub-rococo-local}
      node: {binary: polkadot-parachain, image: "docker.io/parity/polkadot-parachain:stable2503"}
      relay:
        storage: 5Gi
        storageClassName: expandable
`)

// parachains[].relay.storage: the API server admits the collators' StatefulSet with its second
// claim template, the StatefulSet controller makes relay-data-<pod> claims of the relay's size
// and class (not the group's), mounted where the embedded node's --base-path points; raising
// relay.storage grows the bound claim in place, lowering it is refused by the CRD, and a class
// change by the operator, each at its field path. The claim is bound by the test (a fake
// provisioner: there is no volume driver here).
func TestRelayDataVolume(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "relaydata")
	ctx := context.Background()
	storageClasses(t, cl)
	startOperator(t, cluster, controller.Config{})
	n := createNetwork(t, cl, relayDataSpec)
	key := client.ObjectKeyFromObject(n)
	const name = "relay-data-rd-collator-0"
	fakeProvision(t, cl, "relaydata", name)
	var c corev1.PersistentVolumeClaim
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "relaydata", Name: name}, &c); err != nil {
		t.Fatal(err)
	}
	if got := c.Spec.Resources.Requests.Storage().String(); got != "5Gi" || *c.Spec.StorageClassName != "expandable" || c.Labels[kube.LabelGroup] != "collator" {
		t.Errorf("claim %s: %s of class %s, labels %v; want 5Gi of class expandable, group collator", name, got, *c.Spec.StorageClassName, c.Labels)
	}
	var sts appsv1.StatefulSet
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "relaydata", Name: "rd-collator"}, &sts); err != nil {
		t.Fatal(err)
	}
	node := sts.Spec.Template.Spec.Containers[0]
	relayArgs := node.Args[slices.Index(node.Args, "--"):]
	if i := slices.Index(relayArgs, "--base-path"); i < 0 || relayArgs[i+1] != "/relay-data" {
		t.Errorf("embedded relay chain node's arguments %v, want --base-path /relay-data", relayArgs)
	}
	if !slices.ContainsFunc(node.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "relay-data" && m.MountPath == "/relay-data" }) {
		t.Errorf("node mounts %v, want relay-data at /relay-data", node.VolumeMounts)
	}

	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Parachains[0].Relay.Storage = "8Gi" })
	want := resource.MustParse("8Gi")
	testenv.Eventually(t, 60*time.Second, "relay-data claim at 8Gi", func() (bool, error) {
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "relaydata", Name: name}, &c); err != nil {
			return false, err
		}
		got := c.Spec.Resources.Requests[corev1.ResourceStorage]
		return got.Cmp(want) == 0, fmt.Errorf("requests %s", got.String())
	})

	var live v1alpha1.SubstrateNetwork
	if err := cl.Get(ctx, key, &live); err != nil {
		t.Fatal(err)
	}
	orig := live.DeepCopy()
	live.Spec.Parachains[0].Relay.Storage = "6Gi"
	if err := cl.Patch(ctx, &live, client.MergeFrom(orig)); err == nil || !strings.Contains(err.Error(), "spec.parachains[0].relay.storage") || !strings.Contains(err.Error(), "cannot shrink") {
		t.Errorf("lowering relay.storage: %v, want a refusal at spec.parachains[0].relay.storage", err)
	}

	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Parachains[0].Relay.StorageClassName = "fixed" })
	got := waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionTrue, kube.ReasonInvalidSpec, 30*time.Second)
	wantMsg := `spec.parachains[0].relay.storageClassName: relay-data volume relay-data-rd-collator-0 has class "expandable" and a volume's class cannot change`
	if m := condition(got, kube.ConditionDegraded).Message; !strings.Contains(m, wantMsg) {
		t.Errorf("condition message %q, want %q", m, wantMsg)
	}
}
