package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the data volumes of storageGrowth groups, as the last look at each network
// found them; the VolumeCannotGrow alert (monitoring/rules) reads the second.
const (
	MetricVolumeUsedRatio     = "onf_volume_used_ratio"
	MetricVolumeGrowthBlocked = "onf_volume_growth_blocked"
)

var (
	volumeLabels  = []string{"namespace", "network", "group", "persistentvolumeclaim"}
	usedRatioDesc = prometheus.NewDesc(MetricVolumeUsedRatio, "Share of the data volume's file system in use, from the kubelet's volume stats (groups with storageGrowth).", volumeLabels, nil)
	blockedDesc   = prometheus.NewDesc(MetricVolumeGrowthBlocked, "1 when the data volume passed its storageGrowth threshold and cannot grow (its StorageClass does not expand, or it is at storageGrowth.max), else 0.", volumeLabels, nil)
	volumeMetric  = &volumeMetrics{byNetwork: map[client.ObjectKey][]volumeSample{}}
)

func init() { metrics.Registry.MustRegister(volumeMetric) }

type volumeSample struct {
	group, claim string
	used         float64
	blocked      bool
}

// volumeMetrics holds each network's samples, replaced whole at every look, so a scrape
// never sees a network half updated.
type volumeMetrics struct {
	mu        sync.Mutex
	byNetwork map[client.ObjectKey][]volumeSample
}

// set replaces a network's samples; nil forgets the network.
func (m *volumeMetrics) set(key client.ObjectKey, samples []volumeSample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if samples == nil {
		delete(m.byNetwork, key)
		return
	}
	m.byNetwork[key] = samples
}

func (m *volumeMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- usedRatioDesc
	ch <- blockedDesc
}

func (m *volumeMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, samples := range m.byNetwork {
		for _, s := range samples {
			labels := []string{key.Namespace, key.Name, s.group, s.claim}
			ch <- prometheus.MustNewConstMetric(usedRatioDesc, prometheus.GaugeValue, s.used, labels...)
			blocked := 0.0
			if s.blocked {
				blocked = 1
			}
			ch <- prometheus.MustNewConstMetric(blockedDesc, prometheus.GaugeValue, blocked, labels...)
		}
	}
}
