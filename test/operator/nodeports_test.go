package operator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

// With p2p.expose NodePort every pod announces its own Service's node port, not the
// container port: the operator writes the allocated node port into the pod's annotation, which
// the node's --public-addr reads through the downward API. When a Service's node port changes,
// its pod is replaced and announces the new one.
func TestNodePortsAnnounced(t *testing.T) {
	cl := exposedBootNodes(t, "{expose: NodePort, publicHost: 203.0.113.7}")
	ctx := context.Background()
	p2pService := func(i int) (*corev1.Service, error) {
		svc := &corev1.Service{}
		return svc, cl.Get(ctx, types.NamespacedName{Namespace: "edge", Name: kube.P2PServiceName("edge", "boot", i)}, svc)
	}
	nodePortAddr := func(i int) (string, error) {
		svc, err := p2pService(i)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("/ip4/203.0.113.7/tcp/%d", svc.Spec.Ports[0].NodePort), nil
	}
	before := waitAnnounced(t, cl, "each pod announcing its Service's node port", nodePortAddr)

	// A new node port (a Service recreated, or changed by hand) replaces its pod.
	svc, err := p2pService(1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := publicAddr(before[0])
	if err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(svc.DeepCopy())
	for p := int32(30000); p < 32768; p++ {
		if p != svc.Spec.Ports[0].NodePort && !strings.HasSuffix(other, fmt.Sprintf("/%d", p)) {
			svc.Spec.Ports[0].NodePort = p
			break
		}
	}
	if err := cl.Patch(ctx, svc, patch); err != nil {
		t.Fatal(err)
	}
	after := waitAnnounced(t, cl, "pod 1 announcing its new node port", nodePortAddr)
	checkReplaced(t, before, after, 1)
}

// With p2p.expose LoadBalancer and no publicHost every pod announces its own load balancer's
// address, from its P2P Service's status.loadBalancer.ingress. No cloud controller runs here:
// fakeLoadBalancer stands in for one by writing that status through the status subresource,
// as a cloud controller does. A new address replaces the pod, which then announces it.
func TestLoadBalancerAddressAnnounced(t *testing.T) {
	cl := exposedBootNodes(t, "{expose: LoadBalancer, service: {externalTrafficPolicy: Cluster, annotations: {example.org/lb: p2p}}}")
	ctx := context.Background()
	// Until its load balancer has an address a pod has nothing to announce.
	testenv.Eventually(t, 120*time.Second, "both pods created, told nothing yet", func() (bool, error) {
		for i := range 2 {
			var p corev1.Pod
			if err := cl.Get(ctx, types.NamespacedName{Namespace: "edge", Name: kube.PodName("edge", "boot", i)}, &p); err != nil {
				return false, err
			}
			if v, ok := p.Annotations[kube.AnnotationP2PPublicAddr]; ok {
				return false, fmt.Errorf("pod %d told %q before its load balancer has an address", i, v)
			}
		}
		return true, nil
	})
	var svc corev1.Service
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "edge", Name: kube.P2PServiceName("edge", "boot", 0)}, &svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster || svc.Annotations["example.org/lb"] != "p2p" {
		t.Fatalf("P2P Service: type %s, externalTrafficPolicy %s, annotations %v", svc.Spec.Type, svc.Spec.ExternalTrafficPolicy, svc.Annotations)
	}

	fakeLoadBalancer(t, cl, 0, corev1.LoadBalancerIngress{IP: "203.0.113.10"})
	fakeLoadBalancer(t, cl, 1, corev1.LoadBalancerIngress{Hostname: "boot-1.lb.example.org"})
	want := []string{"/ip4/203.0.113.10/tcp/30333", "/dns/boot-1.lb.example.org/tcp/30333"}
	lbAddr := func(i int) (string, error) { return want[i], nil }
	before := waitAnnounced(t, cl, "each pod announcing its load balancer's address", lbAddr)

	fakeLoadBalancer(t, cl, 0, corev1.LoadBalancerIngress{IP: "203.0.113.11"})
	want[0] = "/ip4/203.0.113.11/tcp/30333"
	after := waitAnnounced(t, cl, "pod 0 announcing its load balancer's new address", lbAddr)
	checkReplaced(t, before, after, 0)
}

