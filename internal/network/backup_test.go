package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// spec.backup: every bad field is named with its path and reason; a good one passes.
func TestBackupSpec(t *testing.T) {
	bad := gossamerDev + `  - {name: rpc, role: rpc}
  backup:
    source: validator
    schedule: "every night"
    destination: "ftp://host/backups"
    retention: {maxAge: "-1h"}
`
	want := problem.List{
		{Field: "spec.backup.destination", Reason: `scheme "ftp": want file:// or s3://`},
		{Field: "spec.backup.retention.maxAge", Reason: `want a positive duration such as 720h, got "-1h"`},
		{Field: "spec.backup.schedule", Reason: "not a cron schedule of five fields: expected exactly 5 fields, found 2: [every night]"},
		{Field: "spec.backup.source", Reason: `group "validator" is a validator group: back up a full, archive or rpc group, which can pause for the copy`},
	}
	_, err := Parse([]byte(bad))
	var got problem.List
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(want))
	}
	for _, doc := range []string{
		gossamerDev + "  - {name: rpc, role: rpc}\n  backup: {source: rpc, schedule: \"0 3 * * *\", destination: \"s3://b?region=x\", retention: {keep: 7, maxAge: 720h}}\n",
		gossamerDev + "  - {name: full, role: full, storageRetention: Delete}\n  backup: {source: full, schedule: \"@daily\", destination: /var/backups}\n",
	} {
		if _, err := Parse([]byte(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	// The schema refuses unknown retention policies and credentials in a URL are refused.
	for doc, field := range map[string]string{
		gossamerDev + "  - {name: rpc, role: rpc, storageRetention: Keep}\n":                                                            "spec.groups[1].storageRetention",
		gossamerDev + "  - {name: rpc, role: rpc}\n  backup: {source: rpc, schedule: \"@daily\", destination: \"s3://key:secret@b\"}\n": "spec.backup.destination",
	} {
		_, err := Parse([]byte(doc))
		if !errors.As(err, &got) || len(got) != 1 || got[0].Field != field {
			t.Errorf("%s: %v, want one problem at %s", doc, err, field)
		}
	}
}

// restoreFrom: a backup ID needs spec.backup; a URL needs its sha256; both named by path.
func TestRestoreFromSpec(t *testing.T) {
	sum := "6f1ed002ab5595859014ebf0951522d9c5f1b6f1c2e8a2b3f0d8d2a1e0c9b8a7"
	for doc, field := range map[string]string{
		gossamerDev + "  - {name: rpc, role: rpc, restoreFrom: {backup: dev-20261205t101500.000z}}\n":                                                 "spec.groups[1].restoreFrom.backup",
		gossamerDev + "  - {name: rpc, role: rpc, restoreFrom: {url: \"https://snapshots.example/a.tar.zst\"}}\n":                                     "spec.groups[1].restoreFrom.sha256",
		gossamerDev + "  - {name: rpc, role: rpc, restoreFrom: {url: \"ftp://h/a\", sha256: " + sum + "}}\n":                                          "spec.groups[1].restoreFrom.url",
		gossamerDev + "  - {name: rpc, role: rpc, restoreFrom: {}}\n":                                                                                 "spec.groups[1].restoreFrom",
		gossamerDev + "  - {name: rpc, role: rpc, restoreFrom: {backup: last-one}}\n  backup: {source: rpc, schedule: \"@daily\", destination: /b}\n": "spec.groups[1].restoreFrom.backup",
	} {
		_, err := Parse([]byte(doc))
		var got problem.List
		if !errors.As(err, &got) || len(got) != 1 || got[0].Field != field {
			t.Errorf("%s: %v, want one problem at %s", doc, err, field)
		}
	}
	for _, doc := range []string{
		gossamerDev + "  - {name: rpc, role: rpc, restoreFrom: {backup: dev-20261205t101500.000z}}\n  backup: {source: rpc, schedule: \"@daily\", destination: /b}\n",
		gossamerDev + "  - {name: rpc, role: rpc, restoreFrom: {url: \"https://snapshots.example/a.tar.zst\", sha256: " + sum + "}}\n",
	} {
		if _, err := Parse([]byte(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
