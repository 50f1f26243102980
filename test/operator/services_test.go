package operator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/nodekey"
	"github.com/dinfra/stack/internal/testenv"
)

// The RPC Service's type and load balancer settings, the gateway's Ingress (owned by the
// network and pruned when the spec drops it) and the scrape objects' target labels, as the API
// server stores them.
func TestServicesIngressAndTargetLabels(t *testing.T) {
	c, cl := startCluster(t, kubetest.Options{CRDPaths: []string{repoPath("test/operator/testdata/crds")}}, "chains")
	startOperator(t, c, controller.Config{})
	ctx := context.Background()
	n := createNetwork(t, cl, polkadotNetwork("pub", "chains", polkadotImage, `
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - name: rpc
      role: rpc
      rpc:
        methods: safe
        service:
          type: LoadBalancer
          annotations: {example.org/tier: public}
          externalTrafficPolicy: Local
          loadBalancerSourceRanges: [203.0.113.0/24]
    - {name: archive, role: archive}
  gateway:
    group: archive
    keysSecret: {name: gw-keys, key: keys.yaml}
    image: ghcr.io/dinfra/onf:v0.1.0
    ingress:
      className: nginx
      hosts: [rpc.example.org]
      tlsSecretName: rpc-tls
      annotations: {cert-manager.io/cluster-issuer: letsencrypt}
  monitoring:
    targetLabels: [onf.dinfra.dev/group]
    podTargetLabels: [app.kubernetes.io/component]
`))
	key := client.ObjectKeyFromObject(n)
	testenv.Eventually(t, 60*time.Second, "the rpc group's LoadBalancer Service", func() (bool, error) {
		var svc corev1.Service
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: kube.RPCServiceName("pub", "rpc")}, &svc); err != nil {
			return false, err
		}
		s := svc.Spec
		ok := s.Type == corev1.ServiceTypeLoadBalancer && s.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal &&
			slices.Equal(s.LoadBalancerSourceRanges, []string{"203.0.113.0/24"}) && svc.Annotations["example.org/tier"] == "public"
		return ok, fmt.Errorf("RPC Service: %s %s %v %v", s.Type, s.ExternalTrafficPolicy, s.LoadBalancerSourceRanges, svc.Annotations)
	})
	ingressKey := types.NamespacedName{Namespace: "chains", Name: kube.GatewayName("pub")}
	testenv.Eventually(t, 60*time.Second, "the gateway's Ingress", func() (bool, error) {
		var in networkingv1.Ingress
		if err := cl.Get(ctx, ingressKey, &in); err != nil {
			return false, err
		}
		s := in.Spec
		ok := metav1.IsControlledBy(&in, n) && s.IngressClassName != nil && *s.IngressClassName == "nginx" &&
			len(s.Rules) == 1 && s.Rules[0].Host == "rpc.example.org" &&
			s.Rules[0].HTTP.Paths[0].Backend.Service.Name == kube.GatewayName("pub") &&
			len(s.TLS) == 1 && s.TLS[0].SecretName == "rpc-tls" && in.Annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
		return ok, fmt.Errorf("Ingress %+v, annotations %v", s, in.Annotations)
	})
	testenv.Eventually(t, 60*time.Second, "target labels on the ServiceMonitor", func() (bool, error) {
		sm := &unstructured.Unstructured{}
		sm.SetAPIVersion(kube.ServiceMonitorGVK.Group + "/" + kube.ServiceMonitorGVK.Version)
		sm.SetKind(kube.ServiceMonitorGVK.Kind)
		if err := cl.Get(ctx, key, sm); err != nil {
			return false, err
		}
		target, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "targetLabels")
		pod, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "podTargetLabels")
		ok := slices.Equal(target, []string{"onf.dinfra.dev/group"}) && slices.Equal(pod, []string{"app.kubernetes.io/component"})
		return ok, fmt.Errorf("targetLabels %v, podTargetLabels %v", target, pod)
	})

	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Gateway.Ingress = nil })
	testenv.Eventually(t, 60*time.Second, "the Ingress pruned", func() (bool, error) {
		err := cl.Get(ctx, ingressKey, &networkingv1.Ingress{})
		return apierrors.IsNotFound(err), fmt.Errorf("Ingress still there (%v)", err)
	})
}

