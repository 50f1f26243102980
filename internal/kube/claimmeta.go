package kube

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// shapeDataClaim gives the data claim template t the group's storage class, labels,
// annotations and source (spec.groups[].storageClassName, storageLabels,
// storageAnnotations, storageSource); onf's own labels win.
func (b *groupBuilder) shapeDataClaim(t *corev1.PersistentVolumeClaim) {
	if c := b.group.StorageClassName; c != "" {
		t.Spec.StorageClassName = &c
	}
	labels, annotations := DataClaimMetadata(b.group)
	t.Labels = merged(labels, t.Labels)
	t.Annotations = merged(annotations, t.Annotations)
	t.Spec.DataSource = dataSource(b.group)
}

// The keys of storageAnnotations and storageLabels that onf put on a data claim, recorded on
// the claim (comma-separated), so that a later spec removes those and never anyone else's.
const (
	AnnotationStorageAnnotations = "onf.dinfra.dev/storage-annotations"
	AnnotationStorageLabels      = "onf.dinfra.dev/storage-labels"
)

// DataClaimMetadata is what a group's data claims carry from storageLabels and
// storageAnnotations: those, and the record of their keys.
func DataClaimMetadata(g *v1alpha1.NodeGroup) (labels, annotations map[string]string) {
	annotations = maps.Clone(g.StorageAnnotations)
	for key, m := range map[string]map[string]string{AnnotationStorageAnnotations: g.StorageAnnotations, AnnotationStorageLabels: g.StorageLabels} {
		if len(m) == 0 {
			continue
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[key] = strings.Join(slices.Sorted(maps.Keys(m)), ",")
	}
	return maps.Clone(g.StorageLabels), annotations
}

// SetDataClaimMetadata brings an existing data claim's labels and annotations in line with
// g: it sets g's and removes those its record says onf set from an earlier spec and g no
// longer has. It reports whether anything changed.
func SetDataClaimMetadata(c *metav1.ObjectMeta, g *v1alpha1.NodeGroup) bool {
	labels, annotations := DataClaimMetadata(g)
	changed := false
	drop := func(m map[string]string, recorded string, keep map[string]string) {
		for k := range strings.SplitSeq(recorded, ",") {
			if _, ok := keep[k]; !ok && k != "" {
				if _, ok := m[k]; ok {
					delete(m, k)
					changed = true
				}
			}
		}
	}
	drop(c.Labels, c.Annotations[AnnotationStorageLabels], labels)
	drop(c.Annotations, c.Annotations[AnnotationStorageAnnotations], annotations)
	drop(c.Annotations, AnnotationStorageAnnotations+","+AnnotationStorageLabels, annotations)
	set := func(m *map[string]string, from map[string]string) {
		for k, v := range from {
			if old, ok := (*m)[k]; ok && old == v {
				continue
			}
			if *m == nil {
				*m = map[string]string{}
			}
			(*m)[k] = v
			changed = true
		}
	}
	set(&c.Labels, labels)
	set(&c.Annotations, annotations)
	return changed
}

// dataSource is where a group's new data claims start from (spec.groups[].storageSource):
// a VolumeSnapshot, a claim to clone, or nil for an empty volume.
func dataSource(g *v1alpha1.NodeGroup) *corev1.TypedLocalObjectReference {
	switch s := g.StorageSource; {
	case s == nil:
		return nil
	case s.VolumeSnapshot != "":
		return &corev1.TypedLocalObjectReference{APIGroup: ptr("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: s.VolumeSnapshot}
	default:
		return &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: s.VolumeClaim}
	}
}