// exposedBootNodes runs an operator and the network edge of two boot nodes with p2p p2p (in
// namespace edge) on a cluster whose pods kwok runs.
func exposedBootNodes(t *testing.T, p2p string) client.Client {
	c, cl := startCluster(t, kubetest.Options{Workloads: true}, "edge")
	startOperator(t, c, controller.Config{})
	createNetwork(t, cl, polkadotNetwork("edge", "edge", polkadotImage, `
  groups:
    - name: boot
      role: bootnode
      replicas: 2
      p2p: `+p2p+`
`))
	return cl
}

// fakeLoadBalancer is a fake cloud controller: it gives boot pod i's LoadBalancer Service an
// address by writing its status, which is all a cloud controller does that the operator sees.
func fakeLoadBalancer(t *testing.T, cl client.Client, i int, ingress corev1.LoadBalancerIngress) {
	t.Helper()
	name := kube.P2PServiceName("edge", "boot", i)
	testenv.Eventually(t, 30*time.Second, "fake load balancer address on "+name, func() (bool, error) {
		var svc corev1.Service
		if err := cl.Get(context.Background(), types.NamespacedName{Namespace: "edge", Name: name}, &svc); err != nil {
			return false, err
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{ingress}
		return true, cl.Status().Update(context.Background(), &svc)
	})
}

// waitAnnounced waits until each boot pod i announces want(i), and returns the pods.
func waitAnnounced(t *testing.T, cl client.Client, what string, want func(i int) (string, error)) map[int]*corev1.Pod {
	t.Helper()
	pods := map[int]*corev1.Pod{}
	testenv.Eventually(t, 120*time.Second, what, func() (bool, error) {
		for i := range 2 {
			pod := &corev1.Pod{}
			if err := cl.Get(context.Background(), types.NamespacedName{Namespace: "edge", Name: kube.PodName("edge", "boot", i)}, pod); err != nil {
				return false, err
			}
			addr, err := publicAddr(pod)
			if err != nil {
				return false, err
			}
			w, err := want(i)
			if err != nil {
				return false, err
			}
			if addr != w {
				return false, fmt.Errorf("pod %d announces %q, want %q", i, addr, w)
			}
			pods[i] = pod
		}
		return true, nil
	})
	return pods
}

// checkReplaced: pod changed, whose address changed, was replaced, and the others were not.
func checkReplaced(t *testing.T, before, after map[int]*corev1.Pod, changed int) {
	t.Helper()
	for i := range before {
		if replaced := after[i].UID != before[i].UID; replaced != (i == changed) {
			t.Errorf("pod %d replaced: %v, want %v (only the pod whose address changed)", i, replaced, i == changed)
		}
	}
}

// publicAddr is the --public-addr a pod's node announces, with the variables it reads from the
// pod's annotations resolved as the kubelet resolves them.
func publicAddr(pod *corev1.Pod) (string, error) {
	node := pod.Spec.Containers[0]
	at := slices.Index(node.Args, "--public-addr")
	if at < 0 {
		return "", fmt.Errorf("pod %s: no --public-addr in %v", pod.Name, node.Args)
	}
	addr := node.Args[at+1]
	for _, e := range node.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			key, ok := strings.CutPrefix(e.ValueFrom.FieldRef.FieldPath, "metadata.annotations['")
			if !ok {
				continue
			}
			addr = strings.ReplaceAll(addr, "$("+e.Name+")", pod.Annotations[strings.TrimSuffix(key, "']")])
		}
	}
	return addr, nil
}