// A group with its own node key Secret gets its peer IDs from it: the operator waits, with a
// condition naming the field, until the Secret holds a key for every replica, and never
// generates one.
func TestOwnNodeKeySecret(t *testing.T) {
	c, cl := startCluster(t, kubetest.Options{}, "chains")
	startOperator(t, c, controller.Config{})
	ctx := context.Background()
	n := createNetwork(t, cl, polkadotNetwork("own", "chains", polkadotImage, `
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - name: boot
      role: bootnode
      replicas: 2
      p2p: {nodeKeySecret: boot-keys}
`))
	key := client.ObjectKeyFromObject(n)
	degraded := func(want string) {
		t.Helper()
		got := waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionTrue, kube.ReasonInvalidSpec, 60*time.Second)
		if c := condition(got, kube.ConditionDegraded); !strings.Contains(c.Message, want) {
			t.Fatalf("Degraded: %s, want %q", c.Message, want)
		}
	}
	// nudge makes the operator look again now rather than after its recheck interval.
	nudge := func() {
		var live v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &live); err != nil {
			t.Fatal(err)
		}
		orig := live.DeepCopy()
		live.Annotations = map[string]string{"example.org/nudge": "1"}
		if err := cl.Patch(ctx, &live, client.MergeFrom(orig)); err != nil {
			t.Fatal(err)
		}
	}
	degraded("spec.groups[1].p2p.nodeKeySecret: Secret boot-keys not found in namespace chains")
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: kube.GroupName("own", "boot")}, &appsv1.StatefulSet{}); !apierrors.IsNotFound(err) {
		t.Fatalf("boot StatefulSet before its keys: %v", err)
	}

	seed := func(i int) []byte { s := sha256.Sum256(fmt.Appendf(nil, "own boot key %d", i)); return s[:] }
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "boot-keys", Namespace: "chains"},
		Data:       map[string][]byte{"0": []byte(hex.EncodeToString(seed(0)))},
	}
	if err := cl.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	nudge()
	testenv.Eventually(t, 60*time.Second, "a condition naming the missing key", func() (bool, error) {
		var live v1alpha1.SubstrateNetwork
		if err := cl.Get(ctx, key, &live); err != nil {
			return false, err
		}
		c := condition(&live, kube.ConditionDegraded)
		want := `spec.groups[1].p2p.nodeKeySecret: Secret boot-keys has no key "1" for node own-boot-1`
		return c != nil && strings.Contains(c.Message, want), fmt.Errorf("Degraded: %+v", c)
	})

	// Completed, the Secret is found again without a nudge: the operator does not watch it
	// but looks again while it waits for it (every 30 s).
	secret.Data["1"] = []byte(hex.EncodeToString(seed(1)))
	if err := cl.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	peer := func(i int) string {
		k, err := nodekey.FromSeed(seed(i))
		if err != nil {
			t.Fatal(err)
		}
		return k.PeerID()
	}
	testenv.Eventually(t, 120*time.Second, "the validator dialling the boot nodes at the Secret's peer IDs", func() (bool, error) {
		var sts appsv1.StatefulSet
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: kube.GroupName("own", "validator")}, &sts); err != nil {
			return false, err
		}
		args := strings.Join(sts.Spec.Template.Spec.Containers[0].Args, " ")
		for i := range 2 {
			if !strings.Contains(args, "/p2p/"+peer(i)) {
				return false, fmt.Errorf("validator args %s lack boot node %d's peer ID %s", args, i, peer(i))
			}
		}
		return true, nil
	})
}
