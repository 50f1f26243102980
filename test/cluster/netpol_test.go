package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/testenv"
)

// testNetworkPolicies runs the dev network on the real node, whose NetworkPolicies
// kube-network-policies enforces, and tries connections from inside the cluster: a pod
// without the network's labels reaches the rpc node's RPC and the validator's P2P port but is
// dropped on the validator's RPC port; a pod labelled as the operator reaches the validator's
// RPC; the network's own rpc node reaches the validator's P2P port, not its RPC.
func testNetworkPolicies(t *testing.T, rc *realCluster) {
	ns := rc.namespace(t, "netpol")
	e := &env{cluster: rc.cluster, cl: rc.cl, net: devNetwork(t, ns, rc.image)}
	if err := rc.cl.Create(context.Background(), e.net); err != nil {
		t.Fatal(err)
	}
	byName := map[string]corev1.Pod{}
	for _, p := range e.waitPods(t, 3, 4*time.Minute) {
		byName[p.Name] = p
	}
	// Every node has peers: P2P between the network's pods passes the policies.
	e.waitSameChain(t, 3, 1, 3*time.Minute)

	validator := byName[kube.PodName("dev", "validator", 0)]
	rpcNode := byName[kube.PodName("dev", "rpc", 0)]
	validatorRPC, validatorP2P := podAddr(t, &validator, kube.PortRPC), podAddr(t, &validator, "p2p")
	rpcNodeRPC := podAddr(t, &rpcNode, kube.PortRPC)

	core, err := kubernetes.NewForConfig(rc.cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	x := &prober{t: t, rc: rc, core: core}
	stranger := x.clientPod(ns, "stranger", nil)
	operator := x.clientPod(ns, "operator-like", map[string]string{kube.LabelName: "onf-operator"})

	for _, c := range []struct {
		from *corev1.Pod
		to   string
		want string
	}{
		{stranger, validatorRPC, verdictDropped},
		{stranger, validatorP2P, verdictOpen},
		{stranger, rpcNodeRPC, verdictOpen},
		{operator, validatorRPC, verdictOpen},
		{&rpcNode, validatorP2P, verdictOpen},
		{&rpcNode, validatorRPC, verdictDropped},
	} {
		// The engine learns new pods and policies from the API server: wait for the
		// verdict rather than read the first one.
		testenv.Eventually(t, time.Minute, fmt.Sprintf("%s to %s %s", c.from.Name, c.to, c.want), func() (bool, error) {
			got, err := x.connect(c.from, c.to)
			return got == c.want, fmt.Errorf("%s (%v)", got, err)
		})
	}
}

// What a TCP connection attempt from a pod comes to: the handshake completes, or the SYN is
// dropped (a policy's verdict; a closed port would refuse instead).
const (
	verdictOpen    = "open"
	verdictDropped = "dropped"
)

type prober struct {
	t    *testing.T
	rc   *realCluster
	core kubernetes.Interface
}

// podAddr is the pod's address and its node container's port named name.
func podAddr(t *testing.T, p *corev1.Pod, name string) string {
	t.Helper()
	for _, port := range p.Spec.Containers[0].Ports {
		if port.Name == name {
			return net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(port.ContainerPort)))
		}
	}
	t.Fatalf("%s has no port %s", p.Name, name)
	return ""
}

// clientPod runs a pod of the gossamer image (busybox's sh, nc and timeout) that sleeps, with
// labels, until the test ends, and returns it once it runs with an address.
func (x *prober) clientPod(ns, name string, labels map[string]string) *corev1.Pod {
	x.t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "client", Image: x.rc.image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sleep", "3600"},
			}},
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	if err := x.rc.cl.Create(ctx, p); err != nil {
		x.t.Fatal(err)
	}
	x.t.Cleanup(func() { _ = x.rc.cl.Delete(ctx, p) })
	testenv.Eventually(x.t, 2*time.Minute, name+" running", func() (bool, error) {
		if err := x.rc.cl.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "", fmt.Errorf("%s", podState(p))
	})
	return p
}

// connect opens a TCP connection from inside pod p to addr with busybox nc, which says
// "timed out" when the SYN goes unanswered for 3 s and "can't connect" when it is refused.
func (x *prober) connect(p *corev1.Pod, addr string) (string, error) {
	host, port, _ := net.SplitHostPort(addr)
	out, err := x.exec(p, "sh", "-c", `timeout 6 nc -w 3 "$0" "$1" </dev/null 2>&1 >/dev/null; true`, host, port)
	switch {
	case err != nil:
		return "", err
	case strings.Contains(out, "timed out"):
		return verdictDropped, nil
	case out == "":
		return verdictOpen, nil
	default:
		return strings.TrimSpace(out), nil
	}
}

// exec runs argv in the first container of pod p and returns what it printed.
func (x *prober) exec(p *corev1.Pod, argv ...string) (string, error) {
	req := x.core.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: p.Spec.Containers[0].Name, Command: argv, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	e, err := remotecommand.NewSPDYExecutor(x.rc.cluster.Config, http.MethodPost, req.URL())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err = e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &out})
	return out.String(), err
}
