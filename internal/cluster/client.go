// Package cluster runs onf's day-2 commands (status, scale, logs, rpc, exec) against a
// SubstrateNetwork in a Kubernetes cluster, as the local runtime runs them on a local network:
// status reads the network's status and pods, scale patches spec.groups[i].replicas and waits
// for the operator, logs and exec go through the pods' log and exec subresources, and rpc
// reaches a node through a port-forward to its RPC port.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/network"
)

// Options reach a cluster as kubectl's flags do.
type Options struct {
	Kubeconfig string // default: $KUBECONFIG, then ~/.kube/config
	Context    string // default: the kubeconfig's current context
	Namespace  string // default: the context's namespace, then "default"
}

// Client is a namespace of a cluster.
type Client struct {
	Namespace string
	config    *rest.Config
	kube      client.Client
	core      kubernetes.Interface
}

// New reaches the cluster the kubeconfig and context name.
func New(o Options) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{
		CurrentContext: o.Context,
		Context:        clientcmdapi.Context{Namespace: o.Namespace},
	})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return NewForConfig(cfg, ns)
}

// NewForConfig reaches a cluster through a REST config.
func NewForConfig(cfg *rest.Config, namespace string) (*Client, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	kc, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{Namespace: namespace, config: cfg, kube: kc, core: core}, nil
}

// Networks are the names of the SubstrateNetworks in the namespace.
func (c *Client) Networks(ctx context.Context) ([]string, error) {
	var list v1alpha1.SubstrateNetworkList
	if err := c.kube.List(ctx, &list, client.InNamespace(c.Namespace)); err != nil {
		return nil, err
	}
	names := make([]string, len(list.Items))
	for i, n := range list.Items {
		names[i] = n.Name
	}
	return names, nil
}

func (c *Client) network(ctx context.Context, name string) (*v1alpha1.SubstrateNetwork, error) {
	var n v1alpha1.SubstrateNetwork
	err := c.kube.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: name}, &n)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("no SubstrateNetwork %q in namespace %s", name, c.Namespace)
	}
	return &n, err
}

// Status is `onf status` of the network.
func (c *Client) Status(ctx context.Context, name string) (*netstatus.Network, error) {
	n, err := c.network(ctx, name)
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := c.kube.List(ctx, &pods, client.InNamespace(c.Namespace), client.MatchingLabels{kube.LabelNetwork: name}); err != nil {
		return nil, err
	}
	st := statusOf(n, pods.Items)
	st.HA = haStatus(n, c.leaseReader(ctx, n.Namespace))
	return st, nil
}

// NetworkView is what the console's poller reads of one network.
type NetworkView struct {
	Network v1alpha1.SubstrateNetwork
	Status  *netstatus.Network
	// Backups are the newest backup of each node that the network's backup Job pods still
	// report (the Job controller keeps a CronJob's last few), newest first.
	Backups []backup.Manifest
}

// Statuses is `onf status` of every SubstrateNetwork in the namespace (in every namespace
// when Namespace is empty), with the networks themselves and their last backups, from two
// list calls whatever the number of networks (three when one has ha groups: their Leases):
// what the console's poller reads on each round.
func (c *Client) Statuses(ctx context.Context) ([]NetworkView, error) {
	var list v1alpha1.SubstrateNetworkList
	if err := c.kube.List(ctx, &list, client.InNamespace(c.Namespace)); err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := c.kube.List(ctx, &pods, client.InNamespace(c.Namespace), client.HasLabels{kube.LabelNetwork}); err != nil {
		return nil, err
	}
	byNetwork := map[types.NamespacedName][]corev1.Pod{}
	for _, p := range pods.Items {
		k := types.NamespacedName{Namespace: p.Namespace, Name: p.Labels[kube.LabelNetwork]}
		byNetwork[k] = append(byNetwork[k], p)
	}
	leases := c.leaseLister(ctx, list.Items)
	out := make([]NetworkView, len(list.Items))
	for i := range list.Items {
		n := &list.Items[i]
		mine := byNetwork[types.NamespacedName{Namespace: n.Namespace, Name: n.Name}]
		out[i] = NetworkView{Network: *n, Status: statusOf(n, mine), Backups: backupsOf(n.Name, mine)}
		if leases != nil {
			out[i].Status.HA = haStatus(n, func(name string) (ha.Holding, error) { return leases(n.Namespace, name) })
		}
	}
	return out, nil
}

