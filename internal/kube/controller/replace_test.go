package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestImmutableChange(t *testing.T) {
	set := func(change func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			ServiceName:          "dev-rpc",
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{"group": "rpc"}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
		}}
		change(s)
		return s
	}
	live := set(func(*appsv1.StatefulSet) {})
	for _, c := range []struct {
		name    string
		desired *appsv1.StatefulSet
		want    string
	}{
		{"same", set(func(*appsv1.StatefulSet) {}), ""},
		{"replicas and template change in place", set(func(s *appsv1.StatefulSet) {
			s.Spec.Replicas = new(int32)
			s.Spec.Template.Spec.Containers = []corev1.Container{{Name: "node", Image: "new"}}
		}), ""},
		{"a claim more", set(func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates = append(s.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "keystore"}})
		}), "volume claims [data], want [data keystore]"},
		{"a larger data volume on another class", set(func(s *appsv1.StatefulSet) {
			class := "fast"
			s.Spec.VolumeClaimTemplates[0].Spec = corev1.PersistentVolumeClaimSpec{
				StorageClassName: &class,
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")}},
			}
		}), "volume claims [data 0], want [data 20Gi class fast]"},
		{"claim annotations and a source", set(func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Annotations = map[string]string{"backup": "hourly"}
			s.Spec.VolumeClaimTemplates[0].Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "seed"}
		}), "volume claims [data 0], want [data 0 from PersistentVolumeClaim seed labels map[] annotations map[backup:hourly]]"},
		{"selector", set(func(s *appsv1.StatefulSet) { s.Spec.Selector.MatchLabels["x"] = "y" }), "its selector differs"},
		{"service", set(func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "other" }), `service name "dev-rpc", want "other"`},
	} {
		if got := immutableChange(live, c.desired); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestLacksClaim(t *testing.T) {
	sts := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{VolumeClaimTemplates: []corev1.PersistentVolumeClaim{
		{ObjectMeta: metav1.ObjectMeta{Name: "data"}}, {ObjectMeta: metav1.ObjectMeta{Name: "keystore"}},
	}}}
	pod := func(volumes ...string) *corev1.Pod {
		p := &corev1.Pod{}
		for _, v := range volumes {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: v})
		}
		return p
	}
	if !lacksClaim(pod("data", "config"), sts) {
		t.Error("a pod without the keystore volume does not lack a claim")
	}
	if lacksClaim(pod("config", "keystore", "data"), sts) {
		t.Error("a pod with every claim's volume lacks one")
	}
}
