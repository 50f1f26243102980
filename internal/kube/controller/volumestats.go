package controller

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// +kubebuilder:rbac:groups="",resources=nodes/proxy,verbs=get

// VolumeStats reads how full a node's volumes are. The growth decisions depend on nothing
// else of the node, so tests feed them a fake.
type VolumeStats interface {
	// Volumes returns the file system use of the node's persistent volumes by claim.
	Volumes(ctx context.Context, node string) (map[ClaimRef]Usage, error)
}

// ClaimRef names a PersistentVolumeClaim.
type ClaimRef struct{ Namespace, Name string }

// Usage is a volume's file system use in bytes.
type Usage struct{ Used, Capacity int64 }

// KubeletStats reads the kubelet's stats summary of a node through the API server's node
// proxy (/api/v1/nodes/NODE/proxy/stats/summary), which the kubelet answers from its own
// periodic volume measurements.
type KubeletStats struct{ REST rest.Interface }

// NewKubeletStats reads stats summaries with cfg's credentials.
func NewKubeletStats(cfg *rest.Config) (*KubeletStats, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &KubeletStats{REST: cs.CoreV1().RESTClient()}, nil
}

func (k *KubeletStats) Volumes(ctx context.Context, node string) (map[ClaimRef]Usage, error) {
	raw, err := k.REST.Get().Resource("nodes").Name(node).SubResource("proxy").Suffix("stats/summary").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats summary of node %s: %w", node, err)
	}
	var s statsv1alpha1.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("stats summary of node %s: %w", node, err)
	}
	out := map[ClaimRef]Usage{}
	for _, p := range s.Pods {
		for _, v := range p.VolumeStats {
			if v.PVCRef == nil || v.UsedBytes == nil || v.CapacityBytes == nil {
				continue
			}
			out[ClaimRef{v.PVCRef.Namespace, v.PVCRef.Name}] = Usage{Used: int64(*v.UsedBytes), Capacity: int64(*v.CapacityBytes)}
		}
	}
	return out, nil
}
