package local

import (
	"strings"
	"testing"
)

// A group's data claim labels, annotations and source are cluster volume settings, refused
// locally by their field paths.
func TestStorageClaimOptionsRefusedLocally(t *testing.T) {
	for group, want := range map[string]string{
		`storageAnnotations: {backup.example.org/policy: daily}`: "spec.groups[1].storageAnnotations: ",
		`storageLabels: {team: api}`:                             "spec.groups[1].storageLabels: ",
		`storageSource: {volumeSnapshot: synced}`:                "spec.groups[1].storageSource: ",
	} {
		n := westendDev(t, `
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: full, role: full, `+group+`}
`)
		if err := refuseClusterOnly(n); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", group, err, want)
		}
	}
}
