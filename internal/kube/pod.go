package kube

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// withPodOptions applies the group's pod options (spec.groups[].pod) and storage class to its
// StatefulSet, and its Service annotations to the Services among objs. onf's own labels and
// annotations win over the user's (validation refuses the clashes before this).
func (b *groupBuilder) withPodOptions(sts *appsv1.StatefulSet, objs []client.Object) {
	if c := b.group.StorageClassName; c != "" {
		for i := range sts.Spec.VolumeClaimTemplates {
			if sts.Spec.VolumeClaimTemplates[i].Name == volumeData {
				sts.Spec.VolumeClaimTemplates[i].Spec.StorageClassName = &c
			}
		}
	}
	o := b.group.Pod
	if o == nil {
		return
	}
	t := &sts.Spec.Template
	t.Labels = merged(o.Labels, t.Labels)
	t.Annotations = merged(o.Annotations, t.Annotations)
	p := &t.Spec
	p.NodeSelector = o.NodeSelector
	p.Tolerations = o.Tolerations
	p.Affinity = o.Affinity
	p.PriorityClassName = o.PriorityClassName
	for _, c := range o.TopologySpreadConstraints {
		if c.LabelSelector == nil {
			// The constraint the user most likely means: spread this group's pods.
			c.LabelSelector = &metav1.LabelSelector{MatchLabels: Selector(b.net.Name, b.group.Name)}
		}
		p.TopologySpreadConstraints = append(p.TopologySpreadConstraints, c)
	}
	for _, obj := range objs {
		if s, ok := obj.(*corev1.Service); ok {
			s.Annotations = merged(o.ServiceAnnotations, s.Annotations)
		}
	}
}

// merged is user with own laid over it, nil when both are empty.
func merged(user, own map[string]string) map[string]string {
	if len(user)+len(own) == 0 {
		return nil
	}
	out := maps.Clone(user)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	return out
}
