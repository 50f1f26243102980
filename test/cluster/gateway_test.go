package cluster

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/gatewaytest"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/test/polkadotjs"
)

// gatewayKeys is a Secret holding an API key file with one key.
func gatewayKeys(t *testing.T, ns, id, key string) *corev1.Secret {
	t.Helper()
	doc, err := yaml.Marshal(auth.KeyFile{Keys: []auth.KeyEntry{{ID: id, SHA256: auth.HashKey(key)}}})
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "rpc-gateway-keys", Namespace: ns},
		Data:       map[string][]byte{"keys.yaml": doc},
	}
}

// testGateway runs the dev network with spec.gateway on the real node: the gateway pods run
// the onf image, reach the rpc group through its pods' DNS names, and polkadot-js, at the
// address the gateway's Service routes to, follows new heads and gets a signed transfer into
// a block with a key, and 401 without one. A key rotated in the Secret is in force without a
// restart.
func testGateway(t *testing.T, rc *realCluster) {
	onfImage := testenv.Value(t, "ONF_IMAGE", "run `eval \"$(scripts/images.sh env)\"` after scripts/cluster-host.sh")
	polkadotjs.Dir(t)
	ns := rc.namespace(t, "gateway")
	cl, image := rc.cl, rc.image
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	key, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	secret := gatewayKeys(t, ns, "team-a", key)
	if err := cl.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	n := devNetwork(t, ns, image)
	n.Spec.Gateway = &v1alpha1.Gateway{
		Group:      "rpc",
		KeysSecret: &v1alpha1.KeyReference{Name: secret.Name, Key: "keys.yaml"},
		Image:      onfImage,
	}
	start := time.Now()
	if err := cl.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	netKey := client.ObjectKeyFromObject(n)

	var url string
	t.Run("gateway ready, URL in status", func(t *testing.T) {
		testenv.Eventually(t, 6*time.Minute, "status.gateway ready", func() (bool, error) {
			var got v1alpha1.SubstrateNetwork
			if err := cl.Get(ctx, netKey, &got); err != nil {
				return false, err
			}
			st := got.Status.Gateway
			return st != nil && st.Ready == 1, fmt.Errorf("status.gateway %+v", st)
		})
		t.Logf("gateway ready %s after the network was created", time.Since(start).Round(time.Second))
		url = fmt.Sprintf("%s:%d/", gatewayEndpoint(t, cl, ns), kube.GatewayPort)
	})
	if url == "" {
		t.FailNow()
	}

	t.Run("blocks through the gateway", func(t *testing.T) {
		c, err := rpc.Dial(ctx, "http://"+url, rpc.WithHeader("Authorization", "Bearer "+key))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		testenv.Eventually(t, 3*time.Minute, "block 2 through the gateway", func() (bool, error) {
			h, err := c.BestHeader(ctx)
			return err == nil && h.Number >= 2, err
		})
	})

	t.Run("polkadot-js: heads, a transfer, 401 without a key", func(t *testing.T) {
		polkadotjs.Run(t, ctx, "ws://"+url, key)
	})

	t.Run("a rotated key is in force without a restart", func(t *testing.T) {
		rotated, err := auth.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		var live corev1.Secret
		if err := cl.Get(ctx, client.ObjectKeyFromObject(secret), &live); err != nil {
			t.Fatal(err)
		}
		live.Data = gatewayKeys(t, ns, "team-b", rotated).Data
		if err := cl.Update(ctx, &live); err != nil {
			t.Fatal(err)
		}
		before := map[string]bool{}
		for _, p := range gatewayPods(t, cl, ns) {
			before[p.Name] = true
		}
		const call = `{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}`
		changed := time.Now()
		testenv.Eventually(t, 3*time.Minute, "the rotated key in force", func() (bool, error) {
			code, _ := gatewaytest.Post(t, "http://"+url, rotated, call)
			return code == http.StatusOK, fmt.Errorf("status %d", code)
		})
		t.Logf("rotated key in force %s after the Secret changed", time.Since(changed).Round(time.Second))
		if code, _ := gatewaytest.Post(t, "http://"+url, key, call); code != http.StatusUnauthorized {
			t.Errorf("the removed key: status %d, want 401", code)
		}
		for _, p := range gatewayPods(t, cl, ns) {
			if restarts := p.Status.ContainerStatuses[0].RestartCount; restarts != 0 || !before[p.Name] {
				t.Errorf("gateway pod %s restarted %d times or is new: the rotation restarted the gateway", p.Name, restarts)
			}
		}
	})
}

// gatewayEndpoint is the address the gateway's Service sends its gateway port to: a ready
// gateway pod's IP in the Service's EndpointSlice (the one gateway pod's address; the test
// process on the node reaches pod addresses on the CNI bridge without kube-proxy).
func gatewayEndpoint(t *testing.T, cl client.Client, ns string) string {
	t.Helper()
	var addr string
	testenv.Eventually(t, time.Minute, "a ready endpoint of the gateway Service", func() (bool, error) {
		var slices discoveryv1.EndpointSliceList
		if err := cl.List(context.Background(), &slices, client.InNamespace(ns),
			client.MatchingLabels{discoveryv1.LabelServiceName: kube.GatewayName("dev")}); err != nil {
			return false, err
		}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if servesGateway(s) && e.Conditions.Ready != nil && *e.Conditions.Ready && len(e.Addresses) > 0 {
					addr = e.Addresses[0]
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("%d endpoint slices, none with a ready gateway pod", len(slices.Items))
	})
	return addr
}

// servesGateway reports whether an EndpointSlice sends the gateway port to 8545.
func servesGateway(s discoveryv1.EndpointSlice) bool {
	for _, p := range s.Ports {
		if p.Name != nil && *p.Name == "gateway" && p.Port != nil && *p.Port == kube.GatewayPort {
			return true
		}
	}
	return false
}

// gatewayPods are the gateway's pods.
func gatewayPods(t *testing.T, cl client.Client, ns string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := cl.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels(kube.GatewayLabels("dev"))); err != nil {
		t.Fatal(err)
	}
	return list.Items
}
