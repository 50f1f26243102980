package kube

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// An existing data claim gets the group's storage labels and annotations; a later spec
// removes only those onf set, never another tool's, and an unchanged spec changes nothing.
func TestSetDataClaimMetadata(t *testing.T) {
	c := metav1.ObjectMeta{
		Labels:      map[string]string{"onf.dinfra.dev/group": "rpc", "velero.io/backup": "x"},
		Annotations: map[string]string{"pv.kubernetes.io/bind-completed": "yes"},
	}
	g := &v1alpha1.NodeGroup{
		StorageAnnotations: map[string]string{"backup.example.org/policy": "hourly", "quota.example.org/class": "a"},
		StorageLabels:      map[string]string{"team": "api"},
	}
	if !SetDataClaimMetadata(&c, g) {
		t.Fatal("first set reports no change")
	}
	want := map[string]string{
		"pv.kubernetes.io/bind-completed": "yes", "backup.example.org/policy": "hourly", "quota.example.org/class": "a",
		AnnotationStorageAnnotations: "backup.example.org/policy,quota.example.org/class", AnnotationStorageLabels: "team",
	}
	if !maps.Equal(c.Annotations, want) || c.Labels["team"] != "api" {
		t.Fatalf("after set: labels %v annotations %v", c.Labels, c.Annotations)
	}
	if SetDataClaimMetadata(&c, g) {
		t.Error("an unchanged spec reports a change")
	}
	g.StorageAnnotations = map[string]string{"backup.example.org/policy": "daily"}
	g.StorageLabels = nil
	if !SetDataClaimMetadata(&c, g) {
		t.Fatal("a changed spec reports no change")
	}
	want = map[string]string{"pv.kubernetes.io/bind-completed": "yes", "backup.example.org/policy": "daily", AnnotationStorageAnnotations: "backup.example.org/policy"}
	if !maps.Equal(c.Annotations, want) || !maps.Equal(c.Labels, map[string]string{"onf.dinfra.dev/group": "rpc", "velero.io/backup": "x"}) {
		t.Errorf("after change: labels %v annotations %v", c.Labels, c.Annotations)
	}
	g.StorageAnnotations = nil
	SetDataClaimMetadata(&c, g)
	if !maps.Equal(c.Annotations, map[string]string{"pv.kubernetes.io/bind-completed": "yes"}) {
		t.Errorf("after removal: annotations %v", c.Annotations)
	}
}
