package local

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Pod placement and storage classes are refused locally by their field paths, before
// anything starts, rather than silently ignored.
func TestClusterOnlyRefusedLocally(t *testing.T) {
	n := westendDev(t, `
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, pod: {nodeSelector: {pool: rpc}}}
  - {name: full, role: full, storageClassName: fast-ssd}
`)
	for _, want := range []string{"spec.groups[1].pod.nodeSelector: ", "spec.groups[2].storageClassName: "} {
		err := refuseClusterOnly(n)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("err = %v, want %q...", err, want)
		}
		if strings.HasPrefix(want, "spec.groups[1]") {
			n.Spec.Groups[1].Pod = nil
		}
	}
	n.Spec.Groups[2].StorageClassName = ""
	if err := refuseClusterOnly(n); err != nil {
		t.Fatal(err)
	}
	// The runtime refuses before writing anything: a fresh network is left with no state.
	n.Spec.Groups[1].Pod = &v1alpha1.PodOptions{PriorityClassName: "high"}
	r := &Runtime{Home: t.TempDir()}
	if _, err := r.Prepare(t.Context(), n); err == nil || !strings.Contains(err.Error(), "spec.groups[1].pod.priorityClassName: ") {
		t.Fatalf("Prepare = %v", err)
	}
	if names, err := r.Networks(); err != nil || len(names) != 0 {
		t.Fatalf("networks after a refused Prepare: %v, %v", names, err)
	}
}

// Automatic storage growth is refused locally by its field path too.
func TestStorageGrowthRefusedLocally(t *testing.T) {
	n := westendDev(t, `
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: full, role: full, storageGrowth: {max: 1Ti}}
`)
	if err := refuseClusterOnly(n); err == nil || !strings.HasPrefix(err.Error(), "spec.groups[1].storageGrowth: ") {
		t.Fatalf("err = %v", err)
	}
}