// Scale sets a group's replicas in the network's spec and waits until the operator has
// applied it: as many pods as replicas, all Ready. The changed spec is validated first, so a
// refused count changes nothing.
func (c *Client) Scale(ctx context.Context, name, group string, replicas int, timeout time.Duration) error {
	n, err := c.network(ctx, name)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(n.Spec.Groups, func(g v1alpha1.NodeGroup) bool { return g.Name == group })
	if i < 0 {
		return fmt.Errorf("network %s has no group %q (groups: %s)", name, group, groupNames(n))
	}
	if a := n.Spec.Groups[i].Autoscaling; a != nil {
		return fmt.Errorf("spec.groups[%d].replicas: group %s is autoscaled (spec.groups[%d].autoscaling); change its bounds instead", i, group, i)
	}
	changed := n.DeepCopy()
	changed.APIVersion, changed.Kind = v1alpha1.GroupVersion.String(), v1alpha1.Kind
	count := int32(replicas)
	changed.Spec.Groups[i].Replicas = &count
	network.Default(changed)
	if err := network.Validate(changed); err != nil {
		return err
	}
	patch, err := scalePatch(i, group, count)
	if err != nil {
		return err
	}
	if err := c.kube.Patch(ctx, n, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("scale network %s group %s: %w", name, group, err)
	}
	return c.waitScaled(ctx, n.Name, n.Generation, group, count, timeout)
}

// scalePatch sets replicas of group i, provided group i is still the one named (the spec may
// have changed since it was read).
func scalePatch(i int, group string, replicas int32) ([]byte, error) {
	return json.Marshal([]map[string]any{
		{"op": "test", "path": fmt.Sprintf("/spec/groups/%d/name", i), "value": group},
		{"op": "add", "path": fmt.Sprintf("/spec/groups/%d/replicas", i), "value": replicas},
	})
}

// waitScaled waits until the operator observed generation gen and the group has exactly
// replicas pods, all Ready. A network that stays Degraded for degradedGrace fails the wait
// early with the condition's message.
func (c *Client) waitScaled(ctx context.Context, name string, gen int64, group string, replicas int32, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "waiting for the operator"
	var degraded lasting
	for {
		n, err := c.network(ctx, name)
		if err != nil {
			return err
		}
		if degraded.over(networkState(n) == "degraded", time.Now(), degradedGrace) {
			return fmt.Errorf("network %s is degraded: %s", n.Name, statusOf(n, nil).Error)
		}
		if last, err = c.scaled(ctx, n, gen, group, replicas); err != nil || last == "" {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("network %s group %s not scaled to %d: %s: %w", name, group, replicas, last, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// degradedGrace is how long a network may stay Degraded while a command waits for it: the
// kubelet retries a node that crashed or a container start the runtime failed under load
// (RunContainerError seen once in CI), and only a failure that lasts is worth failing for
// before the timeout.
const degradedGrace = time.Minute

// lasting tracks how long a condition has held across polls.
type lasting struct{ since time.Time }

// over records whether the condition holds at now and reports whether it has held for at
// least grace without a break.
func (l *lasting) over(holds bool, now time.Time, grace time.Duration) bool {
	switch {
	case !holds:
		l.since = time.Time{}
		return false
	case l.since.IsZero():
		l.since = now
	}
	return now.Sub(l.since) >= grace
}

// scaled says what the group still waits for, "" when it is done.
func (c *Client) scaled(ctx context.Context, n *v1alpha1.SubstrateNetwork, gen int64, group string, replicas int32) (string, error) {
	if n.Status.ObservedGeneration < gen {
		return "waiting for the operator to observe the change", nil
	}
	var pods corev1.PodList
	if err := c.kube.List(ctx, &pods, client.InNamespace(n.Namespace), client.MatchingLabels(kube.Selector(n.Name, group))); err != nil {
		return "", err
	}
	ready := 0
	for i := range pods.Items {
		if kube.PodReady(&pods.Items[i]) && pods.Items[i].DeletionTimestamp == nil {
			ready++
		}
	}
	if len(pods.Items) != int(replicas) || ready != int(replicas) {
		return fmt.Sprintf("%d pods, %d ready", len(pods.Items), ready), nil
	}
	return "", nil
}

// runningPod is the pod of a node whose container runs (what exec and port-forward need).
func (c *Client) runningPod(ctx context.Context, name, node string) (*corev1.Pod, error) {
	p, err := c.pod(ctx, name, node)
	if err != nil {
		return nil, err
	}
	if _, cs := nodeContainer(p); cs == nil || cs.State.Running == nil {
		return nil, fmt.Errorf("node %s of network %s is not running (pod %s is %s)", node, name, p.Name, podState(p))
	}
	return p, nil
}

func (c *Client) pod(ctx context.Context, name, node string) (*corev1.Pod, error) {
	n, err := c.network(ctx, name)
	if err != nil {
		return nil, err
	}
	podName, err := podOf(n, node)
	if err != nil {
		return nil, err
	}
	var p corev1.Pod
	err = c.kube.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: podName}, &p)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("node %s of network %s has no pod yet (pod %s)", node, name, podName)
	}
	if err == nil && len(p.Spec.Containers) == 0 {
		err = fmt.Errorf("pod %s has no containers", podName)
	}
	return &p, err
}

// podState is how a pod that is not running reads in errors.
func podState(p *corev1.Pod) string {
	row := netstatus.Node{}
	fillFromPod(&row, p)
	if row.RPCError != "" {
		return row.RPCError
	}
	return string(p.Status.Phase)
}

// Logs copies a node's log to out; follow keeps copying until ctx ends or the container stops.
// A container that has not started has no log: that is an error naming its state.
func (c *Client) Logs(ctx context.Context, name, node string, follow bool, out io.Writer) error {
	p, err := c.pod(ctx, name, node)
	if err != nil {
		return err
	}
	ctr, cs := nodeContainer(p)
	if cs == nil || (cs.State.Running == nil && cs.State.Terminated == nil && cs.LastTerminationState.Terminated == nil) {
		return fmt.Errorf("node %s of network %s has no log yet (pod %s is %s)", node, name, p.Name, podState(p))
	}
	rc, err := c.core.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ctr.Name, Follow: follow}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("node %s of network %s: %w", node, name, err)
	}
	defer rc.Close()
	_, err = io.Copy(out, rc)
	if ctx.Err() != nil {
		return nil // interrupted while following
	}
	return err
}

