package operator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

const gatewaySpec = `
apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata:
  name: dev
  namespace: gw
spec:
  chain:
    builtin: westend-dev
  node:
    flavor: gossamer
    binary: gossamer
    image: gossamer:test
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
    - name: rpc
      role: rpc
      replicas: 2
  gateway:
    group: rpc
    keysSecret: {name: gateway-keys, key: keys.yaml}
`

// gatewayObjectsOf are the gateway's Deployment, ConfigMap, Service and NetworkPolicy, or
// an error naming the first one missing.
type gatewayObjectsOf struct {
	deploy  appsv1.Deployment
	config  corev1.ConfigMap
	service corev1.Service
	policy  networkingv1.NetworkPolicy
}

func getGateway(cl client.Client, network string) (*gatewayObjectsOf, error) {
	var g gatewayObjectsOf
	key := types.NamespacedName{Namespace: "gw", Name: kube.GatewayName(network)}
	for _, o := range []client.Object{&g.deploy, &g.config, &g.service, &g.policy} {
		if err := cl.Get(context.Background(), key, o); err != nil {
			return nil, fmt.Errorf("%T: %w", o, err)
		}
	}
	return &g, nil
}

// TestGatewayOnKubernetes: the operator runs spec.gateway as a Deployment with its
// ConfigMap, Service and NetworkPolicy, follows the group's and the gateway's scale, reports
// the URL, refuses what it cannot run without touching what runs, and removes the gateway
// with the spec field or the network.
func TestGatewayOnKubernetes(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "gw")
	ctx := context.Background()
	startOperator(t, cluster, controller.Config{Workers: 2, Builders: kube.Options{GatewayImage: "onf:test"}})
	n := createNetwork(t, cl, gatewaySpec)
	key := client.ObjectKeyFromObject(n)

	// waitGateway waits until the gateway's objects satisfy check.
	waitGateway := func(t *testing.T, what string, check func(*gatewayObjectsOf) error) *gatewayObjectsOf {
		t.Helper()
		var g *gatewayObjectsOf
		testenv.Eventually(t, 30*time.Second, what, func() (bool, error) {
			var err error
			if g, err = getGateway(cl, "dev"); err != nil {
				return false, err
			}
			err = check(g)
			return err == nil, err
		})
		return g
	}
	upstreams := func(want int) func(*gatewayObjectsOf) error {
		return func(g *gatewayObjectsOf) error {
			if got := strings.Count(g.config.Data["gateway.yaml"], "- http: "); got != want {
				return fmt.Errorf("%d upstreams in the config, want %d:\n%s", got, want, g.config.Data["gateway.yaml"])
			}
			return nil
		}
	}

	var first *gatewayObjectsOf
	t.Run("created", func(t *testing.T) {
		first = waitGateway(t, "the gateway's objects", upstreams(2))
		d := first.deploy
		if !metav1.IsControlledBy(&d, mustGet(t, cl, key)) {
			t.Errorf("the Deployment is not controlled by the network: %+v", d.OwnerReferences)
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != "onf:test" {
			t.Errorf("image %q, want the operator's --gateway-image", got)
		}
		if *d.Spec.Replicas != 1 {
			t.Errorf("replicas %d, want 1", *d.Spec.Replicas)
		}
		var rpcPolicy networkingv1.NetworkPolicy
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "gw", Name: kube.GroupName("dev", "rpc")}, &rpcPolicy); err != nil {
			t.Fatal(err)
		}
		if from := rpcPolicy.Spec.Ingress[1].From; len(from) == 0 || from[0].PodSelector.MatchLabels[kube.LabelName] != "onf-gateway" {
			t.Errorf("the rpc group's RPC ports are not kept for the gateway: %+v", rpcPolicy.Spec.Ingress)
		}
		testenv.Eventually(t, 30*time.Second, "status.gateway", func() (bool, error) {
			st := mustGet(t, cl, key).Status.Gateway
			want := v1alpha1.GatewayStatus{URL: "http://dev-gateway.gw.svc.cluster.local:8545", Desired: 1}
			return st != nil && *st == want, fmt.Errorf("status.gateway %+v, want %+v", st, want)
		})
	})

	t.Run("the group scales: new upstreams roll the pods", func(t *testing.T) {
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[1].Replicas = ptr(int32(3)) })
		// The ConfigMap and the Deployment are separate writes: wait for both.
		waitGateway(t, "three upstreams in the config and in the pod template", func(g *gatewayObjectsOf) error {
			if err := upstreams(3)(g); err != nil {
				return err
			}
			if g.deploy.Spec.Template.Annotations[kube.AnnotationGatewayConfig] == first.deploy.Spec.Template.Annotations[kube.AnnotationGatewayConfig] {
				return errors.New("a new config does not change the pod template: the running pods keep the old upstreams")
			}
			return nil
		})
	})

	t.Run("the gateway scales", func(t *testing.T) {
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Gateway.Replicas = ptr(int32(3)) })
		waitGateway(t, "three gateway replicas", func(g *gatewayObjectsOf) error {
			if *g.deploy.Spec.Replicas != 3 {
				return fmt.Errorf("replicas %d", *g.deploy.Spec.Replicas)
			}
			return nil
		})
		testenv.Eventually(t, 30*time.Second, "status.gateway.desired 3", func() (bool, error) {
			st := mustGet(t, cl, key).Status.Gateway
			return st != nil && st.Desired == 3, fmt.Errorf("status.gateway %+v", st)
		})
	})

	t.Run("refused before anything changes", func(t *testing.T) {
		before, err := getGateway(cl, "dev")
		if err != nil {
			t.Fatal(err)
		}
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Gateway.Config = "gateway.yaml"
			n.Spec.Gateway.Replicas = ptr(int32(5))
		})
		got := waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionTrue, kube.ReasonInvalidSpec, 30*time.Second)
		if msg := condition(got, kube.ConditionDegraded).Message; !strings.HasPrefix(msg, "spec.gateway.config: ") {
			t.Errorf("Degraded says %q, want the field path first", msg)
		}
		after, err := getGateway(cl, "dev")
		if err != nil {
			t.Fatal(err)
		}
		if after.deploy.ResourceVersion != before.deploy.ResourceVersion || after.config.ResourceVersion != before.config.ResourceVersion {
			t.Error("a refused spec changed the running gateway")
		}
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Gateway.Config = "" })
		waitCondition(t, cl, key, kube.ConditionDegraded, metav1.ConditionFalse, "", 30*time.Second)
	})

	t.Run("removed with the spec field", func(t *testing.T) {
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Gateway = nil })
		testenv.Eventually(t, 30*time.Second, "gateway objects deleted", func() (bool, error) {
			_, err := getGateway(cl, "dev")
			if err == nil || !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("still there: %v", err)
			}
			var all struct {
				d  appsv1.DeploymentList
				cm corev1.ConfigMapList
			}
			for _, l := range []client.ObjectList{&all.d, &all.cm} {
				if err := cl.List(ctx, l, client.InNamespace("gw"), client.MatchingLabels{kube.LabelName: "onf-gateway"}); err != nil {
					return false, err
				}
			}
			return len(all.d.Items)+len(all.cm.Items) == 0, fmt.Errorf("%d deployments, %d config maps left", len(all.d.Items), len(all.cm.Items))
		})
		testenv.Eventually(t, 30*time.Second, "status.gateway cleared", func() (bool, error) {
			st := mustGet(t, cl, key).Status.Gateway
			return st == nil, fmt.Errorf("status.gateway %+v", st)
		})
	})

	t.Run("collected with the network", func(t *testing.T) {
		patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Gateway = &v1alpha1.Gateway{Group: "rpc", KeysSecret: &v1alpha1.KeyReference{Name: "gateway-keys", Key: "keys.yaml"}}
		})
		waitGateway(t, "the gateway again", upstreams(3))
		if err := cl.Delete(ctx, mustGet(t, cl, key)); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 60*time.Second, "garbage collection", func() (bool, error) {
			_, err := getGateway(cl, "dev")
			return apierrors.IsNotFound(err), fmt.Errorf("gateway objects: %v", err)
		})
	})
}

// TestGatewayNeedsConfigOrKeys: the CRD refuses a gateway that no backend can run.
func TestGatewayNeedsConfigOrKeys(t *testing.T) {
	_, cl := startCluster(t, kubetest.Options{})
	n := parseNetwork(t, strings.Replace(gatewaySpec, "    keysSecret: {name: gateway-keys, key: keys.yaml}\n", "", 1))
	n.Namespace = "default"
	err := cl.Create(context.Background(), n)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "set config (local runs) or keysSecret (clusters)") {
		t.Fatalf("create: %v, want Invalid naming config and keysSecret", err)
	}
}

func mustGet(t *testing.T, cl client.Client, key types.NamespacedName) *v1alpha1.SubstrateNetwork {
	t.Helper()
	var n v1alpha1.SubstrateNetwork
	if err := cl.Get(context.Background(), key, &n); err != nil {
		t.Fatal(err)
	}
	return &n
}
