// Package nodestatus gathers chain facts (best and finalized block, peers, syncing, version)
// from every running node of every SubstrateNetwork over RPC, in the background, so that
// reconciles read them from memory and never wait on a node.
package nodestatus

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/rpc"
)

// Prober reads one node's status from its RPC endpoint.
type Prober func(ctx context.Context, endpoint string) (*rpc.Status, error)

// ProbeRPC dials the node over HTTP and reads its status in one batch.
func ProbeRPC(ctx context.Context, endpoint string) (*rpc.Status, error) {
	c, err := rpc.Dial(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Status(ctx)
}

// Cache polls the nodes and keeps their last status per network.
type Cache struct {
	// Reader lists the nodes' pods (the manager's cached client).
	Reader client.Reader
	// Interval between polls of all nodes (default 15s).
	Interval time.Duration
	// Timeout of one node's poll (default 3s).
	Timeout time.Duration
	// Parallel polls at most (default 16).
	Parallel int
	// Probe reads a node (default ProbeRPC).
	Probe Prober
	// Endpoint is the RPC URL of a pod (default http://<pod IP>:<port named rpc>).
	Endpoint func(*corev1.Pod) string
	// Log receives poll failures at debug level: unreachable nodes are normal while starting.
	Log *slog.Logger

	mu       sync.Mutex
	networks map[types.NamespacedName]map[string]v1alpha1.NodeStatus
	// polled is the UID of the pod each network's facts were read from: a pod restarted
	// under the same name has no facts of its own until the next poll (canary gates).
	polled map[types.NamespacedName]map[string]types.UID
	events chan event.GenericEvent
}

// Events delivers a network whenever its nodes' facts change; the controller watches it so
// the status catches up without polling in reconcile.
func (c *Cache) Events() <-chan event.GenericEvent {
	c.init()
	return c.events
}

func (c *Cache) init() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.events == nil {
		c.events = make(chan event.GenericEvent, 1024)
	}
}

// Nodes returns the last facts of a network's nodes, by pod name.
func (c *Cache) Nodes(network types.NamespacedName) map[string]v1alpha1.NodeStatus {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.networks[network])
}

// PolledUID is the UID of the pod whose facts Nodes returns under that pod name; "" when none.
func (c *Cache) PolledUID(network types.NamespacedName, pod string) types.UID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.polled[network][pod]
}

// Start polls until ctx ends (a manager Runnable).
func (c *Cache) Start(ctx context.Context) error {
	interval := orDefault(c.Interval, 15*time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.pollAll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// NeedLeaderElection: only the leader reports status.
func (c *Cache) NeedLeaderElection() bool { return true }

type result struct {
	network types.NamespacedName
	pod     string
	uid     types.UID
	status  v1alpha1.NodeStatus
}

func (c *Cache) pollAll(ctx context.Context) {
	c.init()
	var pods corev1.PodList
	if err := c.Reader.List(ctx, &pods, client.HasLabels{kube.LabelNetwork, kube.LabelGroup}, client.MatchingLabels{kube.LabelManagedBy: kube.ManagedBy}); err != nil {
		c.log().Warn("list node pods", "err", err)
		return
	}
	results := make(chan result)
	parallel := c.Parallel
	if parallel <= 0 {
		parallel = 16
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range pods.Items {
		p := &pods.Items[i]
		endpoint := c.endpoint(p)
		if endpoint == "" || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results <- result{
				network: types.NamespacedName{Namespace: p.Namespace, Name: p.Labels[kube.LabelNetwork]},
				pod:     p.Name,
				uid:     p.UID,
				status:  c.poll(ctx, p.Name, endpoint),
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	next := map[types.NamespacedName]map[string]v1alpha1.NodeStatus{}
	polled := map[types.NamespacedName]map[string]types.UID{}
	for r := range results {
		if next[r.network] == nil {
			next[r.network] = map[string]v1alpha1.NodeStatus{}
			polled[r.network] = map[string]types.UID{}
		}
		next[r.network][r.pod] = r.status
		polled[r.network][r.pod] = r.uid
	}
	c.swap(next, polled)
}

// poll reads one node; an unreachable node has no facts (zero values).
func (c *Cache) poll(ctx context.Context, pod, endpoint string) v1alpha1.NodeStatus {
	ctx, cancel := context.WithTimeout(ctx, orDefault(c.Timeout, 3*time.Second))
	defer cancel()
	probe := c.Probe
	if probe == nil {
		probe = ProbeRPC
	}
	s, err := probe(ctx, endpoint)
	if err != nil {
		c.log().Debug("poll node", "pod", pod, "err", err)
		return v1alpha1.NodeStatus{}
	}
	return v1alpha1.NodeStatus{
		Version: s.Version, PeerID: s.PeerID, Peers: int32(s.Health.Peers),
		Best: int64(s.Best), Finalized: int64(s.Finalized), Syncing: s.Health.IsSyncing,
	}
}

// swap replaces the facts and announces the networks whose facts changed.
func (c *Cache) swap(next map[types.NamespacedName]map[string]v1alpha1.NodeStatus, polled map[types.NamespacedName]map[string]types.UID) {
	c.mu.Lock()
	var changed []types.NamespacedName
	for k, v := range next {
		if !maps.Equal(c.networks[k], v) {
			changed = append(changed, k)
		}
	}
	for k := range c.networks {
		if _, ok := next[k]; !ok {
			changed = append(changed, k)
		}
	}
	for k, v := range polled {
		if !maps.Equal(c.polled[k], v) && !slices.Contains(changed, k) {
			changed = append(changed, k) // a restarted pod's first facts
		}
	}
	c.networks, c.polled = next, polled
	c.mu.Unlock()
	for _, k := range changed {
		n := &v1alpha1.SubstrateNetwork{}
		n.Namespace, n.Name = k.Namespace, k.Name
		select {
		case c.events <- event.GenericEvent{Object: n}:
		default: // the controller is behind; its next resync picks the facts up
		}
	}
}

func (c *Cache) endpoint(p *corev1.Pod) string {
	if c.Endpoint != nil {
		return c.Endpoint(p)
	}
	if p.Status.PodIP == "" {
		return ""
	}
	for _, ctr := range p.Spec.Containers {
		for _, port := range ctr.Ports {
			if port.Name == kube.PortRPC {
				return "http://" + net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(port.ContainerPort)))
			}
		}
	}
	return ""
}

func (c *Cache) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