// Exec runs argv in the node's container with ONF_NODE, ONF_RPC_URL, ONF_WS_URL and
// ONF_METRICS_URL set to the node's own endpoints there (through env(1), which the image must
// have), as `onf exec` does for a local node.
func (c *Client) Exec(ctx context.Context, name, node string, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	p, err := c.runningPod(ctx, name, node)
	if err != nil {
		return err
	}
	row := netstatus.Node{Name: node}
	inPod := p.DeepCopy()
	inPod.Status.PodIP = "127.0.0.1"
	fillFromPod(&row, inPod)
	command := append([]string{"env", "ONF_NODE=" + row.Name, "ONF_RPC_URL=" + row.RPC, "ONF_WS_URL=" + row.WS,
		"ONF_METRICS_URL=" + row.Metrics}, argv...)
	ctr, _ := nodeContainer(p)
	req := c.core.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: ctr.Name, Command: command, Stdin: stdin != nil, Stdout: true, Stderr: true,
		}, clientgoscheme.ParameterCodec)
	spdyExec, err := remotecommand.NewSPDYExecutor(c.config, http.MethodPost, req.URL())
	if err != nil {
		return err
	}
	wsExec, err := remotecommand.NewWebSocketExecutor(c.config, http.MethodGet, req.URL().String())
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewFallbackExecutor(wsExec, spdyExec, upgradeFailed)
	if err != nil {
		return err
	}
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	if err != nil {
		return fmt.Errorf("node %s of network %s: %w", node, name, err)
	}
	return nil
}

// upgradeFailed says the API server (or a proxy) refused the WebSocket upgrade, so the older
// SPDY protocol is worth trying, as kubectl does.
func upgradeFailed(err error) bool {
	return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
}

// ForwardRPC forwards a free loopback port to the node's RPC port and returns its URL; stop
// ends the forwarding.
func (c *Client) ForwardRPC(ctx context.Context, name, node string) (url string, stop func(), err error) {
	p, err := c.runningPod(ctx, name, node)
	if err != nil {
		return "", nil, err
	}
	ctr, _ := nodeContainer(p)
	var port int32
	for _, cp := range ctr.Ports {
		if cp.Name == kube.PortRPC {
			port = cp.ContainerPort
		}
	}
	if port == 0 {
		return "", nil, fmt.Errorf("pod %s has no port named %s", p.Name, kube.PortRPC)
	}
	target := c.core.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(c.config)
	if err != nil {
		return "", nil, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, target)
	tunnel, err := portforward.NewSPDYOverWebsocketDialer(target, c.config)
	if err != nil {
		return "", nil, err
	}
	stopCh, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(portforward.NewFallbackDialer(tunnel, dialer, upgradeFailed),
		[]string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stopCh, ready, io.Discard, io.Discard)
	if err != nil {
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	var once sync.Once
	stop = func() { once.Do(func() { close(stopCh) }) }
	select {
	case <-ready:
	case err := <-done:
		if err == nil {
			err = errors.New("forwarding stopped")
		}
		return "", nil, fmt.Errorf("port-forward to node %s of network %s: %w", node, name, err)
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		stop()
		return "", nil, fmt.Errorf("port-forward to node %s of network %s: no local port: %v", node, name, err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", ports[0].Local), stop, nil
}
