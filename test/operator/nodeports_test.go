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
	c, cl := startCluster(t, kubetest.Options{Workloads: true}, "edge")
	startOperator(t, c, controller.Config{})
	ctx := context.Background()
	createNetwork(t, cl, polkadotNetwork("edge", "edge", polkadotImage, `
  groups:
    - name: boot
      role: bootnode
      replicas: 2
      p2p: {expose: NodePort, publicHost: 203.0.113.7}
`))
	// announced is what pod i's node announces, its env resolved as the kubelet resolves it
	// from the pod's annotations, and its Service's node port.
	announced := func(i int) (addr string, nodePort int32, pod *corev1.Pod, err error) {
		pod = &corev1.Pod{}
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "edge", Name: kube.PodName("edge", "boot", i)}, pod); err != nil {
			return "", 0, nil, err
		}
		var svc corev1.Service
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "edge", Name: kube.P2PServiceName("edge", "boot", i)}, &svc); err != nil {
			return "", 0, nil, err
		}
		nodePort = svc.Spec.Ports[0].NodePort
		node := pod.Spec.Containers[0]
		at := slices.Index(node.Args, "--public-addr")
		if at < 0 {
			return "", 0, nil, fmt.Errorf("pod %s: no --public-addr in %v", pod.Name, node.Args)
		}
		addr = node.Args[at+1]
		for _, e := range node.Env {
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				path := e.ValueFrom.FieldRef.FieldPath
				key, ok := strings.CutPrefix(path, "metadata.annotations['")
				if !ok {
					continue
				}
				addr = strings.ReplaceAll(addr, "$("+e.Name+")", pod.Annotations[strings.TrimSuffix(key, "']")])
			}
		}
		return addr, nodePort, pod, nil
	}
	check := func(what string) map[int]*corev1.Pod {
		pods := map[int]*corev1.Pod{}
		testenv.Eventually(t, 120*time.Second, what, func() (bool, error) {
			for i := range 2 {
				addr, port, pod, err := announced(i)
				if err != nil {
					return false, err
				}
				if want := fmt.Sprintf("/ip4/203.0.113.7/tcp/%d", port); addr != want {
					return false, fmt.Errorf("pod %d announces %q, want %q", i, addr, want)
				}
				pods[i] = pod
			}
			return true, nil
		})
		return pods
	}
	before := check("each pod announcing its Service's node port")

	// A new node port (a Service recreated, or changed by hand) replaces its pod.
	var svc corev1.Service
	key := types.NamespacedName{Namespace: "edge", Name: kube.P2PServiceName("edge", "boot", 1)}
	if err := cl.Get(ctx, key, &svc); err != nil {
		t.Fatal(err)
	}
	other, _, _, err := announced(0)
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
	if err := cl.Patch(ctx, &svc, patch); err != nil {
		t.Fatal(err)
	}
	after := check("pod 1 announcing its new node port")
	if after[1].UID == before[1].UID {
		t.Errorf("pod 1 was not replaced for its new node port")
	}
	if after[0].UID != before[0].UID {
		t.Errorf("pod 0 was replaced although its node port did not change")
	}
}
