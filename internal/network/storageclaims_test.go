package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// storageAnnotations, storageLabels and storageSource: bad keys, onf's own keys, bad names
// and a source together with restoreFrom are refused at their field paths; good ones pass.
func TestStorageClaimSpec(t *testing.T) {
	at := "spec.groups[1]."
	for group, field := range map[string]string{
		`storageAnnotations: {"bad key!": x}`:                    at + "storageAnnotations",
		`storageAnnotations: {onf.dinfra.dev/storage-labels: x}`: at + "storageAnnotations[onf.dinfra.dev/storage-labels]",
		`storageLabels: {team: "not a value!"}`:                  at + "storageLabels",
		`storageLabels: {app.kubernetes.io/instance: x}`:         at + "storageLabels[app.kubernetes.io/instance]",
		`storageSource: {volumeSnapshot: Not_A_Name}`:            at + "storageSource.volumeSnapshot",
		`storageSource: {volumeClaim: "-x"}`:                     at + "storageSource.volumeClaim",
		`storageSource: {}`:                                      at + "storageSource",
		`storageSource: {volumeSnapshot: a, volumeClaim: b}`:     at + "storageSource",
		`storageSource: {volumeSnapshot: a}, restoreFrom: {url: "https://snapshots.example/a.tar.zst", sha256: ` + snapshotSum + `}`: at + "storageSource",
	} {
		_, err := Parse([]byte(gossamerDev + "  - {name: rpc, role: rpc, " + group + "}\n"))
		var got problem.List
		if !errors.As(err, &got) || !slices.ContainsFunc(got, func(p problem.Problem) bool { return p.Field == field }) {
			t.Errorf("%s: %v, want a problem at %s", group, err, field)
		}
	}
	good := `storageAnnotations: {backup.example.org/policy: daily}, storageLabels: {team: api}, storageSource: {volumeSnapshot: synced-2026-12-01}`
	if _, err := Parse([]byte(gossamerDev + "  - {name: rpc, role: rpc, " + good + "}\n")); err != nil {
		t.Errorf("%s: %v", good, err)
	}
}

const snapshotSum = "6f1ed002ab5595859014ebf0951522d9c5f1b6f1c2e8a2b3f0d8d2a1e0c9b8a7"
