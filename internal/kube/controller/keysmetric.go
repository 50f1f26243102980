package controller

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/dinfra/stack/api/v1alpha1"
)

// MetricSessionKeysRegistered is the series the SessionKeysNotRegistered alert reads; the
// local exporter (internal/monitor) serves it under the same name and labels (network,
// node), plus namespace here, which the cluster's PrometheusRule selects on.
const MetricSessionKeysRegistered = "onf_session_keys_registered"

// sessionKeys reports, at every scrape of the operator's metrics endpoint, whether each
// signing node holds the session keys the chain expects, as status.nodes[].sessionKeys says
// (`onf keys` records it when the node holds session.nextKeys, and clears it when it does
// not; a pod made again starts without it). Nodes on well-known dev keys are reported only
// once `onf keys` has recorded something for them, as the local exporter reports only the
// nodes it is told to check.
type sessionKeys struct {
	mu     sync.Mutex
	reader client.Reader // the running operator's cache; tests start several in one process
}

var (
	keysMetric = &sessionKeys{}
	keysDesc   = prometheus.NewDesc(MetricSessionKeysRegistered,
		"1 when the node holds the session keys session.nextKeys has for its validator (onf keys check: match), else 0.",
		[]string{"namespace", "network", "node"}, nil)
)

func init() { metrics.Registry.MustRegister(keysMetric) }

func (s *sessionKeys) use(r client.Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reader = r
}

func (s *sessionKeys) Describe(ch chan<- *prometheus.Desc) { ch <- keysDesc }

func (s *sessionKeys) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	r := s.reader
	s.mu.Unlock()
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.SubstrateNetworkList
	if err := r.List(ctx, &list); err != nil {
		ch <- prometheus.NewInvalidMetric(keysDesc, err)
		return
	}
	for i := range list.Items {
		n := &list.Items[i]
		for _, node := range n.Status.Nodes {
			if node.Role != v1alpha1.RoleValidator && node.Role != v1alpha1.RoleCollator {
				continue
			}
			v := 0.0
			switch {
			case node.SessionKeys != nil:
				v = 1
			case devKeys(n, node.Group):
				continue
			}
			ch <- prometheus.MustNewConstMetric(keysDesc, prometheus.GaugeValue, v, n.Namespace, n.Name, node.Name)
		}
	}
}

// devKeys tells whether a group signs with well-known development keys.
func devKeys(n *v1alpha1.SubstrateNetwork, group string) bool {
	for _, g := range n.Spec.Groups {
		if g.Name == group {
			return g.Keys != nil && len(g.Keys.Dev) > 0
		}
	}
	return false
}
