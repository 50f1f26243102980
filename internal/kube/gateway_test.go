package kube

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	gwconfig "github.com/dinfra/stack/internal/gateway/config"
)

// gatewayConfigOf builds the network and returns the config its gateway pods read.
func gatewayConfigOf(t *testing.T, n *v1alpha1.SubstrateNetwork, opts Options) *gwconfig.Config {
	t.Helper()
	objs, err := Desired(n, testKeys(t, n), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == GatewayName(n.Name) {
			cfg, err := gwconfig.Parse([]byte(cm.Data[gatewayConfigKey]))
			if err != nil {
				t.Fatal(err)
			}
			return cfg
		}
	}
	t.Fatal("no gateway ConfigMap")
	return nil
}

func TestGatewayUpstreams(t *testing.T) {
	tests := []struct {
		name   string
		change func(*v1alpha1.SubstrateNetwork)
		want   []string // ws URLs
	}{
		{"every replica", func(*v1alpha1.SubstrateNetwork) {}, []string{
			"ws://dev-rpc-0.dev-rpc.chains.svc.cluster.local:9945", "ws://dev-rpc-1.dev-rpc.chains.svc.cluster.local:9945",
		}},
		{"scaled to zero keeps the first pod", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[1].Replicas = ptr(int32(0)) }, []string{
			"ws://dev-rpc-0.dev-rpc.chains.svc.cluster.local:9945",
		}},
		{"autoscaled: up to the maximum", func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Groups[1].Autoscaling = &v1alpha1.Autoscaling{MinReplicas: 1, MaxReplicas: 3}
		}, []string{
			"ws://dev-rpc-0.dev-rpc.chains.svc.cluster.local:9945", "ws://dev-rpc-1.dev-rpc.chains.svc.cluster.local:9945",
			"ws://dev-rpc-2.dev-rpc.chains.svc.cluster.local:9945",
		}},
		{"polkadot-sdk: WebSocket on the RPC port", func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Node.Flavor = v1alpha1.FlavorSubstrate
			n.Spec.Node.Binary = "polkadot"
		}, []string{
			"ws://dev-rpc-0.dev-rpc.chains.svc.cluster.local:9944", "ws://dev-rpc-1.dev-rpc.chains.svc.cluster.local:9944",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := loadSpec(t, "testdata/gateway.yaml")
			tc.change(n)
			cfg := gatewayConfigOf(t, n, Options{})
			var got []string
			for _, u := range cfg.Upstreams {
				got = append(got, u.WS)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("upstreams %v, want %v", got, tc.want)
			}
			if cfg.Listen != "0.0.0.0:8545" || cfg.Auth.APIKeys.File != "/etc/onf/gateway/keys/keys.yaml" {
				t.Errorf("listen %s, key file %s", cfg.Listen, cfg.Auth.APIKeys.File)
			}
		})
	}
}

func TestGatewayImageFromOptions(t *testing.T) {
	n := loadSpec(t, "testdata/gateway.yaml")
	n.Spec.Gateway.Image = ""
	objs, err := Desired(n, testKeys(t, n), Options{GatewayImage: "onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			if img := d.Spec.Template.Spec.Containers[0].Image; img != "onf:test" {
				t.Errorf("image %q, want the operator's onf:test", img)
			}
			return
		}
	}
	t.Fatal("no gateway Deployment")
}

func TestGatewayRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*v1alpha1.SubstrateNetwork)
		want   string
	}{
		{"local config file", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Gateway.Config = "gateway.yaml" },
			"spec.gateway.config: a local file is not read on Kubernetes"},
		{"no key Secret", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Gateway.KeysSecret = nil },
			"spec.gateway.keysSecret: required on Kubernetes"},
		{"no image", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Gateway.Image = "" },
			"spec.gateway.image: a container image is required on Kubernetes"},
		{"a group named gateway", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[0].Name = "gateway" },
			`spec.groups[0].name: "gateway" names the gateway's objects`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := loadSpec(t, "testdata/gateway.yaml")
			tc.change(n)
			_, err := Desired(n, testKeys(t, n), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Desired: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestComputeStatusGateway(t *testing.T) {
	n := statusNetwork()
	n.Spec.Gateway = &v1alpha1.Gateway{Group: "rpc", Replicas: ptr(int32(2))}
	deploy := func(ready int32) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Generation: 2},
			Status:     appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: ready},
		}
	}
	nodes := map[string]*appsv1.StatefulSet{"validator": sts(2, 2, 2), "rpc": sts(1, 1, 1)}
	gatewayPod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "net-gateway-x", Labels: map[string]string{LabelNetwork: "net"}}}
	url := "http://net-gateway.chains.svc.cluster.local:8545"
	tests := []struct {
		name    string
		gateway *appsv1.Deployment
		ready   metav1.ConditionStatus
		message string // of Progressing
		readyGW int32
	}{
		{"not created", nil, "False", "gateway: not created", 0},
		{"starting", deploy(1), "False", "gateway: 1/2 replicas ready", 1},
		{"ready", deploy(2), "True", "every group runs its current spec", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := Observed{StatefulSets: nodes, Gateway: tc.gateway, GatewayURL: url, Pods: []corev1.Pod{gatewayPod}}
			st := ComputeStatus(n, obs, "", "", metav1.NewTime(time.Unix(0, 0)))
			if c := meta.FindStatusCondition(st.Conditions, ConditionReady); c.Status != tc.ready {
				t.Errorf("Ready %s (%s), want %s", c.Status, c.Message, tc.ready)
			}
			if c := meta.FindStatusCondition(st.Conditions, ConditionProgressing); c.Message != tc.message {
				t.Errorf("Progressing says %q, want %q", c.Message, tc.message)
			}
			want := v1alpha1.GatewayStatus{URL: url, Desired: 2, Ready: tc.readyGW}
			if st.Gateway == nil || *st.Gateway != want {
				t.Errorf("gateway status %+v, want %+v", st.Gateway, want)
			}
			if len(st.Nodes) != 0 {
				t.Errorf("the gateway's pod is listed as a node: %+v", st.Nodes)
			}
		})
	}
}
