package site

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/sessionkeys"
)

func TestChainName(t *testing.T) {
	for _, tc := range []struct {
		chain v1alpha1.Chain
		want  string
	}{
		{v1alpha1.Chain{Builtin: "westend-dev"}, "westend-dev"},
		{v1alpha1.Chain{File: "/srv/specs/relay-raw.json"}, "relay-raw.json"},
		{v1alpha1.Chain{URL: "https://example.org/chains/para.json"}, "para.json"},
		{v1alpha1.Chain{ConfigMap: &v1alpha1.KeyReference{Name: "relay-spec", Key: "spec.json"}}, "configmap relay-spec"},
		{v1alpha1.Chain{}, ""},
	} {
		if got := ChainName(tc.chain); got != tc.want {
			t.Errorf("ChainName(%+v) = %q, want %q", tc.chain, got, tc.want)
		}
	}
}

func TestSessionKeysByNode(t *testing.T) {
	keys := &v1alpha1.RegisteredKeys{Validator: "5Grw", Keys: "0x01", Session: 3}
	n := &v1alpha1.SubstrateNetwork{}
	n.Name = "relay"
	n.Status.Nodes = []v1alpha1.NodeStatus{{Name: "relay-validator-0", SessionKeys: keys}, {Name: "relay-rpc-0"}}
	if got := sessionKeys(n); len(got) != 1 || got["validator-0"] != keys {
		t.Errorf("sessionKeys: %v", got)
	}
}

// The local site lists its backup destination at most once per interval, and again at once
// when a backup from the console made it stale.
func TestBackupListing(t *testing.T) {
	ctx := context.Background()
	store, err := backup.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "db"), []byte("chain data"), 0o600); err != nil {
		t.Fatal(err)
	}
	made := time.Now().UTC()
	create := func(node string) {
		made = made.Add(time.Second) // IDs are times: one backup per second keeps them distinct
		if _, err := store.Create(ctx, src, backup.Manifest{ID: backup.NewID("dev", made), Network: "dev", Node: node, Created: made}); err != nil {
			t.Fatal(err)
		}
	}
	l := NewLocal(nil, 0, store)
	create("rpc-0")
	if list, err := l.backups(ctx); err != nil || len(list) != 1 {
		t.Fatalf("first listing: %d, %v", len(list), err)
	}
	create("rpc-1")
	if list, _ := l.backups(ctx); len(list) != 1 {
		t.Errorf("listed again within the minute: %d backups", len(list))
	}
	l.listed.at = time.Time{} // what Backup does after a backup
	if list, _ := l.backups(ctx); len(list) != 2 {
		t.Errorf("after a backup: %d backups, want 2", len(list))
	}
}

// TestAlertsOf: a cluster's alerts are a network's when labelled with its name, and with its
// namespace where they carry one.
func TestAlertsOf(t *testing.T) {
	alerts := []monitor.Alert{
		{Name: "a", Labels: map[string]string{"network": "relay"}},
		{Name: "b", Labels: map[string]string{"network": "relay", "namespace": "chains"}},
		{Name: "c", Labels: map[string]string{"network": "relay", "namespace": "team-b"}},
		{Name: "d", Labels: map[string]string{"network": "para", "namespace": "chains"}},
	}
	var got []string
	for _, a := range alertsOf(alerts, "chains", "relay") {
		got = append(got, a.Name)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Errorf("alerts of chains/relay: %v, want a,b", got)
	}
}

// TestRecordedKeys: a local network's registered session keys are those `onf keys` recorded in
// each validator's or collator's keystore directory; other roles are not looked at, and an
// unreadable record is named while the others show.
func TestRecordedKeys(t *testing.T) {
	dir := local.Dir(t.TempDir())
	want := &v1alpha1.RegisteredKeys{Validator: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", Keys: "0x0102", Session: 2}
	for node, r := range map[string]*v1alpha1.RegisteredKeys{"validator-0": want, "rpc-0": want} {
		if err := sessionkeys.Keystore(dir.Keystore(node)).Record(r); err != nil {
			t.Fatal(err)
		}
	}
	nodes := []netstatus.Node{{Name: "validator-0", Role: v1alpha1.RoleValidator}, {Name: "validator-1", Role: v1alpha1.RoleValidator},
		{Name: "collator-0", Role: v1alpha1.RoleCollator}, {Name: "rpc-0", Role: v1alpha1.RoleRPC}}
	got, err := RecordedKeys(dir, nodes)
	if err != nil || len(got) != 1 || got["validator-0"] == nil || *got["validator-0"] != *want {
		t.Fatalf("recorded keys %v, %v: want validator-0's only", got, err)
	}
	if err := os.MkdirAll(dir.Keystore("collator-0"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir.Keystore("collator-0"), "registered.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = RecordedKeys(dir, nodes)
	if err == nil || !strings.HasPrefix(err.Error(), "collator-0: registered.json: ") || len(got) != 1 {
		t.Errorf("with collator-0's record broken: %v, %v", got, err)
	}
}
